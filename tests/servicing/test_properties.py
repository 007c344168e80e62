"""Property tests over random repayment histories (amounts, dates, entry order, reversals)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loanfund import chart
from loanfund.selectors.ledger import account_balance
from repayments import cob
from repayments.models import Allocation, Loan, Repayment
from repayments.selectors import loan_state, payoff_quote
from repayments.services import repayment_post, repayment_reverse

from .helpers import assert_sound, days

pytestmark = pytest.mark.django_db

START = date(2025, 1, 6)

payments = st.lists(st.tuples(st.integers(0, 90), st.integers(1, 600_000)), min_size=1, max_size=6)


def check_invariants(loan: Loan) -> None:
    state = loan_state(loan)
    for i in state.installments:
        assert 0 <= i.principal_paid <= i.principal
        assert 0 <= i.interest_paid <= i.interest
        assert 0 <= i.savings_paid <= i.savings
        assert i.penalty_balance >= 0
    for r in Repayment.objects.filter(loan=loan):
        # Cash allocated: payment rows and the reversals of payment rows (not waived future interest).
        rows = Allocation.objects.filter(repayment=r).filter(Q(kind="payment") | Q(kind="reversal", reverses__kind="payment"))
        live = sum((a.amount.amount for a in rows), Decimal(0))
        assert live == (r.amount.amount if r.status == "posted" else 0)
    assert state.principal_outstanding == sum((i.principal - i.principal_paid for i in state.installments), Decimal(0))
    assert_sound(loan.fund)


def settle_state(loan: Loan):
    return [(i.id, i.principal_paid, i.interest_paid, i.savings_paid) for i in loan_state(loan).installments], \
        loan_state(loan).principal_outstanding, loan_state(loan).savings_balance


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=payments, order=st.randoms(use_true_random=False), cob_every=st.sampled_from([0, 15, 30]), reverse_mask=st.lists(st.booleans(), min_size=6, max_size=6))
def test_random_histories_keep_the_books_and_reversing_everything_restores_the_loan(staff, fund, make_loan, history, order, cob_every, reverse_mask):
    with transaction.atomic():
        loan = make_loan()
        initial = settle_state(loan)
        if cob_every:
            for n in range(0, 100, cob_every):
                cob.close_of_business(fund=fund, as_of=days(START, n))
        entered = list(enumerate(history))
        order.shuffle(entered)  # back-dated entries happen whenever a later date was entered first
        posted = []
        for k, (offset, amount) in entered:
            day = days(START, offset)
            payoff = payoff_quote(loan, day)["total"]
            amount = min(Decimal(amount), payoff)
            if amount <= 0 or loan_state(loan).principal_outstanding == 0:
                continue
            loan.refresh_from_db()
            if not loan.is_open:
                break
            posted.append(repayment_post(fund=fund, loan_id=loan.pk, amount=amount, paid_on=day, reference=f"h{k}", channel="cash",
                                         posted_by=staff.officer))
            loan.refresh_from_db()
        check_invariants(loan)
        for r, flag in zip(list(posted), reverse_mask, strict=False):
            if flag:
                repayment_reverse(fund=fund, loan_id=loan.pk, repayment_id=r.pk, reason="property", reversed_by=staff.accountant)
        loan.refresh_from_db()
        check_invariants(loan)
        for r in Repayment.objects.filter(loan=loan, status="posted").order_by("-paid_on", "-id"):
            repayment_reverse(fund=fund, loan_id=loan.pk, repayment_id=r.pk, reason="undo all", reversed_by=staff.accountant)
        loan.refresh_from_db()
        check_invariants(loan)
        assert settle_state(loan) == initial
        assert loan.is_open
        transaction.set_rollback(True)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=payments, payoff_day=st.integers(0, 200), kind=st.sampled_from(["weekly_flat", "monthly_annuity", "monthly_equal"]))
def test_paying_the_payoff_quote_closes_the_loan_at_zero(staff, fund, make_loan, history, payoff_day, kind):
    with transaction.atomic():
        loan = make_loan(kind=kind, installments=12 if kind != "weekly_flat" else 52)
        for k, (offset, amount) in enumerate(sorted(history)):
            day = days(START, offset)
            amount = min(Decimal(amount), payoff_quote(loan, day)["total"] - 1)
            if amount > 0:
                repayment_post(fund=fund, loan_id=loan.pk, amount=amount, paid_on=day, reference=f"p{k}", channel="bank_transfer",
                               posted_by=staff.officer)
        day = days(START, max(payoff_day, max(o for o, _ in history)))
        cob.close_of_business(fund=fund, as_of=days(day, -1))
        quote = payoff_quote(loan, day)
        repayment_post(fund=fund, loan_id=loan.pk, amount=quote["total"], paid_on=day, reference="payoff", channel="cash", posted_by=staff.officer)
        loan.refresh_from_db()
        assert loan.status == Loan.Status.CLOSED
        state = loan_state(loan)
        assert state.principal_outstanding == 0 and state.savings_balance == 0
        assert all(v == 0 for k, v in state.accounts.items() if k != chart.MEMO_WRITTEN_OFF)
        assert account_balance(fund=fund, code=chart.MEMO_OVERDUE_PENALTY) == 0
        check_invariants(loan)
        transaction.set_rollback(True)
