"""Disbursement: the loan, its schedule, the books, and the rechecks, via the API."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from loanfund import chart
from loanfund.models import JournalEntry, LoanApplication
from loanfund.selectors.ledger import account_balance
from repayments.models import Installment, Loan, LoanLedgerLine
from repayments.schedule import build_schedule
from tests.foundation.test_api_core import assert_error

from .helpers import assert_sound, no_locks_left, run_concurrently

pytestmark = pytest.mark.django_db

URL = "/api/v1/applications/{}/disburse/"


def test_disbursement_opens_the_loan_with_its_schedule_and_posts_the_books(staff, api, fund, make_application):
    application = make_application(fund, staff.officer, amount=10_000_000, installments=52)
    bank_before = account_balance(fund=fund, code=chart.BANK)
    r = api(staff.accountant).post(URL.format(application.pk), {"disbursed_on": "2025-01-06", "method": "bank"}, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["status"] == "active" and body["principal_disbursed"] == "10000000" and body["currency"] == "VND"
    assert body["principal_outstanding"] == "10000000"
    assert set(body) >= {"interest_due", "penalty_due", "fees_due", "total_due_now", "next_installment", "days_past_due",
                         "classification_group", "compulsory_savings_balance", "apr", "eir"}
    loan = Loan.objects.get(pk=body["id"])
    application.refresh_from_db()
    assert application.status == LoanApplication.Status.DISBURSED
    # The stored schedule is exactly the pure function's.
    from loanfund.origination.pricing import schedule_terms_for

    expected = build_schedule(schedule_terms_for(product_version=application.product_version, amount=Decimal(10_000_000), installments=52,
                                                 disbursed_on=date(2025, 1, 6)))
    stored = list(Installment.objects.filter(loan=loan).order_by("number").values_list("due_on", "principal", "interest", "savings"))
    assert stored == [(row.due_on, row.principal, row.interest, row.savings) for row in expected.installments]
    # Dr loans 10,000,000 / Cr bank 9,900,000 / Cr fee income 100,000 (1 % upfront fee).
    assert account_balance(fund=fund, code=chart.LOANS_CURRENT) == Decimal(10_000_000)
    assert bank_before - account_balance(fund=fund, code=chart.BANK) == Decimal(9_900_000)
    assert account_balance(fund=fund, code=chart.FEE_INCOME) == Decimal(100_000)
    assert LoanLedgerLine.objects.get(loan=loan).amount.amount == Decimal(10_000_000)
    assert body["apr"] and Decimal(body["apr"]) > Decimal("7.2")
    assert_sound(fund)


def test_disbursement_rechecks_state_date_liquidity_and_cap(staff, api, make_fund, make_staff, make_application, make_member):
    poor = make_fund("poor", capital=Decimal(5_000_000))
    accountant, officer = make_staff(poor, "accountant"), make_staff(poor, "officer")
    client = api(accountant)
    application = make_application(poor, officer, amount=10_000_000)
    before = JournalEntry.objects.count()
    assert_error(client.post(URL.format(application.pk), {"disbursed_on": "2025-01-06", "method": "cash"}, format="json"), 409,
                 "insufficient_fund_liquidity")
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert_error(client.post(URL.format(application.pk), {"disbursed_on": tomorrow, "method": "bank"}, format="json"), 400, "future_date")
    assert JournalEntry.objects.count() == before and not Loan.objects.exists()
    application.refresh_from_db()
    assert application.status == LoanApplication.Status.APPROVED

    rich = make_fund("rich", capital=Decimal(1_000_000_000))
    accountant, officer = make_staff(rich, "accountant"), make_staff(rich, "officer")
    member = make_member(rich)
    first = make_application(rich, officer, amount=30_000_000, member=member)
    promised = make_application(rich, officer, amount=25_000_000, member=member)
    # Approved but not yet disbursed money counts against the cap too (30 + 25 > 50).
    assert_error(api(accountant).post(URL.format(first.pk), {"disbursed_on": "2025-01-06", "method": "bank"}, format="json"), 400,
                 "exposure_cap_exceeded")
    LoanApplication.objects.filter(pk=promised.pk).update(status=LoanApplication.Status.WITHDRAWN)
    assert api(accountant).post(URL.format(first.pk), {"disbursed_on": "2025-01-06", "method": "bank"}, format="json").status_code == 201
    second = make_application(rich, officer, amount=25_000_000, member=member)
    assert_error(api(accountant).post(URL.format(second.pk), {"disbursed_on": "2025-01-06", "method": "bank"}, format="json"), 400,
                 "exposure_cap_exceeded")
    # Disbursed once: a second attempt is an invalid state; other roles are refused.
    assert_error(api(accountant).post(URL.format(first.pk), {"disbursed_on": "2025-01-06", "method": "bank"}, format="json"), 409, "invalid_state")
    assert_error(api(officer).post(URL.format(second.pk), {"disbursed_on": "2025-01-06", "method": "bank"}, format="json"), 403,
                 "permission_denied")


def test_another_funds_application_is_not_found(staff, api, other_fund, make_staff, make_application):
    foreign = make_application(other_fund, make_staff(other_fund, "officer"))
    assert_error(api(staff.accountant).post(URL.format(foreign.pk), {"disbursed_on": "2025-01-06", "method": "bank"}, format="json"), 404,
                 "not_found")


def test_disbursement_is_idempotent_by_key(staff, api, fund, make_application):
    application = make_application(fund, staff.officer)
    client = api(staff.accountant)
    body = {"disbursed_on": "2025-01-06", "method": "bank"}
    responses = [client.post(URL.format(application.pk), body, format="json", HTTP_IDEMPOTENCY_KEY="disb-1") for _ in range(3)]
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert Loan.objects.count() == 1 and JournalEntry.objects.filter(kind="disbursement").count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_disbursements_make_one_loan_and_move_the_books_once(staff, api, fund, make_application):
    application = make_application(fund, staff.officer, amount=10_000_000)
    bank_before = account_balance(fund=fund, code=chart.BANK)

    def disburse(i):
        return api(staff.accountant).post(URL.format(application.pk), {"disbursed_on": "2025-01-06", "method": "bank"}, format="json").status_code

    codes = run_concurrently(10, disburse)
    assert sorted(codes) == [201] + [409] * 9, codes
    assert Loan.objects.count() == 1
    assert JournalEntry.objects.filter(kind="disbursement").count() == 1
    assert bank_before - account_balance(fund=fund, code=chart.BANK) == Decimal(9_900_000)
    assert no_locks_left()
    assert_sound(fund)


def test_origination_sees_live_exposure_through_the_provider(staff, fund, make_loan):
    from loanfund.exposure import member_exposure
    from repayments.services import repayment_post

    loan = make_loan(amount=10_000_000)
    repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(230_846), paid_on=date(2025, 1, 13), reference="e1", channel="cash",
                   posted_by=staff.officer)
    exposure = member_exposure([loan.member_id], timezone.localdate())[loan.member_id]
    assert exposure.outstanding_principal == Decimal(10_000_000 - 192_000)
