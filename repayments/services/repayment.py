"""Repayments: allocation, posting, back-dated insertion and reversal with deterministic replay.

A repayment's effect is (a) allocation rows (what it settled) and (b) journal entries with their
subledger lines. Undoing it writes the mirror of both, dated the day the correction takes effect;
nothing is updated or deleted. A back-dated repayment or a reversal unposts every later repayment
of the loan (latest first), applies the change, and re-applies the later ones in (paid_on, id)
order, so the outcome is the one a strictly chronological posting would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from loanfund import chart
from loanfund.errors import DomainError, InvalidState
from loanfund.models import Fund, FundSettings, JournalEntry, LoanProductVersion
from loanfund.money import VND
from loanfund.selectors.fund import fund_settings_as_of
from loanfund.services.ledger import insert_rows, journal_entry_reverse

from .. import sql
from ..allocation import Line, allocate
from ..models import Allocation, Installment, Loan, LoanLedgerLine, Prepayment, Repayment
from ..posting import LoanEntry, subledger_mirror
from ..schedule import reamortize
from ..selectors import ZERO, LoanState, RowLoader, converted, dues_as_of, loan_state, loan_states, payoff_total
from ..settlement import PAID_COMPONENTS, allocations_write, installments_settle, settled_at_creation

CHANNEL_ACCOUNT = {Repayment.Channel.CASH: chart.CASH, Repayment.Channel.BANK_TRANSFER: chart.BANK,
                   Repayment.Channel.PAYROLL_DEDUCTION: chart.BANK}


def today() -> date:
    return timezone.localdate()


def lock_loan(*, fund: Fund, loan_id: int) -> Loan:
    # Lock the loan row only: joined fund and product rows stay free for other loans.
    loan = Loan.objects.select_for_update(of=("self",)).select_related("fund", "product_version").filter(fund=fund, pk=loan_id).first()
    if loan is None:
        raise DomainError("not_found", "No such loan.", status=404)
    return loan


def _lock_for_posting(*, fund: Fund, loan_id: int, paid_on: date) -> Loan:
    loan = loans_lock_for_posting(fund=fund, loan_ids=[loan_id], paid_on=paid_on).get(loan_id)
    if loan is None:
        raise DomainError("not_found", "No such loan.", status=404)
    return loan


def loans_lock_for_posting(*, fund: Fund, loan_ids, paid_on: date) -> dict[int, Loan]:
    """lock_loan for repayments dated `paid_on` (in id order: two sheets never deadlock), with
    what posting needs in the same round trip: whether a posted repayment is dated later
    (`has_later`: a replay) and the fund's rate of interest on overdue interest in force that day
    (`overdue_interest_rate`, as sql.overdue_interest_rate reads it). Raw SQL: the ORM form costs
    more to compile than to run. The loans of `fund` among `loan_ids`, by id."""
    loan_rows, fund_rows, version_rows = (RowLoader.of(Loan, "l"), RowLoader.of(Fund, "f"), RowLoader.of(LoanProductVersion, "v"))
    lock = " FOR UPDATE OF l" if connection.features.has_select_for_update_of else ""
    statement = f"""
        SELECT {loan_rows.columns}, {fund_rows.columns}, {version_rows.columns},
               EXISTS (SELECT 1 FROM repayments_repayment r WHERE r.loan_id = l.id AND r.status = %(posted)s AND r.paid_on > %(on)s),
               (SELECT MAX(a.effective_on) FROM repayments_allocation a WHERE a.loan_id = l.id),
               {sql.overdue_interest_rate_sql(fund="l.fund_id", on="%(on)s")}
        FROM repayments_loan l
        JOIN loanfund_fund f ON f.id = l.fund_id
        JOIN loanfund_loanproductversion v ON v.id = l.product_version_id
        WHERE l.id IN ({", ".join(str(int(pk)) for pk in loan_ids)}) AND l.fund_id = %(fund)s
        ORDER BY l.id{lock}"""
    with connection.cursor() as cursor:
        cursor.execute(statement, {"fund": fund.pk, "on": paid_on, "posted": Repayment.Status.POSTED.value})
        rows = cursor.fetchall()
    loans = {}
    for row in rows:
        loan = loan_rows.build(row)
        at = len(loan_rows.fields)
        Loan._meta.get_field("fund").set_cached_value(loan, fund_rows.build(row, at))
        at += len(fund_rows.fields)
        Loan._meta.get_field("product_version").set_cached_value(loan, version_rows.build(row, at))
        loan.has_later = bool(row[-3])
        loan.latest_allocation_on = converted(Allocation._meta.get_field("effective_on"), row[-2])
        loan.overdue_interest_rate = converted(FundSettings._meta.get_field("max_interest_on_overdue_interest_rate"), row[-1])
        loan.rate_on = paid_on
        loans[loan.pk] = loan
    return loans


def overdue_rate_of(loan: Loan, on: date) -> Decimal:
    if getattr(loan, "rate_on", None) == on:
        return Decimal(loan.overdue_interest_rate)
    return sql.overdue_interest_rate(loan.fund, on)


# ------------------------------------------------------------------------------------------------
# Accrual catch-up (the per-loan form of close of business)
# ------------------------------------------------------------------------------------------------


def accrual_lines(loan: Loan, entry: LoanEntry, *, as_of: date, penalty: bool = True) -> list[tuple]:
    """Add to `entry` the interest fallen due and the penalty through `as_of` not yet accrued for
    this loan (one query); returns the (loan, installment, account, amount) rows."""
    if penalty:
        rows = sql.fetch(sql.loan_catch_up_select(fund_id=loan.fund_id, as_of=as_of, loan_id=loan.pk,
                                                  interest_rate=sql.overdue_interest_rate(loan.fund, as_of)))
    else:
        dpd_rows = sql.fetch(sql.days_past_due_select(fund_id=loan.fund_id, as_of=as_of, loan_id=loan.pk))
        rows = sql.fetch(sql.interest_accrual_select(fund_id=loan.fund_id, as_of=as_of, loan_id=loan.pk,
                                                     overdue=bool(dpd_rows and dpd_rows[0][1] > 0)))
    accrual_entry_lines(entry, rows)
    return rows


def accrual_entry_lines(entry: LoanEntry, rows) -> None:
    """The (loan, installment, account, amount) accrual deltas as lines of `entry`, with their contra."""
    for _, inst, account, amount in rows:
        if account == chart.MEMO_OVERDUE_PENALTY:
            entry.signed(account, Decimal(amount), contra=chart.MEMO_CONTRA, installment_id=inst, kind="penalty_accrual")
        else:
            contra = chart.INTEREST_INCOME if account == chart.INTEREST_RECEIVABLE else chart.MEMO_CONTRA
            entry.signed(account, Decimal(amount), contra=contra, installment_id=inst, kind="interest_accrual")


def catch_up_entry(loan: Loan, rows) -> LoanEntry:
    """A new entry of the loan with the catch-up accrual `rows` as its first lines."""
    entry = LoanEntry(loan)
    accrual_entry_lines(entry, rows)
    return entry


def catch_up_lines(loan: Loan, state: LoanState, entry: LoanEntry, *, as_of: date) -> list[tuple]:
    """accrual_lines for a repayment, from the state posting loads anyway (`loan_state(as_of=...)`).

    The interest part of sql.loan_catch_up_select is computed here from the same sums (all
    allocations and all 1331/9112 lines of each installment due by `as_of`, to the memo account
    when the loan is past due that day); the penalty statement runs only when some installment
    due before `as_of` was unpaid at the start of that day, the only rows it can return (its
    HAVING), and never for a loan without penalty. tests/servicing/test_posting_fast_paths.py
    compares both with the SQL."""
    rows = catch_ups([(loan, state)], as_of=as_of)[loan.pk]
    accrual_entry_lines(entry, rows)
    return rows


def catch_ups(loan_states: list[tuple[Loan, LoanState]], *, as_of: date) -> dict[int, list[tuple]]:
    """catch_up_lines' rows for several loans of one fund (a collection sheet), by loan id: the
    penalty statement runs once, for the loans that can owe penalty."""
    rows, owing = {}, []
    for loan, state in loan_states:
        rows[loan.pk], penalty_due = interest_catch_up(loan, state, as_of=as_of)
        if penalty_due:
            owing.append(loan)
    if owing:
        for row in sql.fetch(sql.penalty_accrual_select(fund_id=owing[0].fund_id, as_of=as_of, loan_id=[loan.pk for loan in owing],
                                                        interest_rate=overdue_rate_of(owing[0], as_of))):
            rows[row[0]].append(row)
    return rows


def interest_catch_up(loan: Loan, state: LoanState, *, as_of: date) -> tuple[list[tuple], bool]:
    """catch_up_lines' interest rows, and whether its penalty statement can return any row."""
    rate = overdue_rate_of(loan, as_of)
    overdue = penalty_due = False
    interest = []
    for i in state.installments:
        if i.due_on > as_of:
            break  # ordered by due date
        if i.due_on < as_of:
            p_on, i_on, p_before, i_before = i.paid_through
            overdue = overdue or i.principal > p_on or i.interest > i_on
            penalty_due = penalty_due or i.principal > p_before or (rate > 0 and i.interest > i_before)
        if i.interest > 0:
            delta = i.interest - i.interest_paid - i.interest_receivable - i.interest_memo
            if delta:
                interest.append(i.id)
                interest.append(delta)
    account = chart.MEMO_OVERDUE_INTEREST if overdue else chart.INTEREST_RECEIVABLE
    rows = [(loan.pk, interest[k], account, interest[k + 1]) for k in range(0, len(interest), 2)]
    return rows, penalty_due and (loan.penalty_rate > 0 or rate > 0)


def accrue_loan(loan: Loan, *, as_of: date, on: date, created_by=None, penalty: bool = True) -> JournalEntry | None:
    """Post the interest fallen due and the penalty through `as_of` not yet accrued for this loan."""
    if not loan.is_open:
        return None
    entry = LoanEntry(loan)
    accrual_lines(loan, entry, as_of=as_of, penalty=penalty)
    return entry.post(entry_date=on, kind="accrual", source_type="loan", source_id=loan.pk, created_by=created_by)


# ------------------------------------------------------------------------------------------------
# Applying and unposting one repayment
# ------------------------------------------------------------------------------------------------


class NeedsWholeState(Exception):
    """repayment_plan was given a partial state (loan_states(due_by=...)) and this payment needs
    more of the loan: more than the installments due and the last ones read, a prepayment
    re-amortised, the loan's last payment, or a balance or accrual on an installment not read.
    Plan it again on the loan's whole state."""


@dataclass
class RepaymentPlan:
    """What applying one repayment writes, computed before anything is written (repayment_plan)."""

    loan: Loan
    repayment: Repayment
    on: date
    state: LoanState
    entry: LoanEntry  # the catch-up accruals and the repayment: one journal entry
    allocations: list[tuple]  # (installment_id, component, kind, amount, of this entry: bool)
    settled: list[int] | None  # see _settled_by
    paid: dict
    reamortize: bool  # reduce_installment after a prepayment
    closes: bool  # nothing is left to pay

    def post_arguments(self, created_by) -> dict:
        return dict(entry_date=self.on, kind="repayment", source_type="repayment", source_id=self.repayment.pk, created_by=created_by,
                    memo=f"Repayment {self.repayment.reference} on {self.loan.number}")

    def allocation_rows(self, journal_entry_id: int) -> list[tuple]:
        return [(inst, component, kind, amount, journal_entry_id if ours else None) for inst, component, kind, amount, ours in self.allocations]


# repayment_post plans on a partial state first (selectors.loan_states(due_by=)); False: always on
# the loan's whole state (what tests compare the partial read with).
PARTIAL_FIRST_READ = True


def _apply(loan: Loan, repayment: Repayment, *, on: date, created_by, partial: bool = False) -> None:
    """Post `repayment` on the loan as it stands. `partial`: plan it first on the installments due
    by its day and the loan's last few (what a payment of what is due, or of the next installment
    early, needs), and on the whole loan only when that plan raises NeedsWholeState; a replay
    (later repayments unposted and applied again) reads the whole loan."""
    if loan.status == Loan.Status.WRITTEN_OFF:
        return _apply_recovery(loan, repayment, Decimal(repayment.amount.amount), on=on, created_by=created_by)
    # The catch-up accruals and the repayment are one journal entry (fewer round trips); undoing the
    # repayment undoes them too, and the next catch-up (replay, reversal, close of business) redoes them.
    if not loan.is_open:
        raise InvalidState(f"The loan is {loan.status}: it takes no repayment.")
    day = repayment.paid_on
    entry = LoanEntry(loan)
    state = loan_states([loan], after=day, as_of=day, due_by=day if partial else None)[loan.pk]
    # The catch-up reads only the installments due by the day: the same rows from either state.
    accruals = catch_up_lines(loan, state, entry, as_of=day)
    try:
        plan = repayment_plan(loan, repayment, state, entry, accruals, on=on)
    except NeedsWholeState:  # (a partial state only)
        state = loan_state(loan, after=day, as_of=day)
        plan = repayment_plan(loan, repayment, state, catch_up_entry(loan, accruals), accruals, on=on)
    plan_finish(plan, plan.entry.post(**plan.post_arguments(created_by)), created_by=created_by)


def repayment_plan(loan: Loan, repayment: Repayment, state: LoanState, entry: LoanEntry, catch_up: list[tuple], *, on: date) -> RepaymentPlan:
    """Allocate `repayment` on the loan's `state` after the `catch_up` accruals (already lines of
    `entry`), an open loan: the entry's lines and the allocation rows, without writing anything."""
    amount = Decimal(repayment.amount.amount)
    # A partial state holds the installments due by the day and the loan's last few: the same plan
    # as the whole state's when the payment covers what is due and, under reduce_term, prepays no
    # more than those last installments' principal (a prepayment settles the last ones first).
    partial = state.due_by is not None
    if partial and (state.names_unread or state.due_by != repayment.paid_on
                    or not {row[1] for row in catch_up} <= {i.id for i in state.installments}):
        raise NeedsWholeState
    state.add_accruals(catch_up)
    later_penalty = {inst: -amount for inst, amount in state.penalty_later.items()}
    dues, future = dues_as_of(state, repayment.paid_on, later_penalty)
    payoff = payoff_total(dues, future)
    if partial and amount > payoff:  # more than the installments read can take (not the loan's payoff)
        raise NeedsWholeState
    if amount > payoff:
        raise DomainError("amount_exceeds_payoff", f"{amount} đồng is more than the {payoff} đồng that closes the loan on {repayment.paid_on}.",
                          attr="amount", status=400, extra={"payoff": str(payoff)})
    result = allocate(amount, dues, order=loan.product_version.allocation_order or ("penalty", "interest", "principal"))
    lines = list(result.lines)
    surplus = result.unallocated
    policy = loan.product_version.prepayment_policy
    if partial and surplus and policy != "reduce_term":  # reduce_installment prepays the next installments, then re-amortises
        raise NeedsWholeState
    prepaid_ids = []
    # Beyond what is due: a prepayment of principal. reduce_term settles the last installments first
    # (the term shortens); reduce_installment settles the next ones and re-amortises afterwards.
    for inst in (reversed(future) if policy == "reduce_term" else future):
        if not surplus:
            break
        take = min(surplus, inst.principal_unpaid)
        lines.append(Line(inst.id, "principal", take))
        surplus -= take
        prepaid_ids.append(inst.id)
    if surplus:  # pragma: no cover - payoff check above makes this unreachable
        raise DomainError("amount_exceeds_payoff", "Nothing left to allocate to.", attr="amount", status=400)
    principal = sum((ln.amount for ln in lines if ln.component == "principal"), ZERO)
    if partial and state.principal_outstanding <= principal:
        raise NeedsWholeState  # it closes the loan: the later installments' interest and savings are waived

    by_id = {i.id: i for i in state.installments}
    entry.dr(CHANNEL_ACCOUNT[repayment.channel], amount)
    from_overdue = min(principal, max(state.accounts.get(chart.LOANS_OVERDUE, ZERO), ZERO))
    entry.cr(chart.LOANS_OVERDUE, from_overdue).cr(chart.LOANS_CURRENT, principal - from_overdue)
    for ln in lines:
        inst = by_id[ln.installment]
        if ln.component == "interest":
            receivable = min(ln.amount, max(inst.interest_receivable, ZERO))
            memo = min(ln.amount - receivable, max(inst.interest_memo, ZERO))
            entry.cr(chart.INTEREST_RECEIVABLE, receivable, installment_id=inst.id)
            entry.cr(chart.INTEREST_INCOME, ln.amount - receivable)
            entry.dr(chart.MEMO_CONTRA, memo).cr(chart.MEMO_OVERDUE_INTEREST, memo, installment_id=inst.id)
        elif ln.component == "penalty":
            memo = min(ln.amount, max(inst.penalty_balance, ZERO))
            entry.cr(chart.PENALTY_INCOME, ln.amount)
            entry.dr(chart.MEMO_CONTRA, memo).cr(chart.MEMO_OVERDUE_PENALTY, memo, installment_id=inst.id)
        elif ln.component == "savings":
            entry.cr(chart.COMPULSORY_SAVINGS, ln.amount)
        elif ln.component == "fees":  # pragma: no cover - fees are taken upfront
            entry.cr(chart.FEE_INCOME, ln.amount)
    rows = [(ln.installment, ln.component, Allocation.Kind.PAYMENT, ln.amount, True) for ln in lines]

    # What the new balances leave behind.
    paid = {}
    for ln in lines:
        paid.setdefault(ln.installment, {}).setdefault(ln.component, ZERO)
        paid[ln.installment][ln.component] += ln.amount
    principal_left = state.principal_outstanding - principal
    waive = []
    if principal_left <= 0:
        waive = [i for i in state.installments if i.due_on > repayment.paid_on]  # the loan is repaid: nothing more falls due
    elif policy == "reduce_term":
        waive = [by_id[i] for i in prepaid_ids if by_id[i].principal_unpaid == paid[i].get("principal", ZERO)]
    for inst in waive:
        for component, unpaid in (("interest", inst.interest_unpaid), ("savings", inst.savings_unpaid)):
            left = unpaid - paid.get(inst.id, {}).get(component, ZERO)
            if left > 0:
                rows.append((inst.id, component, Allocation.Kind.RESCHEDULED, left, False))
    return RepaymentPlan(loan, repayment, on, state, entry, rows, _settled_by(loan, state, by_id, rows, on), paid,
                         reamortize=bool(prepaid_ids) and policy == "reduce_installment" and principal_left > 0, closes=principal_left <= 0)


def plan_finish(plan: RepaymentPlan, je: JournalEntry, *, created_by) -> None:
    """What follows the entry of a plan: its allocations (plans_allocate) and, rarely, a new
    schedule or the closing of the loan."""
    plans_allocate([(plan, je)])
    plan_follow_ups(plan, created_by=created_by)


def plan_follow_ups(plan: RepaymentPlan, *, created_by) -> None:
    if plan.reamortize:
        _reamortize_after_prepayment(plan.loan, plan.repayment, plan.state, plan.paid, on=plan.on, created_by=created_by)
    if plan.closes:
        _close_if_repaid(plan.loan, on=plan.on, paid_on=plan.repayment.paid_on, created_by=created_by)


def _apply_recovery(loan: Loan, repayment: Repayment, amount: Decimal, *, on: date, created_by) -> None:
    """Cash on a written-off loan: income when collected, and the off-balance claim shrinks."""
    state = loan_state(loan)
    claim = state.accounts.get(chart.MEMO_WRITTEN_OFF, ZERO)
    if amount > claim:
        raise DomainError("amount_exceeds_payoff", f"{amount} đồng is more than the {claim} đồng still claimed.", attr="amount", status=400,
                          extra={"payoff": str(claim)})
    entry = LoanEntry(loan)
    entry.dr(CHANNEL_ACCOUNT[repayment.channel], amount).cr(chart.RECOVERY_INCOME, amount)
    entry.dr(chart.MEMO_CONTRA, amount).cr(chart.MEMO_WRITTEN_OFF, amount)
    je = entry.post(entry_date=on, kind="recovery", source_type="repayment", source_id=repayment.pk, created_by=created_by)
    Allocation.objects.create(fund_id=loan.fund_id, loan=loan, repayment=repayment, component=Allocation.Component.RECOVERY,
                              kind=Allocation.Kind.RECOVERY, amount=amount, effective_on=on, journal_entry=je)


def _reamortize_after_prepayment(loan: Loan, repayment: Repayment, state: LoanState, paid: dict, *, on: date, created_by=None) -> None:
    """reduce_installment: the remaining principal over the remaining due dates, same conventions."""
    from loanfund.origination.pricing import schedule_terms_for

    after = [i for i in state.installments if i.due_on > repayment.paid_on and i.superseded_on is None]
    remaining = sum((i.principal_unpaid - paid.get(i.id, {}).get("principal", ZERO) for i in after), ZERO)
    if not after or remaining <= 0:
        return
    before = [i.due_on for i in state.installments if i.due_on <= repayment.paid_on]
    start_on = max(before) if before else loan.disbursed_on
    terms = schedule_terms_for(product_version=loan.product_version, amount=loan.principal_disbursed.amount,
                               installments=loan.installments_count, disbursed_on=loan.disbursed_on,
                               first_due_on=loan.application.first_due_on)
    from dataclasses import replace

    terms = replace(terms, annual_rate=Decimal(loan.annual_rate))
    new = reamortize(outstanding=remaining, terms_like=terms, start_on=start_on, installments=len(after), first_due_on=after[0].due_on)
    version = loan.schedule_version + 1
    rows = []
    for inst in after:
        for component, unpaid in (("principal", inst.principal_unpaid), ("interest", inst.interest_unpaid), ("savings", inst.savings_unpaid)):
            left = unpaid - paid.get(inst.id, {}).get(component, ZERO)
            if left > 0:
                rows.append(Allocation(fund_id=loan.fund_id, loan=loan, repayment=repayment, installment_id=inst.id, component=component,
                                       kind=Allocation.Kind.RESCHEDULED, amount=left, effective_on=on))
    allocations_write(rows)
    Installment.objects.filter(pk__in=[i.id for i in after]).update(superseded_on=on)
    Installment.objects.bulk_create(
        Installment(loan=loan, schedule_version=version, number=row.number, due_on=row.due_on, principal=row.principal,
                    interest=row.interest, savings=row.savings, settled_on=settled_at_creation(row)) for row in new.installments
    )
    Prepayment.objects.create(loan=loan, repayment=repayment, policy="reduce_installment", from_version=loan.schedule_version,
                              schedule_version=version)
    loan.schedule_version = version
    loan.save(update_fields=["schedule_version"])
    # A back-dated prepayment may re-amortise installments whose interest close of business has
    # already accrued: as after a restructuring, the catch-up reverses that interest (it moved to the
    # new schedule) and accrues the new rows fallen due since, up to the latest day accrued.
    latest = LoanLedgerLine.objects.filter(loan=loan, kind="interest_accrual").aggregate(d=Max("entry_date"))["d"]
    if latest and latest > repayment.paid_on:
        accrue_loan(loan, as_of=latest, on=on, created_by=created_by, penalty=False)


def _close_if_repaid(loan: Loan, *, on: date, paid_on: date, created_by) -> None:
    state = loan_state(loan)
    dues, future = dues_as_of(state, paid_on)
    if state.principal_outstanding != 0 or dues or future:
        return
    savings = state.savings_balance
    if savings > 0 and fund_settings_as_of(fund=loan.fund, on=on).return_savings_at_payoff:
        account = chart.CASH if loan.disbursement_method == Loan.Method.CASH else chart.BANK
        LoanEntry(loan).dr(chart.COMPULSORY_SAVINGS, savings).cr(account, savings).post(
            entry_date=on, kind="savings_return", source_type="loan_close", source_id=loan.pk, created_by=created_by,
            memo=f"Compulsory savings returned at payoff of {loan.number}")
    # days_past_due stays as close of business left it: it agrees with the 1311/1312 split if a
    # reversal reopens the loan (the API shows 0 for a closed loan).
    loan.status = Loan.Status.CLOSED
    loan.closed_on = paid_on
    loan.save(update_fields=["status", "closed_on"])


def _unpost(loan: Loan, repayment: Repayment, *, on: date, created_by) -> None:
    if Prepayment.objects.filter(repayment=repayment).exists():
        raise InvalidState(f"Repayment {repayment.reference} re-amortised the schedule (reduce_installment): it cannot be replayed or reversed.")
    if loan.status == Loan.Status.CLOSED:
        for je in JournalEntry.objects.filter(fund_id=loan.fund_id, source_type="loan_close", source_id=str(loan.pk),
                                              reverses__isnull=True, reversed_by__isnull=True):
            subledger_mirror(loan, je, journal_entry_reverse(entry=je, entry_date=on, reason="loan reopened", created_by=created_by), on)
        loan.status = Loan.Status.RESTRUCTURED if loan.restructure_count else Loan.Status.ACTIVE
        loan.closed_on = None
        loan.save(update_fields=["status", "closed_on"])
    live = list(Allocation.objects.filter(repayment=repayment, reversed_by__isnull=True).exclude(kind=Allocation.Kind.REVERSAL))
    entries = list(JournalEntry.objects.filter(fund_id=loan.fund_id, source_type="repayment", source_id=str(repayment.pk),
                                               reverses__isnull=True, reversed_by__isnull=True))
    mirrors = {}
    for je in entries:
        reversal = journal_entry_reverse(entry=je, entry_date=on, reason=f"repayment {repayment.reference} undone", created_by=created_by)
        subledger_mirror(loan, je, reversal, on)
        mirrors[je.pk] = reversal
    if live and getattr(loan, "latest_allocation_on", None) is not None:
        loan.latest_allocation_on = max(loan.latest_allocation_on, on)  # _settled_by: these rows are dated `on`
    allocations_write(
        Allocation(fund_id=loan.fund_id, loan=loan, repayment=repayment, installment_id=row.installment_id, component=row.component,
                   kind=Allocation.Kind.REVERSAL, amount=-row.amount.amount, effective_on=on, reverses=row,
                   journal_entry=mirrors.get(row.journal_entry_id))
        for row in live
    )


def _settled_by(loan: Loan, state: LoanState, by_id: dict, rows, on: date) -> list[int] | None:
    """The installments these (installment_id, component, kind, amount, ...) rows settle, when the
    settlement projection follows without recomputing it: every earlier allocation of the loan is
    dated before `on` (the lock read it), so an installment they complete was short the day
    before and is settled from `on` (repayments.settlement's definition); None otherwise."""
    latest = getattr(loan, "latest_allocation_on", None)
    if getattr(loan, "rate_on", None) is None or (latest is not None and latest >= on):
        return None
    added: dict[int, dict[str, Decimal]] = {}
    for inst, component, _, amount, *_ in rows:
        parts = added.setdefault(inst, {})
        parts[component] = parts.get(component, ZERO) + amount
    settled = []
    for inst_id, parts in added.items():
        inst = by_id[inst_id]
        if (inst.principal_unpaid, inst.interest_unpaid, inst.savings_unpaid) == (ZERO, ZERO, ZERO):
            continue  # already settled: a penalty row changes nothing
        if (inst.principal_unpaid == parts.get("principal", ZERO) and inst.interest_unpaid == parts.get("interest", ZERO)
                and inst.savings_unpaid == parts.get("savings", ZERO)):
            settled.append(inst_id)
    return settled


def allocations_insert(loan: Loan, repayment: Repayment, on: date, rows, *, settled: list[int] | None = None) -> None:
    """settlement.allocations_write for the rows of one repayment, given as (installment_id,
    component, kind, amount, journal_entry_id): one INSERT without model instances, then the
    settlement projection of the installments touched, in the same transaction: recomputed
    (installments_settle), or with `settled` (see _settled_by) set on those installments only."""
    _allocations_insert([(loan, repayment, on, rows, settled)])


def plans_allocate(posted: list[tuple[RepaymentPlan, JournalEntry]]) -> None:
    """allocations_insert for the plans of several loans, each with its posted entry."""
    _allocations_insert([(p.loan, p.repayment, p.on, p.allocation_rows(je.pk), p.settled) for p, je in posted])


def _allocations_insert(batches) -> None:
    batches = [b for b in batches if b[3]]
    if not batches:
        return
    created = connection.ops.adapt_datetimefield_value(timezone.now())
    insert_rows(Allocation, ("fund_id", "loan_id", "repayment_id", "installment_id", "component", "kind", "amount", "amount_currency",
                             "effective_on", "journal_entry_id", "created_at"),
                [(loan.fund_id, loan.pk, repayment.pk, inst, component, kind, amount, VND, on, je, created)
                 for loan, repayment, on, rows, _ in batches for inst, component, kind, amount, je in rows])
    recompute = [row[0] for _, _, _, rows, settled in batches if settled is None for row in rows]
    if recompute:
        installments_settle(recompute)
    # The projection without recomputing it (_settled_by): every earlier allocation of the loan is
    # dated before `on`, so `on` is the settled day of the installments these rows complete; and the
    # first paid day of those it is earlier than (or the first principal, interest or savings allocation of).
    settled_on: dict[date, set[int]] = {}
    touched: dict[date, set[int]] = {}
    for _, _, on, rows, settled in batches:
        if settled is not None:
            settled_on.setdefault(on, set()).update(settled)
            touched.setdefault(on, set()).update(inst for inst, component, *_ in rows if component in PAID_COMPONENTS)
    with connection.cursor() as cursor:
        for on, ids in touched.items():
            if not ids | settled_on[on]:
                continue  # only penalty was paid
            done = sorted(settled_on[on])
            settles = f"id IN ({', '.join(map(str, done))})" if done else "FALSE"
            earlier = "(first_paid_on IS NULL OR first_paid_on > %s)"  # a replay can add rows dated before the first
            cursor.execute(f"""UPDATE repayments_installment
                                  SET settled_on = CASE WHEN {settles} THEN %s ELSE settled_on END,
                                      first_paid_on = CASE WHEN {earlier} THEN %s ELSE first_paid_on END
                                WHERE id IN ({', '.join(map(str, sorted(ids | settled_on[on])))}) AND ({settles} OR {earlier})""",
                           [on, on, on, on])
    for loan, _, on, _, _ in batches:
        loan.latest_allocation_on = on


def _later(loan: Loan, paid_on: date, after_id: int | None = None) -> list[Repayment]:
    """Posted repayments of the loan after (paid_on, after_id) in posting order: usually none."""
    later = Q(paid_on__gt=paid_on) | (Q(paid_on=paid_on, pk__gt=after_id) if after_id is not None else Q(pk__in=[]))
    return list(Repayment.objects.filter(later, loan=loan, status=Repayment.Status.POSTED).order_by("paid_on", "id"))


# ------------------------------------------------------------------------------------------------
# Commands
# ------------------------------------------------------------------------------------------------


@transaction.atomic
def repayment_post(*, fund: Fund, loan_id: int, amount: Decimal, paid_on: date, reference: str, channel: str, posted_by) -> Repayment:
    loan = _lock_for_posting(fund=fund, loan_id=loan_id, paid_on=paid_on)
    if paid_on > today():
        raise DomainError("future_date", "A repayment cannot be dated in the future.", attr="paid_on", status=400)
    if paid_on < loan.disbursed_on:
        raise DomainError("before_disbursement", "A repayment cannot predate the disbursement.", attr="paid_on", status=400)
    if channel not in CHANNEL_ACCOUNT:
        raise DomainError("invalid_channel", f"channel is one of {', '.join(CHANNEL_ACCOUNT)}.", attr="channel", status=400)
    if amount <= 0:
        raise DomainError("zero_amount", "Amount must be greater than zero.", attr="amount", status=400)
    # The unique constraint is the duplicate check (no SELECT first); this transaction rolls back.
    try:
        repayment = Repayment(fund=fund, loan=loan, amount=amount, paid_on=paid_on, reference=reference, channel=channel, created_by=posted_by)
        repayment._history_user = posted_by  # the audit trail names the officer outside a request too, as a sheet's rows do
        repayment.save(force_insert=True)
    except IntegrityError as exc:
        if "repayment_reference_unique_per_fund" in str(exc) or "repayments_repayment.reference" in str(exc):
            raise DomainError("duplicate_reference", f"Reference {reference!r} is already used in this fund.", attr="reference",
                              status=409) from None
        raise
    later = _later(loan, paid_on) if loan.has_later else []
    for r in reversed(later):
        _unpost(loan, r, on=r.paid_on, created_by=posted_by)
    _apply(loan, repayment, on=paid_on, created_by=posted_by, partial=PARTIAL_FIRST_READ and not later)
    for r in later:
        _apply(loan, r, on=r.paid_on, created_by=posted_by)
    return repayment


@transaction.atomic
def repayment_reverse(*, fund: Fund, loan_id: int, repayment_id: int, reason: str, reversed_by, reversed_on: date | None = None) -> Repayment:
    loan = lock_loan(fund=fund, loan_id=loan_id)
    repayment = Repayment.objects.select_for_update().filter(loan=loan, pk=repayment_id).first()
    if repayment is None:
        raise DomainError("not_found", "No such repayment on this loan.", status=404)
    if repayment.status != Repayment.Status.POSTED:
        raise InvalidState("The repayment is already reversed.")
    if not reason.strip():
        raise DomainError("reason_required", "Give the reason for the reversal.", attr="reason", status=400)
    effective = reversed_on or today()
    if effective > today() or effective < repayment.paid_on:
        raise DomainError("invalid_date", "A reversal takes effect between the payment date and today.", attr="reversed_on", status=400)
    later = _later(loan, repayment.paid_on, repayment.pk)
    for r in reversed(later):
        _unpost(loan, r, on=max(r.paid_on, effective), created_by=reversed_by)
    _unpost(loan, repayment, on=effective, created_by=reversed_by)
    repayment.status = Repayment.Status.REVERSED
    repayment.reversed_on = effective
    repayment.reversal_reason = reason[:500]
    repayment.reversed_by = reversed_by
    repayment.save(update_fields=["status", "reversed_on", "reversal_reason", "reversed_by"])
    for r in later:
        _apply(loan, r, on=max(r.paid_on, effective), created_by=reversed_by)
    # The reversed repayment's entry carried catch-up accruals: accrue again what is due anyway.
    accrue_loan(loan, as_of=max([repayment.paid_on] + [r.paid_on for r in later]), on=effective, created_by=reversed_by)
    return repayment
