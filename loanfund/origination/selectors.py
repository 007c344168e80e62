"""Reads for origination: N+1-free lists and the figures appraisal and approval need."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from loanfund.models import ApproverLimit, Fund, LoanApplication, LoanProduct, LoanProductVersion


def approved_undisbursed_total(*, member, exclude_application_id=None, on: date | None = None) -> Decimal:
    """Approved, still valid, not yet disbursed: money the fund has promised the member."""
    on = on or timezone.localdate()
    qs = LoanApplication.objects.filter(member=member, status=LoanApplication.Status.APPROVED, approved_until__gte=on)
    if exclude_application_id is not None:
        qs = qs.exclude(pk=exclude_application_id)
    return qs.aggregate(total=Sum("amount"))["total"] or Decimal(0)


def product_list(*, fund: Fund) -> QuerySet[LoanProduct]:
    return LoanProduct.objects.filter(fund=fund).prefetch_related(
        Prefetch("versions", queryset=LoanProductVersion.objects.order_by("-version"))
    ).order_by("code")


def application_list(*, fund: Fund) -> QuerySet[LoanApplication]:
    return (
        LoanApplication.objects.filter(fund=fund)
        .select_related("member__branch", "product_version__product", "appraisal__appraised_by", "created_by")
        .prefetch_related("events__actor")
        .order_by("-created_at", "-id")
    )


def approver_limit_list(*, fund: Fund) -> QuerySet[ApproverLimit]:
    return ApproverLimit.objects.filter(fund=fund).select_related("user", "created_by").order_by("user__username", "-effective_from")
