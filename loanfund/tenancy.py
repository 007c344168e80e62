"""Fund scoping and roles, in one place, so that no endpoint can leak another fund's data.

A staff user belongs to exactly one fund (StaffProfile). A member user belongs to the fund of
their member record (borrowers.Member.user, reverse accessor `member_profile`).
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from loanfund import roles
from loanfund.models import Fund


def user_roles(user) -> frozenset[str]:
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_loanfund_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._loanfund_roles = cached
    return cached


def fund_of(user) -> Fund | None:
    """The one fund this user works in or borrows from; None for a user bound to none."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_loanfund_fund", False)
    if cached is not False:
        return cached
    fund = None
    profile = getattr(user, "staff_profile", None) if hasattr(user, "staff_profile") else None
    if profile is not None:
        fund = profile.fund
    else:
        member = getattr(user, "member_profile", None) if hasattr(user, "member_profile") else None
        if member is not None:
            fund = member.fund
    user._loanfund_fund = fund
    return fund


def user_scope_set(user, *, fund: Fund | None, roles) -> None:
    """Record the user's fund and roles when a read has already fetched them with something else
    (e.g. a member's request: repayments.selectors), so that fund_of and user_roles need no query."""
    user._loanfund_fund = fund
    user._loanfund_roles = frozenset(roles)


def is_staff_of_fund(user) -> bool:
    return bool(user_roles(user) & set(roles.STAFF_ROLES)) and hasattr(user, "staff_profile")
