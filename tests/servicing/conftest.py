"""Servicing fixtures: a product, a member with an approved application, and a disbursed loan."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from borrowers.models import Member, UnionBranch
from loanfund import roles
from loanfund.models import LoanApplication, LoanProduct, LoanProductVersion
from repayments.services import loan_disburse

_seq = itertools.count(1)

PRODUCTS = {
    "weekly_flat": dict(frequency="weekly", interest_method="flat", annual_rate=Decimal("0.072"), penalty_rate=Decimal("0.108"),
                        rounding_multiple=1000, savings_rate=Decimal("0.0025"), upfront_fee_rate=Decimal("0.01"), prepayment_policy="reduce_term"),
    "monthly_annuity": dict(frequency="monthly", interest_method="annuity", annual_rate=Decimal("0.078"), penalty_rate=Decimal("0.117"),
                            rounding_multiple=1000, savings_rate=Decimal(0), upfront_fee_rate=Decimal(0), prepayment_policy="reduce_installment"),
    "monthly_equal": dict(frequency="monthly", interest_method="equal_principal", annual_rate=Decimal("0.066"), penalty_rate=Decimal("0.099"),
                          rounding_multiple=1, savings_rate=Decimal("0.01"), upfront_fee_rate=Decimal(0), prepayment_policy="reduce_term"),
}


@pytest.fixture
def make_product(db):
    def make(fund, kind="weekly_flat", **overrides):
        code = f"p{next(_seq)}"
        product = LoanProduct.objects.create(fund=fund, code=code, name=code)
        terms = {**PRODUCTS[kind], **overrides}
        return LoanProductVersion.objects.create(product=product, version=1, min_amount=Decimal(1_000_000), max_amount=Decimal(50_000_000),
                                                 min_installments=1, max_installments=200, **terms)

    return make


@pytest.fixture
def make_member(db):
    def make(fund, *, user=None):
        n = next(_seq)
        branch, _ = UnionBranch.objects.get_or_create(fund=fund, code="cd1", defaults={"name": "Công đoàn cơ sở 1"})
        return Member.objects.create(fund=fund, branch=branch, user=user, national_id=f"{n:012d}", full_name=f"Nguyễn Văn {n}",
                                     date_of_birth=date(1985, 1, 1), monthly_income=Decimal(9_000_000), household_status="near_poor",
                                     joined_union_on=date(2015, 1, 1))

    return make


@pytest.fixture
def make_application(make_product, make_member):
    def make(fund, created_by, *, kind="weekly_flat", amount=10_000_000, installments=52, member=None, version=None, first_due_on=None,
             **product_overrides):
        version = version or make_product(fund, kind, **product_overrides)
        member = member or make_member(fund)
        return LoanApplication.objects.create(
            fund=fund, member=member, product_version=version, amount=Decimal(amount), installments=installments, purpose="Chăn nuôi",
            status=LoanApplication.Status.APPROVED, approved_until=timezone.localdate() + timedelta(days=30), created_by=created_by,
            first_due_on=first_due_on)

    return make


@pytest.fixture
def make_loan(make_application, staff):
    def make(fund=None, *, disbursed_on=date(2025, 1, 6), method="bank", **kwargs):
        fund = fund or staff.accountant.staff_profile.fund
        application = make_application(fund, staff.officer, **kwargs)
        return loan_disburse(fund=fund, application_id=application.pk, disbursed_on=disbursed_on, method=method,
                             disbursed_by=staff.accountant)

    return make


@pytest.fixture
def member_user(db):
    """member_user(member) -> a login bound to that member with the member role."""

    def make(member):
        user = get_user_model().objects.create_user(username=f"member{next(_seq)}", password="secret-pass-123")
        user.groups.add(Group.objects.get_or_create(name=roles.MEMBER)[0])
        Member.objects.filter(pk=member.pk).update(user=user)
        member.user = user
        return user

    return make
