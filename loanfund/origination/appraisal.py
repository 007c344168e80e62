"""The appraisal checks: each one's figures and pass/fail, in the order they run.

Pure reads (the caller holds whatever locks it needs). Every regulatory figure comes from the
fund's dated settings or the product version, never a literal here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from borrowers.models import Member
from loanfund.exposure import member_exposure
from loanfund.models import LoanApplication
from loanfund.money import ratio, to_dong
from loanfund.origination.pricing import PERIODS_PER_YEAR, offer_for
from loanfund.origination.selectors import approved_undisbursed_total
from loanfund.selectors.fund import fund_settings_as_of

NOT_ELIGIBLE = "not_eligible"
EXPOSURE_CAP_EXCEEDED = "exposure_cap_exceeded"
REPAYMENT_CAPACITY_EXCEEDED = "repayment_capacity_exceeded"


@dataclass
class Check:
    name: str
    passed: bool
    code: str  # the API.md error code a failure is reported with
    attr: str
    detail: str
    figures: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "code": None if self.passed else self.code, "attr": self.attr,
                "detail": self.detail, "figures": self.figures}


@dataclass
class CheckResult:
    checks: list[Check]
    largest_installment: Decimal
    exposure_after: Decimal

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


def _s(value) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def age_on(born: date, on: date) -> int:
    return relativedelta(on, born).years


def eligibility_checks(*, member: Member, terms, amount: Decimal, installments: int, on: date) -> list[Check]:
    """Checks on who borrows and what is asked, shared by creation, appraisal and approval."""
    months = relativedelta(on, member.joined_union_on)
    membership_months = months.years * 12 + months.months
    age = age_on(member.date_of_birth, on)
    min_amount, max_amount = terms.min_amount.amount, terms.max_amount.amount
    return [
        Check("member_active", member.status == Member.Status.ACTIVE, NOT_ELIGIBLE, "member",
              "The member is active in the union (not left, not deceased).", {"status": member.status}),
        Check("adult", age >= terms.min_age, NOT_ELIGIBLE, "member", f"The member is at least {terms.min_age} on the application date.",
              {"age": age, "min_age": terms.min_age}),
        Check("household_status", member.household_status in terms.eligible_household_statuses, NOT_ELIGIBLE, "member",
              "The member's household status is one the product lends to.",
              {"household_status": member.household_status, "eligible": list(terms.eligible_household_statuses),
               "certificate_number": member.household_certificate_number}),
        Check("membership_length", membership_months >= terms.min_membership_months, NOT_ELIGIBLE, "member",
              f"Union membership of at least {terms.min_membership_months} months.",
              {"joined_union_on": member.joined_union_on.isoformat(), "months": membership_months,
               "min_months": terms.min_membership_months}),
        Check("amount_within_product", min_amount <= amount <= max_amount, NOT_ELIGIBLE, "amount",
              "The amount is within the product's range.", {"amount": _s(amount), "min": _s(min_amount), "max": _s(max_amount)}),
        Check("term_within_product", terms.min_installments <= installments <= terms.max_installments, NOT_ELIGIBLE, "installments",
              "The number of installments is within the product's range.",
              {"installments": installments, "min": terms.min_installments, "max": terms.max_installments}),
    ]


def run_checks(*, application: LoanApplication, member: Member, on: date) -> CheckResult:
    """Every appraisal check on the figures as of `on` (also re-run at approval, member locked)."""
    terms = application.product_version
    amount = application.amount.amount
    settings = fund_settings_as_of(fund=application.fund, on=on)
    checks = eligibility_checks(member=member, terms=terms, amount=amount, installments=application.installments, on=on)

    exposure = member_exposure([member.pk], on)[member.pk]
    promised = approved_undisbursed_total(member=member, exclude_application_id=application.pk, on=on)
    cap = settings.exposure_cap.amount
    exposure_after = exposure.outstanding_principal + promised + amount
    checks.append(Check(
        "exposure_cap", exposure_after <= cap, EXPOSURE_CAP_EXCEEDED, "amount",
        "Outstanding principal + approved-not-disbursed + this amount ≤ the fund's exposure cap.",
        {"outstanding_principal": _s(exposure.outstanding_principal), "approved_not_disbursed": _s(promised), "amount": _s(amount),
         "total": _s(exposure_after), "cap": _s(cap)}))

    checks.append(Check(
        "no_arrears", exposure.max_days_past_due <= settings.arrears_tolerance_days, NOT_ELIGIBLE, "member",
        "No loan of the member is past due more than the fund's tolerance.",
        {"max_days_past_due": exposure.max_days_past_due, "tolerance_days": settings.arrears_tolerance_days}))

    # Repayment capacity: the largest payment (installment + compulsory savings) brought to a monthly
    # figure (× periods per year / 12), over the member's monthly income.
    first_due_on = application.first_due_on if application.first_due_on and application.first_due_on > on else None
    offer = offer_for(product_version=terms, amount=amount, installments=application.installments, disbursed_on=on,
                      first_due_on=first_due_on)
    largest = max((row.total + row.savings for row in offer.installments), default=Decimal(0))
    monthly_burden = largest * PERIODS_PER_YEAR[terms.frequency] / 12
    income = member.monthly_income.amount
    limit = settings.max_installment_to_income
    capacity_ratio = ratio(monthly_burden, income) if income else None
    checks.append(Check(
        "repayment_capacity", capacity_ratio is not None and capacity_ratio <= limit, REPAYMENT_CAPACITY_EXCEEDED, "amount",
        "Largest installment (with savings, as a monthly figure) ÷ monthly income ≤ the fund's ratio.",
        {"largest_installment": _s(largest), "monthly_equivalent": _s(to_dong(monthly_burden)), "monthly_income": _s(income),
         "ratio": None if capacity_ratio is None else _s(capacity_ratio), "max_ratio": _s(limit)}))
    return CheckResult(checks=checks, largest_installment=largest, exposure_after=exposure_after)
