"""A collection sheet: many loans' repayments posted in one transaction, all or nothing.

A grassroots union's payroll deductions or a group meeting's collections arrive as one sheet of
hundreds of lines. Posting them one by one costs each line ten round trips to the database; here
the lines share them: one statement locks every loan, one reads every loan's state (its installments
due by the day and its last few; one more reads the whole of the loans whose lines need it), one
computes every catch-up penalty, and the repayments, journal entries, journal lines, subledger lines and
allocations go in a few multi-row INSERTs. Each line is allocated exactly as `repayment_post`
allocates it (the same `repayment_plan`), and produces the same rows.

A line goes through `repayment_post` itself instead, after the others, when it needs what the
shared path does not do: a loan with several lines in the sheet, a loan with a repayment dated
after the line (a replay), a written-off loan (a recovery).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from simple_history.utils import bulk_create_with_history

from loanfund.errors import DomainError
from loanfund.models import Fund

from ..models import Loan, Repayment
from ..posting import loan_entries_post
from ..selectors import loan_states
from .repayment import (
    CHANNEL_ACCOUNT,
    NeedsWholeState,
    catch_up_entry,
    catch_ups,
    loans_lock_for_posting,
    plan_follow_ups,
    plans_allocate,
    repayment_plan,
    repayment_post,
    today,
)


@dataclass(frozen=True, slots=True)
class RepaymentLine:
    """One line of a collection sheet."""

    loan_id: int
    amount: Decimal
    paid_on: date
    reference: str
    channel: str


def _refusal(index: int, error: DomainError) -> dict:
    return {"line": index, "code": error.code, "detail": error.detail, "attr": error.attr}


@transaction.atomic
def collection_sheet_post(*, fund: Fund, lines: Sequence[RepaymentLine], posted_by) -> list[Repayment]:
    """Post every line of a collection sheet, or none: a line refused (the codes of
    repayment_post) refuses the sheet with `repayments_refused` and every refused line in
    `lines` (index in the sheet, code, detail, attr). Returns the repayments in line order."""
    refused: list[dict] = []
    references = [line.reference for line in lines]
    existing = set(Repayment.objects.filter(fund=fund, reference__in=references).values_list("reference", flat=True))
    seen: set[str] = set()
    for index, line in enumerate(lines):
        problem = _line_problem(line, existing, seen)
        if problem:
            refused.append(_refusal(index, problem))
        seen.add(line.reference)
    if refused:
        raise _refused(refused)

    loans: dict[int, Loan] = {}
    days = sorted({line.paid_on for line in lines})
    if len(days) > 1:  # every loan locked first, in id order, whatever the day of its lines
        list(Loan.objects.select_for_update(of=("self",)).filter(fund=fund, pk__in={line.loan_id for line in lines})
             .order_by("pk").values_list("pk", flat=True))
    count: dict[int, int] = {}
    for line in lines:
        count[line.loan_id] = count.get(line.loan_id, 0) + 1
    shared, alone = [], []
    for day in days:
        found = loans_lock_for_posting(fund=fund, loan_ids=sorted({ln.loan_id for ln in lines if ln.paid_on == day}), paid_on=day)
        for index, line in enumerate(lines):
            if line.paid_on != day:
                continue
            loan = found.get(line.loan_id)
            if loan is None:
                refused.append(_refusal(index, DomainError("not_found", "No such loan.", attr="loan", status=404)))
            elif line.paid_on < loan.disbursed_on:
                refused.append(_refusal(index, DomainError("before_disbursement", "A repayment cannot predate the disbursement.",
                                                           attr="paid_on", status=400)))
            elif count[line.loan_id] > 1 or loan.has_later or not loan.is_open:
                alone.append(index)
            else:
                loans[index] = loan
                shared.append(index)

    repayments: dict[int, Repayment] = {
        index: Repayment(fund=fund, loan=loans[index], amount=lines[index].amount, paid_on=lines[index].paid_on,
                         reference=lines[index].reference, channel=lines[index].channel, created_by=posted_by)
        for index in shared
    }
    plans = {}
    for day in days:
        on_day = [index for index in shared if lines[index].paid_on == day]
        if not on_day:
            continue
        # First the installments due by the day and each loan's last few (loan_states(due_by=)):
        # most of a loan's installments are later ones, and a line that pays what is due, or
        # prepays the next installment (reduce_term settles the last ones first), needs no more.
        # The lines that do are planned again on their loans' whole state, read once for all. The
        # catch-up accruals read only the installments due by the day: the same either way.
        states = loan_states([loans[i] for i in on_day], after=day, as_of=day, due_by=day)
        accruals = catch_ups([(loans[index], states[loans[index].pk]) for index in on_day], as_of=day)  # one penalty statement
        whole = []
        for index in on_day:
            try:
                plans[index] = _plan(loans[index], repayments[index], states[loans[index].pk], accruals, day)
            except NeedsWholeState:
                whole.append(index)
            except DomainError as error:
                refused.append(_refusal(index, error))
        if whole:
            states = loan_states([loans[i] for i in whole], after=day, as_of=day)
            for index in whole:
                try:
                    plans[index] = _plan(loans[index], repayments[index], states[loans[index].pk], accruals, day)
                except DomainError as error:
                    refused.append(_refusal(index, error))
    if refused:
        raise _refused(refused)

    try:
        with transaction.atomic():
            bulk_create_with_history([repayments[index] for index in shared], Repayment, default_user=posted_by)
    except IntegrityError:  # a reference posted meanwhile by another officer (the unique constraint)
        raise DomainError("duplicate_reference", "A reference of the sheet was posted meanwhile: nothing was posted.", attr="reference",
                          status=409) from None
    # In loan order: the rows then reach the subledger's and allocations' indexes (by loan and
    # installment) in key order, one leaf page after the next.
    ordered = sorted((plans[index] for index in shared), key=lambda plan: plan.loan.pk)
    entries = loan_entries_post([(plan.entry, plan.post_arguments(posted_by)) for plan in ordered])
    plans_allocate(list(zip(ordered, entries, strict=True)))
    for plan in ordered:
        plan_follow_ups(plan, created_by=posted_by)

    posted = {index: repayments[index] for index in shared}
    for index in sorted(alone, key=lambda i: (lines[i].paid_on, i)):
        line = lines[index]
        try:
            posted[index] = repayment_post(fund=fund, loan_id=line.loan_id, amount=line.amount, paid_on=line.paid_on,
                                           reference=line.reference, channel=line.channel, posted_by=posted_by)
        except DomainError as error:
            refused.append(_refusal(index, error))
    if refused:
        raise _refused(refused)
    return [posted[index] for index in range(len(lines))]


def _line_problem(line: RepaymentLine, existing: set[str], seen: set[str]) -> DomainError | None:
    """The checks of repayment_post that need no loan."""
    if line.paid_on > today():
        return DomainError("future_date", "A repayment cannot be dated in the future.", attr="paid_on", status=400)
    if line.channel not in CHANNEL_ACCOUNT:
        return DomainError("invalid_channel", f"channel is one of {', '.join(CHANNEL_ACCOUNT)}.", attr="channel", status=400)
    if line.amount <= 0:
        return DomainError("zero_amount", "Amount must be greater than zero.", attr="amount", status=400)
    if line.reference in existing or line.reference in seen:
        return DomainError("duplicate_reference", f"Reference {line.reference!r} is already used in this fund.", attr="reference", status=409)
    return None


def _refused(refused: list[dict]) -> DomainError:
    return DomainError("repayments_refused", f"{len(refused)} line(s) of the sheet are refused: nothing was posted.", attr="lines",
                       status=400, extra={"lines": sorted(refused, key=lambda r: r["line"])})


def _plan(loan: Loan, repayment: Repayment, state, accruals: dict, day: date):
    """repayment_plan of one line, its catch-up accruals first in the same journal entry."""
    return repayment_plan(loan, repayment, state, catch_up_entry(loan, accruals[loan.pk]), accruals[loan.pk], on=day)
