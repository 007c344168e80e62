"""Commands on grassroots unions and members: register, update, give a member a login."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from borrowers.models import Member, UnionBranch
from loanfund import roles
from loanfund.errors import DomainError, InvalidState
from loanfund.models import Fund, StaffProfile

BRANCH_FIELDS = ("name", "employer", "address", "contact_name", "contact_phone")
MEMBER_FIELDS = ("branch", "national_id", "full_name", "date_of_birth", "gender", "phone", "address", "employer", "monthly_income",
                 "household_size", "household_status", "household_certificate_number", "joined_union_on", "status")


@transaction.atomic
def branch_create(*, fund: Fund, code: str, name: str, **fields) -> UnionBranch:
    if UnionBranch.objects.filter(fund=fund, code=code).exists():
        raise DomainError("duplicate_code", "A grassroots union with this code exists in the fund.", attr="code", status=400)
    unknown = set(fields) - set(BRANCH_FIELDS)
    if unknown:
        raise DomainError("unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.", attr=sorted(unknown)[0], status=400)
    return UnionBranch.objects.create(fund=fund, code=code, name=name, **fields)


@transaction.atomic
def branch_update(*, branch: UnionBranch, changes: dict) -> UnionBranch:
    branch = UnionBranch.objects.select_for_update().get(pk=branch.pk)
    if "code" in changes and changes["code"] != branch.code:
        if UnionBranch.objects.filter(fund_id=branch.fund_id, code=changes["code"]).exists():
            raise DomainError("duplicate_code", "A grassroots union with this code exists in the fund.", attr="code", status=400)
    for name, value in changes.items():
        if name not in BRANCH_FIELDS + ("code",):
            raise DomainError("unknown_field", f"Unknown field {name}.", attr=name, status=400)
        setattr(branch, name, value)
    branch.save()
    return branch


def _check_branch(fund: Fund, branch: UnionBranch) -> None:
    if branch.fund_id != fund.pk:  # serializers scope choices already; a service called directly must not cross funds
        raise DomainError("does_not_exist", "No such grassroots union in this fund.", attr="branch", status=400)


@transaction.atomic
def member_register(*, fund: Fund, branch: UnionBranch, national_id: str, user=None, **fields) -> Member:
    """`user`: link an existing login (e.g. a staff user who is also a member, so that the
    four-eyes rules can see them); the API leaves it to grant-access and the admin."""
    _check_branch(fund, branch)
    if Member.objects.filter(fund=fund, national_id=national_id).exists():
        raise DomainError("duplicate_national_id", "A member with this national ID is registered in the fund.", attr="national_id",
                          status=400)
    unknown = set(fields) - set(MEMBER_FIELDS)
    if unknown:
        raise DomainError("unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.", attr=sorted(unknown)[0], status=400)
    return Member.objects.create(fund=fund, branch=branch, national_id=national_id, user=user, **fields)


@transaction.atomic
def member_update(*, member: Member, changes: dict) -> Member:
    member = Member.objects.select_for_update().get(pk=member.pk)
    if "branch" in changes:
        _check_branch(member.fund, changes["branch"])
    if "national_id" in changes and changes["national_id"] != member.national_id:
        if Member.objects.filter(fund_id=member.fund_id, national_id=changes["national_id"]).exists():
            raise DomainError("duplicate_national_id", "A member with this national ID is registered in the fund.",
                              attr="national_id", status=400)
    for name, value in changes.items():
        if name not in MEMBER_FIELDS:
            raise DomainError("unknown_field", f"Unknown field {name}.", attr=name, status=400)
        setattr(member, name, value)
    member.save()
    return member


def _member_username(member: Member) -> str:
    return f"{member.fund.code}-{member.national_id}"


@transaction.atomic
def member_grant_access(*, member: Member, granted_by) -> tuple[object, str]:
    """Create the member's login (group "member") or reset its password.

    Returns (user, password): the password is shown once, only its hash is kept. A member record
    linked to a STAFF login (the self-lending guard) is refused: that login is not reset here.
    """
    member = Member.objects.select_for_update(of=("self",)).select_related("fund", "user").get(pk=member.pk)
    if member.status != Member.Status.ACTIVE:
        raise InvalidState(f"A member who has {member.get_status_display().lower()} gets no login.", attr="status")
    User = get_user_model()
    password = secrets.token_urlsafe(12)
    user = member.user
    if user is not None and StaffProfile.objects.filter(user=user).exists():
        raise InvalidState("This member record is linked to a staff login; reset it as staff, not here.", attr="user")
    if user is None:
        username = _member_username(member)
        user = User.objects.filter(username=username).first()
        if user is not None and (StaffProfile.objects.filter(user=user).exists() or Member.objects.filter(user=user).exists()):
            raise DomainError("username_taken", f"The login {username} belongs to someone else.", attr="username", status=409)
        if user is None:
            user = User.objects.create_user(username=username, password=password, first_name=member.full_name[:150])
        member.user = user
        member.save(update_fields=["user", "updated_at"])
    user.set_password(password)
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    group, _ = Group.objects.get_or_create(name=roles.MEMBER)
    user.groups.add(group)
    return user, password
