"""The audit trail (django-simple-history) through loanfund.history: the history manager's class
is made once per model, and each instance's history is still its own."""

from datetime import date
from decimal import Decimal

import pytest

from borrowers.models import Member
from repayments.models import Loan, Repayment
from repayments.services import repayment_post

pytestmark = pytest.mark.django_db


def test_the_history_manager_class_is_made_once_per_model():
    assert type(Repayment.history) is type(Repayment.history)
    assert type(Member.history) is type(Member.history)
    assert Repayment.history.model is not Member.history.model
    assert Repayment.history.model.instance_type is Repayment and Member.history.model.instance_type is Member


def test_each_repayment_has_its_own_history_with_the_officer_who_posted_it(staff, fund, make_loan):
    first, second = make_loan(), make_loan()
    paid = [repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(100_000), paid_on=date(2025, 1, 13), reference=f"H-{k}",
                           channel="cash", posted_by=staff.officer) for k, loan in enumerate((first, second))]
    for repayment in paid:
        records = list(repayment.history.all())
        assert [(r.id, r.history_type, r.reference, r.history_user_id) for r in records] == [
            (repayment.pk, "+", repayment.reference, staff.officer.pk)]
    assert Repayment.history.filter(reference__startswith="H-").count() == 2
    assert Loan.history.filter(id=first.pk).exists()
