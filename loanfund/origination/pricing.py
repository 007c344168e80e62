"""The ONE mapping from a product version to schedule terms, and the offer the member would sign.

The preview (origination) and the stored schedule (servicing) both price through
`schedule_terms_for`, so what the member signed is what servicing stores. The math itself is the
pure `repayments.schedule` module (Django-free; importing it is allowed by ARCHITECTURE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from loanfund.errors import DomainError
from repayments.schedule import PERIODS_PER_YEAR, Installment, ScheduleTerms, build_schedule, price_disclosure

__all__ = ["PERIODS_PER_YEAR", "Offer", "offer_for", "schedule_terms_for"]


def schedule_terms_for(*, product_version, amount, installments: int, disbursed_on: date, first_due_on: date | None = None) -> ScheduleTerms:
    principal = Decimal(getattr(amount, "amount", amount))
    return ScheduleTerms(
        principal=principal,
        annual_rate=Decimal(product_version.annual_rate),
        installments=int(installments),
        frequency=product_version.frequency,
        method=product_version.interest_method,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
        grace=int(product_version.grace_installments),
        multiple=int(product_version.rounding_multiple),
        savings_rate=Decimal(product_version.savings_rate),
        upfront_fee_rate=Decimal(product_version.upfront_fee_rate),
    )


@dataclass(frozen=True)
class Offer:
    installments: tuple[Installment, ...]
    total_principal: Decimal
    total_interest: Decimal
    total_savings: Decimal
    total_payable: Decimal
    upfront_fee: Decimal
    net_disbursed: Decimal
    apr: Decimal
    eir: Decimal


def offer_for(*, product_version, amount, installments: int, disbursed_on: date, first_due_on: date | None = None) -> Offer:
    """The schedule, its totals, APR and EIR (percent, two decimals) for a loan on these terms."""
    terms = schedule_terms_for(product_version=product_version, amount=amount, installments=installments, disbursed_on=disbursed_on,
                               first_due_on=first_due_on)
    try:
        schedule = build_schedule(terms)
    except ValueError as exc:  # terms the product allowed but the math refuses: a 400, never a 500
        raise DomainError("invalid_terms", str(exc), attr="installments", status=400) from exc
    disclosure = price_disclosure(schedule)
    return Offer(
        installments=schedule.installments,
        total_principal=schedule.total_principal,
        total_interest=schedule.total_interest,
        total_savings=schedule.total_savings,
        total_payable=schedule.total_payable,
        upfront_fee=schedule.upfront_fee,
        net_disbursed=schedule.net_disbursed,
        apr=disclosure.apr,
        eir=disclosure.eir,
    )
