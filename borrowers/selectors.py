"""Reads of grassroots unions and members, cut to one fund, N+1-free."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from borrowers.models import Member, UnionBranch
from loanfund.models import Fund


def branch_list(*, fund: Fund) -> QuerySet[UnionBranch]:
    return UnionBranch.objects.filter(fund=fund).annotate(
        member_count=Count("members", filter=Q(members__status=Member.Status.ACTIVE))
    ).order_by("code")


def member_list(*, fund: Fund) -> QuerySet[Member]:
    return Member.objects.filter(fund=fund).select_related("branch").order_by("full_name", "id")
