"""Demo data for origination: products of every method and frequency, applications in every state.

Applications go through the real services (checks, four eyes), so the demo shows real appraisals.
`seed_origination` returns the approved applications so that servicing's demo can disburse them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from loanfund import roles
from loanfund.models import LoanApplication, LoanProduct
from loanfund.origination.products import approver_limit_set, product_create
from loanfund.origination.services import (
    application_appraise,
    application_approve,
    application_create,
    application_reject,
    application_submit,
    application_withdraw,
    applications_expire,
)

D = Decimal
PRODUCTS = [
    # code, name, terms
    ("cep-tuan", "Vay tuần (CEP), lãi phẳng", dict(min_amount=D(2_000_000), max_amount=D(30_000_000), min_installments=10,
     max_installments=156, frequency="weekly", interest_method="flat", annual_rate=D("0.072"), penalty_rate=D("0.108"),
     rounding_multiple=1000, savings_rate=D("0.0025"), eligible_household_statuses=["poor", "near_poor", "newly_escaped_poverty", "low_income"])),
    ("hp-thang", "Vay tháng, dư nợ giảm dần (góp đều)", dict(min_amount=D(2_000_000), max_amount=D(50_000_000), min_installments=1,
     max_installments=36, frequency="monthly", interest_method="annuity", annual_rate=D("0.072"), penalty_rate=D("0.108"),
     rounding_multiple=1000, min_membership_months=6)),
    ("ld-thang", "Vay tháng, gốc đều (Lâm Đồng)", dict(min_amount=D(10_000_000), max_amount=D(30_000_000), min_installments=3,
     max_installments=24, frequency="monthly", interest_method="equal_principal", annual_rate=D("0.054"), penalty_rate=D("0.081"),
     rounding_multiple=1000)),
    ("hai-tuan", "Vay 2 tuần, lãi phẳng, có phí", dict(min_amount=D(2_000_000), max_amount=D(20_000_000), min_installments=6,
     max_installments=78, frequency="biweekly", interest_method="flat", annual_rate=D("0.084"), penalty_rate=D("0.12"), rounding_multiple=100,
     upfront_fee_rate=D("0.01"), savings_rate=D("0.005"))),
    ("bon-tuan", "Vay 4 tuần, góp đều, ân hạn 1 kỳ", dict(min_amount=D(5_000_000), max_amount=D(30_000_000), min_installments=6,
     max_installments=39, frequency="fourweekly", interest_method="annuity", annual_rate=D("0.078"), penalty_rate=D("0.117"),
     rounding_multiple=1000, grace_installments=1)),
]
ENDORSEMENT = {"endorsed_by": "Chủ tịch Công đoàn cơ sở", "recommendation": "approve"}


def seed_products(*, fund, director) -> dict[str, LoanProduct]:
    today = timezone.localdate()
    return {code: product_create(fund=fund, code=code, name=name, terms=terms, created_by=director, on=today) for code, name, terms in PRODUCTS}


def seed_origination(*, fund, users: dict, members: list, approved: int = 12) -> dict[str, list[LoanApplication]]:
    """Products, an approver limit, and applications in every origination state.

    Returns {"approved": [...], "draft": [...], ...}; the approved ones are valid for the fund's
    validity days and ready for servicing to disburse.
    """
    officer, approver, director = users[roles.OFFICER], users[roles.APPROVER], users[roles.DIRECTOR]
    products = seed_products(fund=fund, director=director)
    today = timezone.localdate()
    approver_limit_set(fund=fund, user=approver, max_amount=D(30_000_000), effective_from=today - timedelta(days=365), set_by=director)
    plan = [("cep-tuan", D(10_000_000), 50), ("hp-thang", D(20_000_000), 12), ("ld-thang", D(15_000_000), 12),
            ("hai-tuan", D(6_000_000), 26), ("bon-tuan", D(12_000_000), 13)]
    active = [m for m in members if m.status == "active"]
    out: dict[str, list[LoanApplication]] = {s: [] for s in LoanApplication.Status.values}

    def new(i: int, to: str) -> LoanApplication:
        code, amount, installments = plan[i % len(plan)]
        eligible = products[code].current_version.eligible_household_statuses
        member = next(m for m in active[i % len(active):] + active if m.household_status in eligible)
        app = application_create(fund=fund, member=member, product=products[code], amount=amount, installments=installments,
                                 purpose="Chăn nuôi, buôn bán nhỏ, sửa nhà", created_by=officer)
        if to == "draft":
            return app
        app = application_submit(application=app, submitted_by=officer)
        if to == "submitted":
            return app
        app = application_appraise(application=app, appraised_by=officer, endorsed_on=today - timedelta(days=3),
                                   notes="Thu nhập ổn định, công đoàn bảo lãnh.", **ENDORSEMENT)
        if to == "appraised":
            return app
        return application_approve(application=app, approved_by=approver, reason="Đủ điều kiện theo quy chế quỹ.")

    i = 0
    for state, count in (("approved", approved), ("draft", 2), ("submitted", 2), ("appraised", 2)):
        for _ in range(count):
            out[state].append(new(i, state))
            i += 1
    rejected = application_reject(application=new(i, "appraised"), rejected_by=approver, reason="Mục đích vay chưa rõ.")
    withdrawn = application_withdraw(application=new(i + 1, "submitted"), withdrawn_by=officer, reason="Thành viên không có nhu cầu nữa.")
    # An approval granted long ago: its validity ran out, so the expiry job marks it expired.
    stale = new(i + 2, "approved")
    LoanApplication.objects.filter(pk=stale.pk).update(approved_until=today - timedelta(days=1))
    applications_expire(as_of=today, fund=fund)
    out["rejected"].append(rejected)
    out["withdrawn"].append(withdrawn)
    out["expired"].append(LoanApplication.objects.get(pk=stale.pk))
    return out
