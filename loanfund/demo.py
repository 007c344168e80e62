"""Demo data for the fund core: one fund, its capital and one login per role."""

from datetime import date
from decimal import Decimal

from loanfund import roles
from loanfund.models import Fund
from loanfund.services.fund import capital_receive, fund_create, staff_user_create

DEMO_PASSWORD = "demo-pass-2025"


def seed_fund() -> tuple[Fund, dict]:
    fund = fund_create(code="demo", name="Quỹ Trợ vốn CNVC-LĐ nghèo (demo)", province="Hà Nội")
    users = {role: staff_user_create(fund=fund, username=role, password=DEMO_PASSWORD, role_names=[role]) for role in roles.STAFF_ROLES}
    capital_receive(fund=fund, amount=Decimal(5_000_000_000), source="union_allocation", received_on=date(2024, 1, 2),
                    received_by=users[roles.DIRECTOR], note="Initial union allocation")
    capital_receive(fund=fund, amount=Decimal(1_000_000_000), source="donor", received_on=date(2024, 3, 1),
                    received_by=users[roles.DIRECTOR], note="Donor grant capital")
    return fund, users
