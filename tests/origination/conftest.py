"""Origination fixtures: a grassroots union, members, products, and a helper that walks an
application through the API to a given state."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from borrowers.models import Member, UnionBranch
from borrowers.services import branch_create, member_register
from loanfund.models import LoanApplication
from loanfund.origination.products import product_create

_ids = itertools.count(1)


def today() -> date:
    return timezone.localdate()


@pytest.fixture
def branch(fund) -> UnionBranch:
    return branch_create(fund=fund, code="CD-MAY10", name="Công đoàn cơ sở Công ty May 10", employer="May 10")


@pytest.fixture
def make_member(fund, branch):
    def make(*, fund_=None, branch_=None, income=Decimal(8_000_000), **overrides) -> Member:
        f = fund_ or fund
        b = branch_ or (branch if f == fund else UnionBranch.objects.get_or_create(fund=f, code="B", defaults={"name": "B"})[0])
        values = {
            "national_id": f"{next(_ids):012d}",
            "full_name": "Nguyễn Thị Lan",
            "date_of_birth": date(1990, 5, 17),
            "gender": "female",
            "phone": "0912345678",
            "monthly_income": income,
            "household_size": 4,
            "household_status": "near_poor",
            "household_certificate_number": "HN-2024-001",
            "joined_union_on": today() - timedelta(days=800),
        }
        values.update(overrides)
        return member_register(fund=f, branch=b, **values)

    return make


@pytest.fixture
def member(make_member) -> Member:
    return make_member()


TERMS = {
    "min_amount": Decimal(2_000_000),
    "max_amount": Decimal(50_000_000),
    "min_installments": 3,
    "max_installments": 36,
    "frequency": "monthly",
    "interest_method": "annuity",
    "annual_rate": Decimal("0.072"),
    "penalty_rate": Decimal("0.108"),
    "rounding_multiple": 1000,
}


@pytest.fixture
def make_product(fund, staff):
    def make(*, fund_=None, code=None, **terms):
        f = fund_ or fund
        return product_create(fund=f, code=code or f"p{next(_ids)}", name="Vay vốn cải thiện đời sống", terms={**TERMS, **terms},
                              created_by=None, on=today())

    return make


@pytest.fixture
def product(make_product):
    return make_product(code="annuity-monthly")


def application_body(member, product, amount="20000000", installments=12, **extra) -> dict:
    return {"member": member.pk, "product": product.pk, "amount": amount, "currency": "VND", "installments": installments,
            "purpose": "Mua máy may", **extra}


APPRAISAL = {"endorsed_by": "Trần Văn Bình, chủ tịch CĐCS", "endorsed_on": "2025-01-10", "recommendation": "approve", "notes": "OK"}


@pytest.fixture
def walk(api, staff):
    """walk(member, product, to="approved", amount=...) -> application id, driven through the API."""

    def go(member, product, to: str = "approved", amount: str = "20000000", installments: int = 12, approver=None, appraiser=None):
        r = api(staff.officer).post("/api/v1/applications/", application_body(member, product, amount, installments), format="json")
        assert r.status_code == 201, r.json()
        app_id = r.json()["id"]
        steps = [("submitted", staff.officer, "submit", {}), ("appraised", appraiser or staff.officer, "appraise", APPRAISAL),
                 ("approved", approver or staff.approver, "approve", {"reason": "Đủ điều kiện"})]
        for state, user, verb, body in steps:
            if to == "draft":
                break
            r = api(user).post(f"/api/v1/applications/{app_id}/{verb}/", body, format="json")
            assert r.status_code == 200, r.json()
            assert r.json()["status"] == state
            if state == to:
                break
        return app_id

    return go


def snapshot() -> tuple:
    """Counts that must not move when a command is refused."""
    from loanfund.models import ApplicationEvent, Appraisal

    return (LoanApplication.objects.count(), tuple(LoanApplication.objects.order_by("pk").values_list("status", flat=True)),
            ApplicationEvent.objects.count(), Appraisal.objects.count(), Member.objects.count())
