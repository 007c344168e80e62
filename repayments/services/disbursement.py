"""Disbursement: an approved application becomes a loan with its schedule, in one transaction."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from borrowers.models import Member
from loanfund import chart
from loanfund.errors import DomainError, RuleViolation
from loanfund.models import Fund, JournalLine, LoanApplication
from loanfund.origination.pricing import schedule_terms_for
from loanfund.origination.selectors import approved_undisbursed_total
from loanfund.origination.services import application_mark_disbursed
from loanfund.selectors.fund import fund_settings_as_of

from ..models import Installment, Loan
from ..posting import LoanEntry
from ..schedule import build_schedule, price_disclosure
from ..selectors import member_outstanding
from ..settlement import settled_at_creation

METHOD_ACCOUNT = {Loan.Method.CASH: chart.CASH, Loan.Method.BANK: chart.BANK}


def fund_liquidity(fund: Fund) -> Decimal:
    """Cash on hand + cash at bank, from the ledger (one query)."""
    rows = JournalLine.objects.filter(entry__fund=fund, account__code__in=[chart.CASH, chart.BANK]).values_list("side").annotate(t=Sum("amount"))
    total = Decimal(0)
    for side, amount in rows:
        total += Decimal(amount) if side == "D" else -Decimal(amount)
    return total


@transaction.atomic
def loan_disburse(*, fund: Fund, application_id: int, disbursed_on: date, method: str, disbursed_by) -> Loan:
    if disbursed_on > timezone.localdate():
        raise DomainError("future_date", "A loan is disbursed today or on a past date, never in the future.", attr="disbursed_on", status=400)
    if method not in METHOD_ACCOUNT:
        raise DomainError("invalid_method", "method is cash or bank.", attr="method", status=400)
    member_id = LoanApplication.objects.filter(fund=fund, pk=application_id).values_list("member_id", flat=True).first()
    if member_id is None:
        raise DomainError("not_found", "No such application.", status=404)
    # Same lock order as origination (member, then application): concurrent disbursements of the
    # same application queue here, and the member's exposure cannot move under us.
    member = Member.objects.select_for_update().get(pk=member_id)
    application = LoanApplication.objects.select_for_update(of=("self",)).select_related("product_version").get(pk=application_id)
    Fund.objects.select_for_update().get(pk=fund.pk)  # liquidity: one disbursement at a time per fund
    application_mark_disbursed(application=application, disbursed_by=disbursed_by)
    version = application.product_version
    amount = Decimal(application.amount.amount)
    settings_row = fund_settings_as_of(fund=fund, on=disbursed_on)

    cap = Decimal(settings_row.exposure_cap.amount)
    exposure = member_outstanding(member.pk) + Decimal(approved_undisbursed_total(member=member, exclude_application_id=application.pk)) + amount
    if exposure > cap:
        raise RuleViolation("exposure_cap_exceeded", f"The member's outstanding loans would reach {exposure} đồng, above the cap of {cap}.",
                            attr="amount")

    terms = schedule_terms_for(product_version=version, amount=amount, installments=application.installments,
                               disbursed_on=disbursed_on, first_due_on=application.first_due_on)
    schedule = build_schedule(terms)
    disclosure = price_disclosure(schedule)
    net = schedule.net_disbursed
    available = fund_liquidity(fund)
    if available < net:
        raise DomainError("insufficient_fund_liquidity", f"Cash and bank hold {available} đồng, the disbursement needs {net}.",
                          attr="amount", status=409)

    # Penalty never above the fund's cap (a multiple of the contractual rate).
    penalty_rate = min(Decimal(version.penalty_rate), Decimal(settings_row.max_penalty_multiple) * Decimal(version.annual_rate))
    loan = Loan(
        fund=fund, member=member, application=application, product_version=version, number=f"L{application.pk:07d}",
        principal_disbursed=amount, upfront_fee=schedule.upfront_fee, disbursed_on=disbursed_on, disbursement_method=method,
        annual_rate=version.annual_rate, penalty_rate=penalty_rate, installments_count=application.installments,
        apr=disclosure.apr, eir=disclosure.eir, disbursed_by=disbursed_by,
    )
    entry = LoanEntry(loan)
    entry.dr(chart.LOANS_CURRENT, amount).cr(METHOD_ACCOUNT[method], net).cr(chart.FEE_INCOME, schedule.upfront_fee)
    # The loan row needs the entry id and the subledger needs the loan id: save the loan inside
    # the same transaction with the entry posted first.
    from loanfund.services.ledger import Posting, journal_entry_post

    je = journal_entry_post(fund=fund, entry_date=disbursed_on, kind="disbursement",
                            lines=[Posting(a, s, amt) for a, s, amt, _, _ in entry.lines],
                            memo=f"Disbursement of application {application.pk}", source_type="loan_application",
                            source_id=application.pk, created_by=disbursed_by)
    loan.disbursement_entry = je
    loan.save()
    from ..posting import subledger_write

    subledger_write(loan, je, disbursed_on, [(a, s, amt, None, "disbursement") for a, s, amt, _, _ in entry.lines])
    Installment.objects.bulk_create(
        Installment(loan=loan, schedule_version=1, number=row.number, due_on=row.due_on, principal=row.principal,
                    interest=row.interest, savings=row.savings, settled_on=settled_at_creation(row))
        for row in schedule.installments
    )
    return loan
