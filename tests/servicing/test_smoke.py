from datetime import date
from decimal import Decimal

import pytest

from loanfund import chart
from loanfund.selectors.ledger import account_balance
from repayments.cob import close_of_business
from repayments.reconciliation import loan_differences
from repayments.selectors import loan_balances
from repayments.services import repayment_post, repayment_reverse

pytestmark = pytest.mark.django_db


def test_smoke(make_loan, fund, staff):
    loan = make_loan()
    assert loan.schedule.count() == 52
    assert account_balance(fund=fund, code=chart.LOANS_CURRENT) == Decimal(10_000_000)
    r = repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(250_000), paid_on=date(2025, 1, 13), reference="r1", channel="cash", posted_by=staff.officer)
    print(list(r.allocations.values_list("component", "amount")))
    for d in range(20):
        close_of_business(fund=fund, as_of=date(2025, 1, 13).fromordinal(date(2025, 1, 13).toordinal() + d))
    loan.refresh_from_db()
    print(loan.status, loan.days_past_due)
    print(loan_balances(loan, today=date(2025, 2, 2)))
    assert list(loan_differences(fund)) == []
    repayment_reverse(fund=fund, loan_id=loan.pk, repayment_id=r.pk, reason="bounced", reversed_by=staff.accountant)
    assert list(loan_differences(fund)) == []
