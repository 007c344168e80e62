"""Worked examples with figures computed by hand from DOMAIN.md's conventions."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from loanfund import chart
from loanfund.selectors.ledger import account_balance
from repayments import cob
from repayments.models import Installment, Loan, Prepayment
from repayments.selectors import loan_balances, loan_state
from repayments.services import repayment_post

from .helpers import assert_sound, days

pytestmark = pytest.mark.django_db


def post(fund, staff, loan, amount, day, ref):
    return repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(amount), paid_on=day, reference=ref, channel="cash", posted_by=staff.officer)


def test_weekly_flat_loan_with_savings_paid_on_every_due_date(staff, fund, make_loan):
    # 10,000,000 đồng, 52 weeks, flat 7.2 %/year, installments rounded to 1,000, savings 0.25 %/week, fee 1 %.
    loan = make_loan(kind="weekly_flat", amount=10_000_000, installments=52, disbursed_on=date(2025, 1, 6))
    rows = list(Installment.objects.filter(loan=loan).order_by("number").values_list("principal", "interest", "savings"))
    assert rows[0] == (Decimal(192_000), Decimal(13_846), Decimal(25_000))  # 10M/52 -> 192,000; 10M x 7.2 % / 52 = 13,846.15
    assert rows[-1] == (Decimal(208_000), Decimal(13_846), Decimal(25_000))  # the last takes the remainder: 10M - 51 x 192,000
    for week in range(1, 53):
        amount = 208_000 + 13_846 + 25_000 if week == 52 else 230_846
        post(fund, staff, loan, amount, days(date(2025, 1, 6), 7 * week), f"w{week}")
        if week % 13 == 0:
            cob.close_of_business(fund=fund, as_of=days(date(2025, 1, 6), 7 * week))
    loan.refresh_from_db()
    assert loan.status == Loan.Status.CLOSED and loan.closed_on == date(2026, 1, 5)
    assert account_balance(fund=fund, code=chart.INTEREST_INCOME) == Decimal(52 * 13_846)  # 719,992
    assert account_balance(fund=fund, code=chart.FEE_INCOME) == Decimal(100_000)
    assert account_balance(fund=fund, code=chart.COMPULSORY_SAVINGS) == 0  # 52 x 25,000 deposited, returned at payoff
    assert account_balance(fund=fund, code=chart.LOANS_CURRENT) == 0
    assert account_balance(fund=fund, code=chart.PENALTY_INCOME) == 0
    # Cash: 52 installments + deposits in, savings returned out (by the disbursement method: bank).
    assert account_balance(fund=fund, code=chart.CASH) == Decimal(51 * 230_846 + 246_846)
    assert_sound(fund)


def test_monthly_annuity_with_a_prepayment_that_reduces_the_installment(staff, api, fund, make_loan):
    # 20,000,000 đồng, 12 months, declining 7.8 %/year, annuity rounded to 1,000.
    loan = make_loan(kind="monthly_annuity", amount=20_000_000, installments=12, disbursed_on=date(2025, 1, 15))
    first = Installment.objects.get(loan=loan, number=1)
    # r = 0.078/12; A = P r / (1 - (1+r)^-12) = 1,737,866.7 -> 1,738,000; interest 1: 20M x 7.8 % x 31/365 = 132,493.15
    assert first.interest.amount == Decimal(132_493)
    assert first.principal.amount + first.interest.amount == Decimal(1_738_000)
    post(fund, staff, loan, 1_738_000, date(2025, 2, 15), "m1")
    second = Installment.objects.get(loan=loan, number=2, schedule_version=1)
    outstanding_before = loan_state(loan).principal_outstanding
    # Installment 2 plus 5,000,000 of principal prepaid: the remaining 10 installments are re-amortised.
    post(fund, staff, loan, 1_738_000 + 5_000_000, date(2025, 3, 15), "m2+")
    loan.refresh_from_db()
    assert loan.schedule_version == 2 and Prepayment.objects.filter(loan=loan).count() == 1
    new = list(Installment.objects.filter(loan=loan, schedule_version=2).order_by("number"))
    assert len(new) == 10 and new[0].due_on == date(2025, 4, 15)
    expected_outstanding = outstanding_before - (Decimal(1_738_000) - second.interest.amount) - Decimal(5_000_000)
    assert sum(i.principal.amount for i in new) == expected_outstanding == loan_state(loan).principal_outstanding
    assert new[0].principal.amount + new[0].interest.amount < Decimal(1_738_000)
    # Interest of the first new period: outstanding x 7.8 % x 31 days (Mar 15 -> Apr 15) / 365, half-up.
    assert new[0].interest.amount == (expected_outstanding * Decimal("0.078") * 31 / 365).quantize(Decimal(1), ROUND_HALF_UP)
    # Old rows after the prepayment date are superseded, and nothing is due from them any more.
    assert Installment.objects.filter(loan=loan, schedule_version=1, superseded_on=date(2025, 3, 15)).count() == 10
    quote = api(staff.officer).get(f"/api/v1/loans/{loan.pk}/payoff-quote/?as_of=2025-04-15").json()
    post(fund, staff, loan, int(quote["total"]), date(2025, 4, 15), "m-payoff")
    loan.refresh_from_db()
    assert loan.status == Loan.Status.CLOSED
    assert_sound(fund)


def test_a_loan_95_days_past_due_is_restructured(staff, api, fund, make_loan):
    # 12,000,000 đồng, 12 months, equal principal 1,000,000, 6.6 %/year; penalty 9.9 %/year (= 1.5 x 6.6 %).
    loan = make_loan(kind="monthly_equal", amount=12_000_000, installments=12, disbursed_on=date(2025, 1, 6))
    start = date(2025, 2, 6)
    for n in range(95 + 1):
        cob.close_of_business(fund=fund, as_of=days(start, n))
    as_of = days(start, 95)  # 2025-05-12
    loan.refresh_from_db()
    assert (loan.status, loan.days_past_due) == (Loan.Status.IN_ARREARS, 95)
    balance = loan_balances(loan, today=as_of)
    assert balance["classification_group"] == 4  # 90-179 days
    # Penalty per overdue installment: 1,000,000 x 9.9 % x days / 365, half-up, cumulative days.
    dues = [date(2025, 2, 6), date(2025, 3, 6), date(2025, 4, 6), date(2025, 5, 6)]
    penalty = sum((Decimal(1_000_000) * Decimal("0.099") * (as_of - d).days / 365).quantize(Decimal(1), ROUND_HALF_UP) for d in dues)
    assert balance["penalty_due"] == penalty
    # The first installment fell due while the loan was current: its interest is accrued income.
    # Later ones fell due on an overdue loan: off-balance (memo) until collected (Circular 37/2019).
    fallen_due = list(Installment.objects.filter(loan=loan, due_on__lte=as_of).order_by("number"))
    interest = sum(i.interest.amount for i in fallen_due)
    assert account_balance(fund=fund, code=chart.INTEREST_RECEIVABLE) == fallen_due[0].interest.amount
    assert account_balance(fund=fund, code=chart.INTEREST_INCOME) == fallen_due[0].interest.amount
    assert account_balance(fund=fund, code=chart.MEMO_OVERDUE_INTEREST) == interest - fallen_due[0].interest.amount
    assert account_balance(fund=fund, code=chart.LOANS_OVERDUE) == Decimal(12_000_000)

    r = api(staff.approver).post(f"/api/v1/loans/{loan.pk}/restructure/", {"reason": "Hardship after illness", "installments": 18,
                                                                           "restructured_on": as_of.isoformat()}, format="json")
    assert r.status_code == 200, r.json()
    loan.refresh_from_db()
    assert loan.status == Loan.Status.RESTRUCTURED and loan.restructure_count == 1
    new = list(Installment.objects.filter(loan=loan, schedule_version=2).order_by("number"))
    assert len(new) == 18 and sum(i.principal.amount for i in new) == Decimal(12_000_000)
    # The overdue interest and penalty stay due: first restructuring overdue >= 90 days -> group 5.
    after = loan_balances(loan, today=as_of)
    assert after["principal_outstanding"] == Decimal(12_000_000) and after["interest_due"] == interest
    assert after["classification_group"] == 5
    post(fund, staff, loan, int(after["total_due_now"]), as_of, "arrears-cleared")
    cleared = loan_balances(loan, today=as_of)
    assert cleared["days_past_due"] == 0 and cleared["classification_group"] == 2  # first restructuring, current
    assert account_balance(fund=fund, code=chart.INTEREST_INCOME) == interest  # the memo part recognised when collected
    assert account_balance(fund=fund, code=chart.PENALTY_INCOME) == penalty
    assert account_balance(fund=fund, code=chart.MEMO_OVERDUE_INTEREST) == 0
    cob.close_of_business(fund=fund, as_of=days(as_of, 1))
    loan.refresh_from_db()
    assert loan.status == Loan.Status.RESTRUCTURED and loan.days_past_due == 0
    assert account_balance(fund=fund, code=chart.LOANS_CURRENT) == Decimal(12_000_000)
    assert_sound(fund)


def test_optional_interest_on_overdue_interest(staff, api, fund, make_loan):
    from loanfund.services.fund import fund_settings_update

    fund_settings_update(fund=fund, effective_from=date(2025, 1, 1), changes={"interest_on_overdue_interest_enabled": True},
                         changed_by=staff.director)
    loan = make_loan(kind="monthly_equal", amount=12_000_000, installments=12, disbursed_on=date(2025, 1, 6))
    for n in range(60):
        cob.close_of_business(fund=fund, as_of=days(date(2025, 2, 6), n))
    as_of = days(date(2025, 2, 6), 59)
    # Per overdue installment: principal x 9.9 % + interest x 10 % (the fund's cap), cumulative days / 365, rounded once.
    expected = sum(
        ((i.principal.amount * Decimal("0.099") + i.interest.amount * Decimal("0.10")) * (as_of - i.due_on).days / 365).quantize(
            Decimal(1), ROUND_HALF_UP)
        for i in Installment.objects.filter(loan=loan, due_on__lt=as_of))
    assert loan_balances(loan, today=as_of)["penalty_due"] == expected
    quote = api(staff.officer).get(f"/api/v1/loans/{loan.pk}/payoff-quote/?as_of={as_of}").json()
    post(fund, staff, loan, int(quote["total"]), as_of, "payoff")
    loan.refresh_from_db()
    assert loan.status == Loan.Status.CLOSED
    assert account_balance(fund=fund, code=chart.PENALTY_INCOME) == expected
    assert_sound(fund)
