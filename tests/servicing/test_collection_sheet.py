"""collection_sheet_post: many loans' repayments in one transaction write exactly what posting
them one by one with repayment_post writes, with a constant number of statements per sheet."""

from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loanfund.errors import DomainError
from loanfund.models import JournalLine
from repayments import cob
from repayments.models import Allocation, Installment, Loan, LoanLedgerLine, Repayment
from repayments.selectors import loan_balances, loan_states, payoff_quote
from repayments.services import RepaymentLine, collection_sheet_post, loan_write_off, repayment_post
from repayments.services import repayment as repayment_service

from .helpers import assert_sound, days, no_locks_left, run_concurrently

pytestmark = pytest.mark.django_db

DAY = date(2025, 8, 10)


def arrears(make_loan, fund, *kinds):
    """Loans disbursed on 2025-01-06 and never paid, with close of business run up to three days
    before DAY (posting on DAY catches up three days of penalty)."""
    loans = [make_loan(kind=kind, amount=12_000_000, installments=12 if kind != "weekly_flat" else 52) for kind in kinds]
    day = date(2025, 1, 13)
    while day <= days(DAY, -3):
        cob.close_of_business(fund=fund, as_of=day)
        day = days(day, 15 if day < days(DAY, -18) else 1)
    return loans


def arrears_and_close_of_business_past_day(make_loan, fund, *kinds):
    """arrears(), then close of business run every day to 9 days past DAY; the loans, the day after
    DAY, and what each loan owes that day."""
    loans = arrears(make_loan, fund, *kinds)
    day = days(DAY, -3)
    while day <= days(DAY, 9):
        cob.close_of_business(fund=fund, as_of=day)
        day = days(day, 1)
    paid_on = days(DAY, 1)
    return loans, paid_on, {loan.pk: loan_balances(loan, today=paid_on)["total_due_now"] for loan in loans}


def snapshot(fund) -> dict:
    """Everything posting writes, without ids or timestamps."""
    ref = dict(Repayment.objects.filter(fund=fund).values_list("pk", "reference"))
    inst = {pk: (number, version) for pk, number, version in Installment.objects.filter(loan__fund=fund)
            .values_list("pk", "number", "schedule_version")}
    return {
        "repayments": sorted(Repayment.objects.filter(fund=fund).values_list("reference", "loan__number", "amount", "paid_on", "channel",
                                                                              "status")),
        "allocations": sorted((a.loan.number, inst.get(a.installment_id, ()), a.component, a.kind, a.amount.amount, a.effective_on,
                               ref.get(a.repayment_id, "")) for a in Allocation.objects.filter(fund=fund).select_related("loan")),
        "subledger": sorted((n, inst.get(i, ()), acc, kind, d, amt) for n, i, acc, kind, d, amt in LoanLedgerLine.objects.filter(fund=fund)
                            .values_list("loan__number", "installment_id", "account", "kind", "entry_date", "amount")),
        "journal": sorted(JournalLine.objects.filter(entry__fund=fund).values_list("entry__kind", "entry__entry_date", "entry__memo",
                                                                                   "account__code", "side", "amount")),
        "installments": sorted(Installment.objects.filter(loan__fund=fund).values_list("loan__number", "schedule_version", "number", "due_on",
                                                                                       "principal", "interest", "savings", "settled_on",
                                                                                       "superseded_on")),
        "loans": sorted(Loan.objects.filter(fund=fund).values_list("number", "status", "closed_on", "schedule_version")),
    }


def post_both_ways(fund, officer, lines):
    """The sheet, then (rolled back to before it) the same lines one by one in the importer's order,
    each planned on its loan's whole state."""
    with transaction.atomic():
        before = transaction.savepoint()
        posted = collection_sheet_post(fund=fund, lines=lines, posted_by=officer)
        assert [r.reference for r in posted] == [line.reference for line in lines]
        assert_sound(fund)
        as_sheet = snapshot(fund)
        transaction.savepoint_rollback(before)
        with mock.patch.object(repayment_service, "PARTIAL_FIRST_READ", False):  # the reference: every line on its loan's whole state
            for line in sorted(lines, key=lambda ln: ln.paid_on):
                repayment_post(fund=fund, loan_id=line.loan_id, amount=line.amount, paid_on=line.paid_on, reference=line.reference,
                               channel=line.channel, posted_by=officer)
        one_by_one = snapshot(fund)
    return as_sheet, one_by_one


def test_a_sheet_writes_what_one_by_one_posting_writes(staff, fund, make_loan):
    partial, exact, above, annuity_above, payoff, replayed, written_off, twice = arrears(
        make_loan, fund, "weekly_flat", "weekly_flat", "weekly_flat", "monthly_annuity", "monthly_equal", "weekly_flat", "monthly_equal",
        "monthly_equal")
    loan_write_off(fund=fund, loan_id=written_off.pk, reason="absconded", approved_by=staff.director, written_off_on=DAY)
    after = days(DAY, 1)
    repayment_post(fund=fund, loan_id=replayed.pk, amount=Decimal(300_000), paid_on=after, reference="LATER", channel="cash",
                   posted_by=staff.officer)
    due = {loan.pk: loan_balances(loan, today=DAY)["total_due_now"] for loan in (exact, above, annuity_above, twice)}
    assert all(amount > 0 for amount in due.values())
    lines = [
        RepaymentLine(partial.pk, Decimal(123_457), DAY, "S-partial", "payroll_deduction"),
        RepaymentLine(exact.pk, due[exact.pk], DAY, "S-exact", "cash"),
        RepaymentLine(above.pk, due[above.pk] + 1_500_000, DAY, "S-above", "bank_transfer"),  # reduce_term prepayment
        RepaymentLine(annuity_above.pk, due[annuity_above.pk] + 2_000_000, DAY, "S-annuity", "cash"),  # re-amortised
        RepaymentLine(payoff.pk, payoff_quote(payoff, DAY)["total"], DAY, "S-payoff", "cash"),  # closes the loan
        RepaymentLine(replayed.pk, Decimal(200_000), DAY, "S-replay", "cash"),  # a later repayment is replayed
        RepaymentLine(written_off.pk, Decimal(500_000), DAY, "S-recovery", "cash"),  # recovery
        RepaymentLine(twice.pk, Decimal(100_000), DAY, "S-twice-1", "cash"),
        RepaymentLine(twice.pk, Decimal(150_000), after, "S-twice-2", "cash"),  # a second day: the loans are locked first
        RepaymentLine(exact.pk, Decimal(10_000), after, "S-exact-2", "cash"),
    ]
    as_sheet, one_by_one = post_both_ways(fund, staff.officer, lines)
    assert as_sheet == one_by_one
    statuses = dict(as_sheet["loans"][k][:2] for k in range(len(as_sheet["loans"])))
    assert statuses[payoff.number] == "closed"
    assert any(kind == "reversal" for _, _, _, kind, *_ in as_sheet["allocations"])  # the replay happened
    assert any(version == 2 for number, version, *_ in as_sheet["installments"] if number == annuity_above.number)


@pytest.mark.parametrize("count", [3, 12])
def test_a_sheet_costs_the_same_statements_whatever_its_length(staff, fund, make_loan, count):
    loans = arrears(make_loan, fund, *(["weekly_flat"] * count))
    lines = [RepaymentLine(loan.pk, Decimal(150_000), DAY, f"N-{k}", "cash") for k, loan in enumerate(loans)]
    with CaptureQueriesContext(connection) as queries:
        collection_sheet_post(fund=fund, lines=lines, posted_by=staff.officer)
    assert len(queries) <= 14, [q["sql"][:80] for q in queries]
    assert Repayment.objects.filter(reference__startswith="N-").count() == count
    assert_sound(fund)


def test_a_refused_line_refuses_the_sheet_and_names_every_refused_line(staff, fund, make_loan):
    a, b, c = arrears(make_loan, fund, "weekly_flat", "weekly_flat", "monthly_equal")
    repayment_post(fund=fund, loan_id=c.pk, amount=Decimal(1000), paid_on=DAY, reference="TAKEN", channel="cash", posted_by=staff.officer)
    before = snapshot(fund)
    lines = [
        RepaymentLine(a.pk, Decimal(100_000), DAY, "R-ok", "cash"),
        RepaymentLine(b.pk, Decimal(999_999_999), DAY, "R-too-much", "cash"),
        RepaymentLine(c.pk, Decimal(100_000), DAY, "TAKEN", "cash"),
        RepaymentLine(999_999, Decimal(100_000), DAY, "R-nowhere", "cash"),
        RepaymentLine(a.pk, Decimal(0), DAY, "R-zero", "cash"),
    ]
    with pytest.raises(DomainError) as refused:
        collection_sheet_post(fund=fund, lines=lines, posted_by=staff.officer)
    assert refused.value.code == "repayments_refused"
    assert [(r["line"], r["code"]) for r in refused.value.extra["lines"]] == [(2, "duplicate_reference"), (4, "zero_amount")]
    lines = [lines[0], lines[1], lines[3]]
    with pytest.raises(DomainError) as refused:
        collection_sheet_post(fund=fund, lines=lines, posted_by=staff.officer)
    assert [(r["line"], r["code"], r["attr"]) for r in refused.value.extra["lines"]] == [(1, "amount_exceeds_payoff", "amount"),
                                                                                         (2, "not_found", "loan")]
    assert snapshot(fund) == before  # nothing written


@pytest.mark.django_db(transaction=True)
def test_two_sheets_on_the_same_loans_in_opposite_orders_both_post(staff, fund, make_loan):
    loans = [make_loan() for _ in range(4)]

    def sheet(i):
        ordered = loans if i == 0 else loans[::-1]
        return len(collection_sheet_post(fund=fund, lines=[RepaymentLine(loan.pk, Decimal(50_000), date(2025, 1, 13), f"C{i}-{loan.pk}", "cash")
                                                           for loan in ordered], posted_by=staff.officer))

    assert run_concurrently(2, sheet) == [4, 4]
    assert Repayment.objects.count() == 8
    assert no_locks_left()
    assert_sound(fund)


def test_the_first_read_takes_what_is_due_and_the_last_installments_and_only_lines_that_need_more_read_the_rest(
        staff, fund, make_loan, monkeypatch):
    from repayments.selectors import LAST_READ
    from repayments.services import collection

    partial, exact, early, above, payoff = arrears(make_loan, fund, "weekly_flat", "weekly_flat", "weekly_flat", "weekly_flat", "monthly_equal")
    due = {loan.pk: loan_balances(loan, today=DAY)["total_due_now"] for loan in (exact, early, above)}
    reads = []

    def recorded(loans, **kwargs):
        states = loan_states(loans, **kwargs)
        reads.append((sorted(loan.pk for loan in loans), kwargs.get("due_by"), {pk: sorted(i.id for i in s.installments) for pk, s in states.items()}))
        return states

    monkeypatch.setattr(collection, "loan_states", recorded)
    lines = [
        RepaymentLine(partial.pk, Decimal(123_457), DAY, "R-partial", "cash"),
        RepaymentLine(exact.pk, due[exact.pk], DAY, "R-exact", "cash"),
        RepaymentLine(early.pk, due[early.pk] + 300_000, DAY, "R-early", "cash"),  # prepays about one installment: the last ones take it
        RepaymentLine(above.pk, due[above.pk] + 1_500_000, DAY, "R-above", "cash"),  # more than the last installments' principal
        RepaymentLine(payoff.pk, payoff_quote(payoff, DAY)["total"], DAY, "R-payoff", "cash"),  # closes the loan
    ]
    as_sheet, one_by_one = post_both_ways(fund, staff.officer, lines)
    assert as_sheet == one_by_one
    (first, first_due_by, first_read), (second, second_due_by, second_read) = reads[:2]
    assert first == sorted(loan.pk for loan in (partial, exact, early, above, payoff)) and first_due_by == DAY
    assert second == sorted([above.pk, payoff.pk]) and second_due_by is None
    for loan in (partial, exact, early, above, payoff):
        ordered = list(Installment.objects.filter(loan=loan).order_by("due_on", "schedule_version", "number").values_list("pk", "due_on"))
        due_ids = [pk for pk, due_on in ordered if due_on <= DAY]
        later = [pk for pk, due_on in ordered if due_on > DAY]
        assert first_read[loan.pk] == sorted(due_ids + later[-LAST_READ:]) and len(later) > LAST_READ
    assert second_read == {pk: sorted(Installment.objects.filter(loan_id=pk).values_list("pk", flat=True)) for pk in second}


def test_a_back_dated_sheet_with_penalty_accrued_after_its_day_writes_what_one_by_one_posting_writes(staff, fund, make_loan):
    """Close of business ran 9 days past the sheet's day: installments due since carry penalty and
    interest the first read does not see, and accruals for days after the day are taken back."""
    loans, paid_on, due = arrears_and_close_of_business_past_day(make_loan, fund, "weekly_flat", "weekly_flat", "monthly_annuity", "monthly_equal", "weekly_flat", "weekly_flat")
    lines = [
        RepaymentLine(loans[0].pk, Decimal(77_777), paid_on, "B-0", "cash"),
        RepaymentLine(loans[1].pk, due[loans[1].pk], paid_on, "B-1", "cash"),
        RepaymentLine(loans[2].pk, due[loans[2].pk] - 1, paid_on, "B-2", "cash"),
        RepaymentLine(loans[3].pk, due[loans[3].pk] + 400_000, paid_on, "B-3", "cash"),
        RepaymentLine(loans[4].pk, Decimal(1_000), paid_on, "B-4", "cash"),
        RepaymentLine(loans[5].pk, due[loans[5].pk] + 250_000, paid_on, "B-5", "cash"),
    ]
    as_sheet, one_by_one = post_both_ways(fund, staff.officer, lines)
    assert as_sheet == one_by_one
    assert len(as_sheet["repayments"]) == 6


# The property tests' examples: loans of these kinds in arrears since DAY - 3 months, close of
# business run from 2 days before DAY to `cob_past_the_day` after it, and what each loan pays.
examples = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
cob_past_the_days = st.integers(-3, 9)


def loan_kinds(count: int):
    return st.lists(st.sampled_from(["weekly_flat", "monthly_equal", "monthly_annuity"]), min_size=count, max_size=count)


def extras(count: int):
    """The amount each loan pays beyond what is due (negative: less than due); see amount_paid."""
    return st.lists(st.integers(-400_000, 3_000_000), min_size=count, max_size=count)


def arrears_and_close_of_business(make_loan, fund, kinds, cob_past_the_day: int):
    loans = arrears(make_loan, fund, *kinds)
    for offset in range(-2, cob_past_the_day + 1):
        cob.close_of_business(fund=fund, as_of=days(DAY, offset))
    return loans


def amount_paid(loan, extra: int, day) -> Decimal:
    """What is due on `day` plus `extra`, at least 1 đồng and at most the payoff."""
    due = loan_balances(loan, today=day)["total_due_now"]
    return max(Decimal(1), min(due + extra, payoff_quote(loan, day)["total"]))


@examples
@given(kinds=loan_kinds(4), extras=extras(4), cob_past_the_day=cob_past_the_days)
def test_any_sheet_writes_what_one_by_one_posting_writes(staff, fund, make_loan, kinds, extras, cob_past_the_day):
    """Whatever each line pays (less than due, what is due, a prepayment the last installments
    take or not, the payoff) and however far close of business ran past the sheet's day, the
    sheet's two reads (what is due and the last installments, then the whole loan for the lines
    that need it) write what posting the lines one by one writes."""
    with transaction.atomic():
        example = transaction.savepoint()
        loans = arrears_and_close_of_business(make_loan, fund, kinds, cob_past_the_day)
        lines = [RepaymentLine(loan.pk, amount_paid(loan, extra, DAY), DAY, f"P-{k}", "cash")
                 for k, (loan, extra) in enumerate(zip(loans, extras, strict=True))]
        as_sheet, one_by_one = post_both_ways(fund, staff.officer, lines)
        assert as_sheet == one_by_one
        transaction.savepoint_rollback(example)
