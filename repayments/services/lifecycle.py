"""Restructuring and write-off of a loan."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Max

from loanfund import chart
from loanfund.errors import DomainError, InvalidState
from loanfund.models import Fund
from loanfund.selectors.fund import fund_settings_as_of
from loanfund.selectors.ledger import account_balance

from ..models import Allocation, Installment, Loan, LoanLedgerLine, Restructure, WriteOff
from ..posting import LoanEntry
from ..schedule import reamortize
from ..selectors import ZERO, loan_state
from ..settlement import allocations_write, settled_at_creation
from .repayment import accrue_loan, lock_loan, today


def _terms_of(loan: Loan):
    from loanfund.origination.pricing import schedule_terms_for

    terms = schedule_terms_for(product_version=loan.product_version, amount=loan.principal_disbursed.amount,
                               installments=loan.installments_count, disbursed_on=loan.disbursed_on,
                               first_due_on=loan.application.first_due_on)
    return replace(terms, annual_rate=Decimal(loan.annual_rate))


@transaction.atomic
def loan_restructure(*, fund: Fund, loan_id: int, installments: int, reason: str, approved_by, annual_rate: Decimal | None = None,
                     restructured_on: date | None = None, first_due_on: date | None = None) -> Loan:
    """A new schedule for the remaining principal (longer term, other rate). Overdue interest and
    penalty stay due on the old installments (they are paid first by the allocation order); the
    principal of every old installment and the interest of the not-yet-due ones move to the new
    schedule as `rescheduled` allocation rows."""
    loan = lock_loan(fund=fund, loan_id=loan_id)
    on = restructured_on or today()
    if not loan.is_open:
        raise InvalidState(f"A {loan.status} loan cannot be restructured.")
    if not reason.strip():
        raise DomainError("reason_required", "Give the reason for the restructuring.", attr="reason", status=400)
    if installments < 1 or installments > 520:
        raise DomainError("invalid_installments", "installments must be between 1 and 520.", attr="installments", status=400)
    if on > today() or on < loan.disbursed_on:
        raise DomainError("invalid_date", "A restructuring takes effect between the disbursement and today.", attr="restructured_on", status=400)
    accrue_loan(loan, as_of=on, on=on, created_by=approved_by)
    state = loan_state(loan)
    outstanding = state.principal_outstanding
    if outstanding <= 0:
        raise InvalidState("No principal is outstanding.")
    rate = Decimal(annual_rate) if annual_rate is not None else Decimal(loan.annual_rate)
    terms = replace(_terms_of(loan), annual_rate=rate)
    try:
        schedule = reamortize(outstanding=outstanding, terms_like=terms, start_on=on, installments=installments, first_due_on=first_due_on)
    except ValueError as exc:
        raise DomainError("invalid_terms", str(exc), attr="installments", status=400)
    rows = []
    for inst in state.installments:
        moving = [("principal", inst.principal_unpaid)]
        if inst.due_on > on:
            moving += [("interest", inst.interest_unpaid), ("savings", inst.savings_unpaid)]
        for component, left in moving:
            if left > 0:
                rows.append(Allocation(fund_id=loan.fund_id, loan=loan, installment_id=inst.id, component=component,
                                       kind=Allocation.Kind.RESCHEDULED, amount=left, effective_on=on))
    allocations_write(rows)
    Installment.objects.filter(loan=loan, superseded_on__isnull=True).update(superseded_on=on)
    version = loan.schedule_version + 1
    Installment.objects.bulk_create(
        Installment(loan=loan, schedule_version=version, number=row.number, due_on=row.due_on, principal=row.principal,
                    interest=row.interest, savings=row.savings, settled_on=settled_at_creation(row)) for row in schedule.installments
    )
    Restructure.objects.create(loan=loan, restructured_on=on, reason=reason[:500], principal=outstanding, installments=installments,
                               annual_rate=rate, schedule_version=version, approved_by=approved_by)
    loan.schedule_version = version
    loan.annual_rate = rate
    loan.installments_count = installments
    loan.restructure_count += 1
    loan.status = Loan.Status.RESTRUCTURED
    loan.save(update_fields=["schedule_version", "annual_rate", "installments_count", "restructure_count", "status"])
    # A back-dated restructuring may move interest that close of business already accrued: the
    # catch-up reverses it (delta = unpaid - accrued) and accrues the new rows fallen due since,
    # up to the latest day already accrued for this loan.
    latest = LoanLedgerLine.objects.filter(loan=loan, kind="interest_accrual").aggregate(d=Max("entry_date"))["d"]
    if latest and latest > on:
        accrue_loan(loan, as_of=latest, on=on, created_by=approved_by, penalty=False)
    return loan


@transaction.atomic
def loan_write_off(*, fund: Fund, loan_id: int, reason: str, approved_by, written_off_on: date | None = None) -> WriteOff:
    """Principal and accrued interest leave the books against the provision (the shortfall, if the
    provision is short, is provision expense); the whole claim stays off-balance in 9111."""
    loan = lock_loan(fund=fund, loan_id=loan_id)
    on = written_off_on or today()
    if not loan.is_open:
        raise InvalidState(f"A {loan.status} loan cannot be written off.")
    if not reason.strip():
        raise DomainError("reason_required", "Give the reason for the write-off.", attr="reason", status=400)
    if on > today() or on < loan.disbursed_on:
        raise DomainError("invalid_date", "A write-off takes effect between the disbursement and today.", attr="written_off_on", status=400)
    accrue_loan(loan, as_of=on, on=on, created_by=approved_by)
    state = loan_state(loan)
    dpd = state.days_past_due(on)
    threshold = fund_settings_as_of(fund=loan.fund, on=on).write_off_min_days_past_due
    if dpd < threshold:
        raise InvalidState(f"The loan is {dpd} days past due; a write-off needs at least {threshold}.", attr="days_past_due")
    acc = state.accounts
    current, overdue = acc.get(chart.LOANS_CURRENT, ZERO), acc.get(chart.LOANS_OVERDUE, ZERO)
    receivable = acc.get(chart.INTEREST_RECEIVABLE, ZERO)
    memo_interest, memo_penalty = acc.get(chart.MEMO_OVERDUE_INTEREST, ZERO), acc.get(chart.MEMO_OVERDUE_PENALTY, ZERO)
    on_books = current + overdue + receivable
    provision = max(account_balance(fund=loan.fund, code=chart.LOAN_LOSS_PROVISION), ZERO)
    from_provision = min(provision, on_books)
    entry = LoanEntry(loan)
    entry.dr(chart.LOAN_LOSS_PROVISION, from_provision).dr(chart.PROVISION_EXPENSE, on_books - from_provision)
    entry.cr(chart.LOANS_CURRENT, current).cr(chart.LOANS_OVERDUE, overdue)
    # Interest receivable leaves per installment so the subledger keeps its detail.
    for inst in state.installments:
        entry.cr(chart.INTEREST_RECEIVABLE, max(inst.interest_receivable, ZERO), installment_id=inst.id)
        entry.cr(chart.MEMO_OVERDUE_INTEREST, max(inst.interest_memo, ZERO), installment_id=inst.id)
        entry.cr(chart.MEMO_OVERDUE_PENALTY, max(inst.penalty_balance, ZERO), installment_id=inst.id)
    claim = on_books + memo_interest + memo_penalty
    entry.dr(chart.MEMO_WRITTEN_OFF, claim).cr(chart.MEMO_CONTRA, on_books)
    je = entry.post(entry_date=on, kind="write_off", source_type="loan", source_id=loan.pk, created_by=approved_by,
                    memo=f"Write-off of {loan.number}: {reason}"[:500])
    rows = []
    interest_total = ZERO
    for inst in state.installments:
        accrued = inst.due_on <= on or inst.interest_receivable + inst.interest_memo > 0
        for component, left in (("principal", inst.principal_unpaid), ("interest", inst.interest_unpaid if accrued else ZERO),
                                ("penalty", inst.penalty_balance)):
            if left > 0:
                rows.append(Allocation(fund_id=loan.fund_id, loan=loan, installment_id=inst.id, component=component,
                                       kind=Allocation.Kind.WRITTEN_OFF, amount=left, effective_on=on, journal_entry=je))
                if component == "interest":
                    interest_total += left
        if inst.due_on > on:
            for component, left in (("interest", ZERO if accrued else inst.interest_unpaid), ("savings", inst.savings_unpaid)):
                if left > 0:
                    rows.append(Allocation(fund_id=loan.fund_id, loan=loan, installment_id=inst.id, component=component,
                                           kind=Allocation.Kind.RESCHEDULED, amount=left, effective_on=on))
    allocations_write(rows)
    write_off = WriteOff.objects.create(
        loan=loan, written_off_on=on, reason=reason[:500], principal=current + overdue, interest=receivable + memo_interest,
        penalty=memo_penalty, from_provision=from_provision, to_expense=on_books - from_provision, journal_entry=je, approved_by=approved_by)
    loan.status = Loan.Status.WRITTEN_OFF
    loan.written_off_on = on
    loan.days_past_due = dpd
    loan.save(update_fields=["status", "written_off_on", "days_past_due"])
    return write_off
