"""Commands on the fund core: creating a fund, its staff, its settings and its capital."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from loanfund import chart, roles
from loanfund.errors import DomainError
from loanfund.models import CapitalContribution, Fund, FundSettings, StaffProfile
from loanfund.services.ledger import chart_of_accounts_create, credit, debit, journal_entry_post

# The first settings row covers everything before any later change, so that loans migrated from
# spreadsheets with past dates are judged by the fund's figures too.
SETTINGS_EPOCH = date(2000, 1, 1)


@transaction.atomic
def fund_create(*, code: str, name: str, kind: str = Fund.Kind.PROGRAM, province: str = "", **settings_overrides) -> Fund:
    fund = Fund.objects.create(code=code, name=name, kind=kind, province=province)
    chart_of_accounts_create(fund=fund)
    FundSettings.objects.create(fund=fund, effective_from=SETTINGS_EPOCH, **settings_overrides)
    roles_ensure()
    return fund


PROJECT_APPS = ("loanfund", "borrowers", "repayments", "compliance")


def roles_ensure() -> None:
    """The role groups exist; staff roles may VIEW every project model in the admin (changes go
    through the API's services, which enforce the rules)."""
    from django.contrib.auth.models import Permission

    view = Permission.objects.filter(content_type__app_label__in=PROJECT_APPS, codename__startswith="view_")
    for name in roles.ALL_ROLES:
        group, created = Group.objects.get_or_create(name=name)
        if name in roles.STAFF_ROLES and (created or group.permissions.count() < view.count()):
            group.permissions.add(*view)


@transaction.atomic
def staff_user_create(*, fund: Fund, username: str, password: str, role_names: list[str] | tuple[str, ...], email: str = "",
                      first_name: str = "", last_name: str = ""):
    unknown = set(role_names) - set(roles.STAFF_ROLES)
    if unknown or not role_names:
        raise DomainError("invalid_role", f"Staff roles are {', '.join(roles.STAFF_ROLES)}.", attr="role", status=400)
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise DomainError("username_taken", "That username is taken.", attr="username", status=400)
    user = User.objects.create_user(username=username, password=password, email=email, first_name=first_name, last_name=last_name)
    # Django's is_staff opens the admin; fund scoping still applies there through StaffProfile.
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    StaffProfile.objects.create(user=user, fund=fund)
    roles_ensure()
    user.groups.set(Group.objects.filter(name__in=role_names))
    return user


SETTINGS_FIELDS = [
    f.name
    for f in FundSettings._meta.get_fields()
    if getattr(f, "concrete", False) and f.name not in {"id", "fund", "effective_from", "created_by", "created_at", "exposure_cap_currency"}
]


@transaction.atomic
def fund_settings_update(*, fund: Fund, effective_from: date, changes: dict, changed_by) -> FundSettings:
    """A new dated settings row: earlier rows stay as they were (history is the table itself)."""
    from loanfund.selectors.fund import fund_settings_as_of

    Fund.objects.select_for_update().get(pk=fund.pk)
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise DomainError("unknown_setting", f"Unknown setting(s): {', '.join(sorted(unknown))}.", attr=sorted(unknown)[0], status=400)
    current = fund_settings_as_of(fund=fund, on=effective_from)
    values = {name: getattr(current, name) for name in SETTINGS_FIELDS}
    values.update(changes)
    days = [values[f"group{g}_from_days"] for g in (2, 3, 4, 5)]
    if days != sorted(days) or len(set(days)) != 4:
        raise DomainError("invalid_thresholds", "Classification thresholds must increase from group 2 to group 5.", attr="group2_from_days", status=400)
    row, _ = FundSettings.objects.update_or_create(
        fund=fund, effective_from=effective_from, defaults={**values, "created_by": changed_by}
    )
    return row


@transaction.atomic
def capital_receive(*, fund: Fund, amount: Decimal, source: str, received_on: date, note: str = "", received_by,
                    into_account: str = chart.BANK) -> CapitalContribution:
    """Capital received (union allocation, donor, other): Dr cash/bank, Cr capital by source."""
    if source not in chart.CAPITAL_BY_SOURCE:
        raise DomainError("invalid_source", f"Source is one of {', '.join(chart.CAPITAL_BY_SOURCE)}.", attr="source", status=400)
    if amount <= 0:
        raise DomainError("invalid_amount", "Amount must be positive.", attr="amount", status=400)
    entry = journal_entry_post(
        fund=fund,
        entry_date=received_on,
        kind="capital",
        lines=[debit(into_account, amount), credit(chart.CAPITAL_BY_SOURCE[source], amount)],
        memo=f"Capital received from {source}. {note}".strip(),
        source_type="capital",
        created_by=received_by,
    )
    return CapitalContribution.objects.create(
        fund=fund, amount=amount, source=source, received_on=received_on, note=note, journal_entry=entry, created_by=received_by
    )
