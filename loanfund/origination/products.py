"""Commands on loan products (versioned) and approvers' amount limits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Max

from borrowers.models import Member
from loanfund import roles
from loanfund.errors import DomainError
from loanfund.models import ApproverLimit, Fund, LoanProduct, LoanProductVersion
from loanfund.selectors.fund import fund_settings_as_of

# The priced terms: changing any of them creates a new version; name and is_active live on the product.
TERM_FIELDS = ("min_amount", "max_amount", "min_installments", "max_installments", "frequency", "interest_method", "annual_rate",
               "penalty_rate", "grace_installments", "rounding_multiple", "upfront_fee_rate", "savings_rate", "allocation_order",
               "prepayment_policy", "eligible_household_statuses", "min_membership_months", "min_age")
COMPONENTS = ("penalty", "interest", "principal")


def _bad(code: str, detail: str, attr: str) -> DomainError:
    return DomainError(code, detail, attr=attr, status=400)


def _validate_terms(*, fund: Fund, terms: dict, on: date) -> None:
    if terms["min_amount"] <= 0 or terms["max_amount"] < terms["min_amount"]:
        raise _bad("invalid_range", "0 < min_amount ≤ max_amount.", "max_amount")
    if terms["min_installments"] < 1 or terms["max_installments"] < terms["min_installments"]:
        raise _bad("invalid_range", "1 ≤ min_installments ≤ max_installments.", "max_installments")
    if terms["grace_installments"] >= terms["min_installments"]:
        raise _bad("invalid_range", "Grace installments must be fewer than the minimum number of installments.", "grace_installments")
    if int(terms["rounding_multiple"]) not in (1, 100, 1000):
        raise _bad("invalid_choice", "The rounding multiple is 1, 100 or 1000 đồng.", "rounding_multiple")
    for name in ("annual_rate", "penalty_rate", "upfront_fee_rate", "savings_rate"):
        if not Decimal(0) <= terms[name] < Decimal(1):
            raise _bad("invalid_rate", "A rate is a fraction between 0 and 1 (0.072 = 7.2 %).", name)
    order = list(terms["allocation_order"])
    if sorted(order) != sorted(COMPONENTS):
        raise _bad("invalid_allocation_order", f"The allocation order lists each of {', '.join(COMPONENTS)} once.", "allocation_order")
    statuses = list(terms["eligible_household_statuses"])
    if not statuses or set(statuses) - set(Member.HouseholdStatus.values) or len(set(statuses)) != len(statuses):
        raise _bad("invalid_choice", f"Eligible household statuses: a non-empty subset of {', '.join(Member.HouseholdStatus.values)}.",
                   "eligible_household_statuses")
    # Penalty interest ≤ the fund's multiple (150 %) of the contractual rate (DOMAIN.md).
    multiple = fund_settings_as_of(fund=fund, on=on).max_penalty_multiple
    if terms["penalty_rate"] > terms["annual_rate"] * multiple:
        raise _bad("penalty_rate_too_high",
                   f"The penalty rate may not exceed {multiple * 100:.0f} % of the annual rate ({terms['annual_rate'] * multiple:.6f}).",
                   "penalty_rate")


def _new_version(*, product: LoanProduct, terms: dict, created_by, on: date) -> LoanProductVersion:
    _validate_terms(fund=product.fund, terms=terms, on=on)
    number = (product.versions.aggregate(n=Max("version"))["n"] or 0) + 1
    return LoanProductVersion.objects.create(product=product, version=number, created_by=created_by, **terms)


@transaction.atomic
def product_create(*, fund: Fund, code: str, name: str, terms: dict, created_by, is_active: bool = True, on: date) -> LoanProduct:
    if LoanProduct.objects.filter(fund=fund, code=code).exists():
        raise _bad("duplicate_code", "A product with this code exists in the fund.", "code")
    missing = [f for f in ("min_amount", "max_amount", "min_installments", "max_installments", "frequency", "interest_method",
                           "annual_rate") if f not in terms]
    if missing:
        raise _bad("required", "This field is required.", missing[0])
    defaults = {f.name: f.get_default() for f in LoanProductVersion._meta.concrete_fields if f.name in TERM_FIELDS}
    product = LoanProduct.objects.create(fund=fund, code=code, name=name, is_active=is_active)
    _new_version(product=product, terms={**defaults, **terms}, created_by=created_by, on=on)
    return product


@transaction.atomic
def product_update(*, product: LoanProduct, changes: dict, changed_by, on: date) -> LoanProduct:
    """Name and is_active change the product; any priced term creates a new version, so that an
    application or loan already priced on the old one never changes."""
    product = LoanProduct.objects.select_for_update().get(pk=product.pk)
    for name in ("name", "is_active"):
        if name in changes:
            setattr(product, name, changes.pop(name))
    product.save()
    unknown = set(changes) - set(TERM_FIELDS)
    if unknown:
        raise _bad("unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.", sorted(unknown)[0])
    current = product.current_version
    terms = {name: getattr(current, name) for name in TERM_FIELDS}
    terms["min_amount"], terms["max_amount"] = current.min_amount.amount, current.max_amount.amount
    if any(terms[name] != value for name, value in changes.items()):
        _new_version(product=product, terms={**terms, **changes}, created_by=changed_by, on=on)
    return product


@transaction.atomic
def approver_limit_set(*, fund: Fund, user, max_amount: Decimal, effective_from: date, set_by) -> ApproverLimit:
    """A new dated limit for an approver (the table keeps every earlier one)."""
    profile = getattr(user, "staff_profile", None)
    if profile is None or profile.fund_id != fund.pk or not user.groups.filter(name=roles.APPROVER).exists():
        raise _bad("not_an_approver", "Limits are set for approvers of this fund.", "user")
    if max_amount <= 0:
        raise _bad("zero_amount", "A limit is a positive amount.", "max_amount")
    row, _ = ApproverLimit.objects.update_or_create(fund=fund, user=user, effective_from=effective_from,
                                                    defaults={"max_amount": max_amount, "created_by": set_by})
    return row


def approver_limit_as_of(*, fund: Fund, user, on: date) -> Decimal | None:
    """The approver's limit in force on a date; None when none was ever set (no personal limit)."""
    row = ApproverLimit.objects.filter(fund=fund, user=user, effective_from__lte=on).order_by("-effective_from").first()
    return None if row is None else row.max_amount.amount
