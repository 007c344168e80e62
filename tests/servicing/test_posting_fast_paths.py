"""The posting hot path (issue 7): its shortcuts must give exactly what the general SQL gives.

* the accrual catch-up of a repayment is computed from the loan state posting loads anyway, and the
  penalty statement runs only when some installment was unpaid at the start of the day: every
  catch-up is compared here with sql.loan_catch_up_select run at the same moment;
* a constant, small number of statements per repayment, whatever the number of installments.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loanfund import chart
from loanfund.errors import DomainError, InvalidState
from repayments import cob, sql
from repayments.models import LoanLedgerLine, Repayment
from repayments.selectors import loan_balances, loan_state, member_loan_balances, payoff_quote, pending_penalty
from repayments.services import repayment, repayment_post, repayment_reverse

from .helpers import assert_sound, days

pytestmark = pytest.mark.django_db

START = date(2025, 1, 6)


@pytest.fixture
def compared(monkeypatch):
    """Every catch_up_lines call also runs the general statement; returns the list of comparisons."""
    seen = []
    original = repayment.catch_up_lines

    def checked(loan, state, entry, *, as_of):
        expected = sql.fetch(sql.loan_catch_up_select(fund_id=loan.fund_id, as_of=as_of, loan_id=loan.pk,
                                                      interest_rate=sql.overdue_interest_rate(loan.fund, as_of)))
        rows = original(loan, state, entry, as_of=as_of)
        seen.append((as_of, sorted((i, a, Decimal(m)) for _, i, a, m in rows), sorted((i, a, Decimal(m)) for _, i, a, m in expected)))
        return rows

    monkeypatch.setattr(repayment, "catch_up_lines", checked)
    return seen


def assert_same(seen):
    assert seen, "no repayment went through the catch-up"
    for as_of, fast, general in seen:
        assert fast == general, f"catch-up as of {as_of}"


def balances_from_state(loan, today):
    """The balance figures computed from the full loan_state (every installment, every allocation)."""
    state = loan_state(loan)
    pending = pending_penalty(loan, today)  # not yet posted by close of business (its weekly cohorts): the reads add it
    due_now = [i for i in state.installments if i.due_on <= today]
    nxt = next((i for i in state.installments if i.due_on > today
                and (i.principal_unpaid > 0 or i.interest_unpaid > 0 or i.savings_unpaid > 0)), None)
    figures = {
        "interest_due": sum((max(i.interest_unpaid, 0) for i in due_now), Decimal(0)),
        "penalty_due": sum((max(i.penalty_balance + pending.get(i.id, 0), 0) for i in state.installments), Decimal(0)),
        "principal_due": sum((max(i.principal_unpaid, 0) for i in due_now), Decimal(0)),
        "savings_due": sum((max(i.savings_unpaid, 0) for i in due_now), Decimal(0)),
        "next_installment": {"due_on": nxt.due_on, "amount": nxt.principal_unpaid + nxt.interest_unpaid + nxt.savings_unpaid} if nxt else None,
        "days_past_due": state.days_past_due(today),
    }
    if not loan.is_open:
        figures.update(interest_due=0, penalty_due=0, principal_due=0, savings_due=0, next_installment=None, days_past_due=0)
    figures.update(principal_outstanding=state.principal_outstanding, compulsory_savings_balance=state.savings_balance)
    return figures


def assert_balances_match(loan, today):
    """loan_balances (the staff endpoint) and the member endpoint's one statement both equal the
    figures computed from the full loan state, and the member endpoint's JSON is the serializer's."""
    from repayments.api.serializers import LoanBalanceSerializer, loan_balance_data

    loan = type(loan).objects.get(pk=loan.pk)  # as the endpoints read it (close of business may have changed its status)
    expected = balances_from_state(loan, today)
    fast = loan_balances(loan, today=today)
    user = loan.member.user or member_login(loan.member)
    is_member, mine = member_loan_balances(user, loan_id=loan.pk, today=today)
    assert is_member and mine == fast, today
    assert loan_balance_data(mine) == LoanBalanceSerializer(fast).data
    fast["principal_due"] = fast["total_due_now"] - fast["interest_due"] - fast["penalty_due"] - fast["savings_due"]
    assert {k: fast[k] for k in expected} == expected, today


def member_login(member):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from loanfund import roles

    user = get_user_model().objects.create_user(username=f"m{member.pk}", password="x-123456789")
    user.groups.add(Group.objects.get_or_create(name=roles.MEMBER)[0])
    type(member).objects.filter(pk=member.pk).update(user=user)
    member.user = user
    return get_user_model().objects.get(pk=user.pk)


payments = st.lists(st.tuples(st.integers(0, 120), st.integers(1, 900_000)), min_size=1, max_size=6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=payments, order=st.randoms(use_true_random=False), cob_every=st.sampled_from([0, 7, 30]),
       # reduce_term products: a back-dated re-amortising prepayment (reduce_installment) behind
       # close of business leaves accrued interest on superseded installments (reported separately)
       kind=st.sampled_from(["weekly_flat", "monthly_equal"]), interest_on_interest=st.booleans(),
       reverse_first=st.booleans())
def test_the_catch_up_from_the_state_equals_the_sql_catch_up(staff, fund, make_loan, compared, history, order, cob_every, kind,
                                                              interest_on_interest, reverse_first):
    from loanfund.services.fund import fund_settings_update

    compared.clear()
    with transaction.atomic():
        if interest_on_interest:
            fund_settings_update(fund=fund, effective_from=date(2025, 1, 1), changes={"interest_on_overdue_interest_enabled": True},
                                 changed_by=staff.director)
        loan = make_loan(kind=kind, installments=12 if kind == "monthly_equal" else 26)
        if cob_every:
            for n in range(0, 130, cob_every):
                cob.close_of_business(fund=fund, as_of=days(START, n))
        entered = list(enumerate(history))
        order.shuffle(entered)  # back-dated entries whenever a later date was entered first
        posted = []
        for k, (offset, amount) in entered:
            day = days(START, offset)
            loan.refresh_from_db()
            if not loan.is_open:
                break
            amount = min(Decimal(amount), payoff_quote(loan, day)["total"])
            if amount <= 0:
                continue
            try:
                posted.append(repayment_post(fund=fund, loan_id=loan.pk, amount=amount, paid_on=day, reference=f"f{k}", channel="cash",
                                             posted_by=staff.officer))
            except InvalidState:  # replaying a re-amortising prepayment (reduce_installment) is refused
                pass
        if reverse_first and posted:
            first = min(posted, key=lambda r: (r.paid_on, r.pk))
            try:
                repayment_reverse(fund=fund, loan_id=loan.pk, repayment_id=first.pk, reason="bounced", reversed_by=staff.accountant)
            except InvalidState:
                pass
        assert_same(compared)
        assert_sound(fund)
        loan.refresh_from_db()
        for offset in (0, 30, 61, 119, 400):
            assert_balances_match(loan, days(START, offset))
        transaction.set_rollback(True)


def test_a_back_dated_repayment_still_accrues_what_falls_due_by_its_date(staff, fund, make_loan, compared):
    loan = make_loan(kind="monthly_equal", installments=12)  # first due 2025-02-06
    for n in range(0, 70):
        cob.close_of_business(fund=fund, as_of=days(START, n))  # through 2025-03-16: two installments overdue
    compared.clear()
    repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(500_000), paid_on=date(2025, 2, 20), reference="back", channel="cash",
                   posted_by=staff.officer)
    assert_same(compared)
    for offset in (0, 45, 70):
        assert_balances_match(loan, days(START, offset))
    # The penalty accrued for days after 2025-02-20 is not owed by that payment; close of business
    # had posted the interest of both installments already: nothing to catch up but nothing lost.
    (as_of, fast, _), = compared
    assert as_of == date(2025, 2, 20)
    assert all(account != chart.INTEREST_RECEIVABLE for _, account, _ in fast)
    assert_sound(fund)


def test_no_catch_up_statement_when_nothing_can_be_pending(staff, fund, make_loan):
    loan = make_loan(installments=52)  # weekly, first due 2025-01-13
    with CaptureQueriesContext(connection) as ctx:
        repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(100_000), paid_on=date(2025, 1, 10), reference="early", channel="cash",
                       posted_by=staff.officer)
    assert not [q for q in ctx.captured_queries if "9113" in q["sql"] and "SELECT" in q["sql"]]
    with CaptureQueriesContext(connection) as ctx:  # installment 1 due and unpaid: a day of penalty on 2025-01-15
        repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(50_000), paid_on=date(2025, 1, 15), reference="late", channel="cash",
                       posted_by=staff.officer)
    assert [q for q in ctx.captured_queries if "9113" in q["sql"] and "SELECT" in q["sql"]]
    assert LoanLedgerLine.objects.filter(loan=loan, kind="penalty_accrual", entry_date=date(2025, 1, 15)).exists()
    assert LoanLedgerLine.objects.filter(loan=loan, kind="interest_accrual", installment__number=1).exists()
    assert_sound(fund)


@pytest.mark.parametrize("installments", [4, 150])
def test_statements_per_repayment_are_few_and_constant(staff, fund, make_loan, installments):
    loan = make_loan(installments=installments)
    counts = []
    for n, day in enumerate((date(2025, 1, 13), date(2025, 1, 20), date(2025, 1, 23))):
        with CaptureQueriesContext(connection) as ctx:
            repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(150_000), paid_on=day, reference=f"s{installments}-{n}", channel="cash",
                           posted_by=staff.officer)
        counts.append(len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]))
    # lock (+ later repayments + settings), repayment + its history row, loan state, [penalty],
    # journal entry, journal lines, subledger lines, allocations, their settlement projection
    assert max(counts) <= 10, counts
    assert_sound(fund)


def test_a_duplicate_reference_is_refused_without_a_trace(staff, fund, make_loan):
    loan = make_loan()
    repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(100_000), paid_on=date(2025, 1, 13), reference="dup", channel="cash",
                   posted_by=staff.officer)
    with pytest.raises(DomainError) as err:
        repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(100_000), paid_on=date(2025, 1, 13), reference="dup", channel="cash",
                       posted_by=staff.officer)
    assert err.value.code == "duplicate_reference"
    assert Repayment.objects.filter(reference="dup").count() == 1
    assert_sound(fund)


def test_the_member_balance_endpoint_is_two_queries_and_agrees_with_the_staff_one(staff, api, fund, make_loan, member_user,
                                                                                   django_assert_max_num_queries):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    short, long = make_loan(installments=4), make_loan(installments=150)
    for n, day in enumerate((13, 20, 27)):
        repayment_post(fund=fund, loan_id=long.pk, amount=Decimal(100_000), paid_on=date(2025, 1, day), reference=f"m{n}", channel="cash",
                       posted_by=staff.officer)
    cob.close_of_business(fund=fund, as_of=date(2025, 3, 3))
    for loan in (short, long):
        client = APIClient()  # a bearer token: the user is loaded on every request, as in production
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(member_user(loan.member)).access_token}")
        # the user, then member + fund + roles + loan + thresholds + balances in one statement
        with django_assert_max_num_queries(2):
            mine = client.get(f"/api/v1/me/loans/{loan.pk}/")
        assert mine.status_code == 200
        assert mine.json() == api(staff.officer).get(f"/api/v1/loans/{loan.pk}/").json()
        assert mine.json()["days_past_due"] > 0 and mine.json()["penalty_due"] != "0"
        assert client.get(f"/api/v1/me/loans/{(long if loan is short else short).pk}/").status_code == 404


def test_an_installment_paid_reversed_and_paid_again_the_same_day_keeps_its_first_settlement_date(staff, fund, make_loan):
    from repayments.models import Installment

    loan = make_loan(installments=52)  # weekly: installment 1 due 2025-01-13
    first = Installment.objects.get(loan=loan, number=1)
    total = first.principal.amount + first.interest.amount + first.savings.amount
    r1 = repayment_post(fund=fund, loan_id=loan.pk, amount=total, paid_on=date(2025, 1, 13), reference="r1", channel="cash",
                        posted_by=staff.officer)
    first.refresh_from_db()
    assert first.settled_on == date(2025, 1, 13)
    repayment_reverse(fund=fund, loan_id=loan.pk, repayment_id=r1.pk, reason="bounced", reversed_by=staff.accountant,
                      reversed_on=date(2025, 1, 20))
    first.refresh_from_db()
    assert first.settled_on is None
    # Paid again, dated the reversal's day: the running sum never fell short on any allocation day,
    # so the installment is settled from the first payment's day (repayments.settlement).
    # (installment 2 falls due that day too: savings come last, so pay both)
    second = Installment.objects.get(loan=loan, number=2)
    both = total + second.principal.amount + second.interest.amount + second.savings.amount
    repayment_post(fund=fund, loan_id=loan.pk, amount=both, paid_on=date(2025, 1, 20), reference="r2", channel="cash", posted_by=staff.officer)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.settled_on, second.settled_on) == (date(2025, 1, 13), date(2025, 1, 20))
    assert_sound(fund)


@pytest.mark.django_db(transaction=True)
def test_the_balance_read_and_the_jwt_user_are_prepared_once_per_connection_and_a_deactivated_user_loses_access(fund, make_loan,
                                                                                                              member_user):
    from django.db import connections
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    loan = make_loan()
    user = member_user(loan.member)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    first = [client.get(f"/api/v1/me/loans/{loan.pk}/") for _ in range(4)]
    assert {r.status_code for r in first} == {200} and len({r.content for r in first}) == 1
    assert {client.get("/api/v1/me/").status_code for _ in range(4)} == {200}  # the token's user read on its own
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("auth_user\" u WHERE" in text for text in prepared), prepared
    # GET /me/loans/{id}/ reads the token's user in the balance statement
    assert any("\"auth_user\" u LEFT JOIN me" in text and "repayments_installment" in text for text in prepared), prepared
    # The same token after the user is deactivated (the prepared user read sees it at once).
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    refused = client.get(f"/api/v1/me/loans/{loan.pk}/")
    assert refused.status_code == 401, refused.content
    connections.close_all()
