"""Repayments through the API: allocation, payoff limit, references, idempotency, reversal, races."""

from datetime import date
from decimal import Decimal

import pytest

from loanfund import chart
from loanfund.models import JournalEntry
from loanfund.selectors.ledger import account_balance
from repayments.models import Loan, Repayment
from repayments.services import repayment_post
from tests.foundation.test_api_core import assert_error

from .helpers import assert_sound, books, no_locks_left, run_concurrently

pytestmark = pytest.mark.django_db


def pay(client, loan, amount, paid_on, reference, channel="cash", **headers):
    return client.post(f"/api/v1/loans/{loan.pk}/repayments/", {"amount": str(amount), "currency": "VND", "paid_on": paid_on,
                                                               "reference": reference, "channel": channel}, format="json", **headers)


def test_repayment_response_shows_the_allocation_in_the_product_order(staff, api, fund, make_loan):
    loan = make_loan()  # weekly flat, 10 M, 52 weeks: 192,000 principal (1,000 multiple) + 13,846 interest + 25,000 savings
    r = pay(api(staff.officer), loan, 100_000, "2025-01-13", "PX-1")
    assert r.status_code == 201, r.json()
    allocation = r.json()["allocation"]
    assert [(a["component"], a["amount"], a["installment"]) for a in allocation] == [("interest", "13846", 1), ("principal", "86154", 1)]
    assert sum(Decimal(a["amount"]) for a in allocation) == Decimal(100_000)
    # Cash in; principal and interest income out (installment 1 fell due the same day: accrued then collected).
    assert account_balance(fund=fund, code=chart.INTEREST_INCOME) == Decimal(13_846)
    assert account_balance(fund=fund, code=chart.LOANS_CURRENT) == Decimal(10_000_000 - 86_154)
    assert_sound(fund)


def test_amount_above_payoff_is_refused_and_payoff_closes_the_loan(staff, api, fund, make_loan):
    loan = make_loan()
    client = api(staff.accountant)
    quote = client.get(f"/api/v1/loans/{loan.pk}/payoff-quote/?as_of=2025-02-10").json()
    total = Decimal(quote["total"])
    assert_error(pay(client, loan, total + 1, "2025-02-10", "too-much"), 400, "amount_exceeds_payoff")
    assert not Repayment.objects.exists()
    savings_return = Decimal(quote["compulsory_savings_returned"])
    r = pay(client, loan, total, "2025-02-10", "payoff")
    assert r.status_code == 201, r.json()
    loan.refresh_from_db()
    assert loan.status == Loan.Status.CLOSED and loan.closed_on == date(2025, 2, 10)
    balance = client.get(f"/api/v1/loans/{loan.pk}/").json()
    assert balance["principal_outstanding"] == "0" and balance["total_due_now"] == "0"
    assert balance["compulsory_savings_balance"] == "0"  # returned at payoff (fund policy)
    assert savings_return == Decimal(125_000)  # five weekly deposits of 25,000
    assert_sound(fund)


def test_reference_is_unique_per_fund(staff, api, fund, make_loan):
    a, b = make_loan(), make_loan()
    client = api(staff.officer)
    assert pay(client, a, 50_000, "2025-01-13", "SAME").status_code == 201
    assert_error(pay(client, b, 50_000, "2025-01-13", "SAME"), 409, "duplicate_reference")
    assert Repayment.objects.count() == 1


def test_same_idempotency_key_five_times_moves_money_once_and_another_body_gets_409(staff, api, fund, make_loan):
    loan = make_loan()
    client = api(staff.officer)
    responses = [pay(client, loan, 230_846, "2025-01-13", "IDEM-1", HTTP_IDEMPOTENCY_KEY="k-1") for _ in range(5)]
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert Repayment.objects.count() == 1
    assert JournalEntry.objects.filter(kind="repayment").count() == 1
    assert account_balance(fund=fund, code=chart.CASH) == Decimal(230_846)
    assert_error(pay(client, loan, 1000, "2025-01-13", "IDEM-2", HTTP_IDEMPOTENCY_KEY="k-1"), 409, "idempotency_key_reused")
    assert Repayment.objects.count() == 1


def test_malformed_repayments_get_400(staff, api, make_loan):
    loan = make_loan()
    client = api(staff.officer)
    for body, code in [({"amount": 1000, "currency": "VND", "paid_on": "2025-01-13", "reference": "x", "channel": "cash"}, "amount_not_string"),
                       ({"amount": "1000", "paid_on": "2025-01-13", "reference": "x", "channel": "cash"}, "required"),
                       ({"amount": "0", "currency": "VND", "paid_on": "2025-01-13", "reference": "x", "channel": "cash"}, "zero_amount"),
                       ({"amount": "1000", "currency": "VND", "paid_on": "2999-01-13", "reference": "x", "channel": "cash"}, "future_date"),
                       ({"amount": "1000", "currency": "VND", "paid_on": "2024-01-13", "reference": "x", "channel": "cash"}, "before_disbursement"),
                       ({"amount": "1000", "currency": "VND", "paid_on": "2025-01-13", "reference": "x", "channel": "cheque"}, "invalid_choice")]:
        assert_error(client.post(f"/api/v1/loans/{loan.pk}/repayments/", body, format="json"), 400, code)
    assert_error(pay(api(staff.auditor), loan, 1000, "2025-01-13", "y"), 403, "permission_denied")


def test_reversal_restores_balances_and_replays_later_repayments(staff, api, fund, make_loan):
    loan = make_loan()
    officer, accountant = api(staff.officer), api(staff.accountant)
    first = pay(officer, loan, 230_846, "2025-01-13", "R1").json()
    second = pay(officer, loan, 230_846, "2025-01-20", "R2").json()
    assert [a["installment"] for a in second["allocation"]] == [2, 2, 2]
    r = accountant.post(f"/api/v1/loans/{loan.pk}/repayments/{first['id']}/reverse/", {"reason": "cheque bounced"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "reversed"
    # R2 is replayed: it now settles installment 1 (oldest first), not installment 2.
    replayed = accountant.get(f"/api/v1/loans/{loan.pk}/repayments/").json()["results"][1]
    live = {}
    for a in replayed["allocation"]:
        live[(a["installment"], a["component"])] = live.get((a["installment"], a["component"]), 0) + int(a["amount"])
    assert {k: v for k, v in live.items() if v} == {(1, "interest"): 13_846, (1, "principal"): 192_000,
                                                       (2, "interest"): 13_846, (2, "principal"): 11_154}
    assert_error(accountant.post(f"/api/v1/loans/{loan.pk}/repayments/{first['id']}/reverse/", {"reason": "again"}, format="json"), 409,
                 "invalid_state")
    assert_error(officer.post(f"/api/v1/loans/{loan.pk}/repayments/{second['id']}/reverse/", {"reason": "x"}, format="json"), 403,
                 "permission_denied")
    assert account_balance(fund=fund, code=chart.CASH) == Decimal(230_846)
    assert_sound(fund)


def test_a_back_dated_repayment_is_replayed_in_date_order(staff, fund, make_loan):
    loan, twin = make_loan(), make_loan()
    post = lambda lo, amount, day, ref: repayment_post(fund=fund, loan_id=lo.pk, amount=Decimal(amount), paid_on=day,  # noqa: E731
                                                      reference=ref, channel="cash", posted_by=staff.officer)
    post(loan, 230_846, date(2025, 1, 20), "late")
    post(loan, 100_000, date(2025, 1, 13), "early")  # entered afterwards, dated before
    post(twin, 100_000, date(2025, 1, 13), "t-early")
    post(twin, 230_846, date(2025, 1, 20), "t-late")
    from repayments.selectors import loan_state

    def settled(lo):
        return [(i.number, i.principal_paid, i.interest_paid, i.savings_paid) for i in loan_state(lo).installments]

    from repayments.models import LoanLedgerLine
    print(list(LoanLedgerLine.objects.filter(loan=loan, account="9113").values_list("kind", "entry_date", "amount")))
    print(list(LoanLedgerLine.objects.filter(loan=twin, account="9113").values_list("kind", "entry_date", "amount")))
    assert settled(loan) == settled(twin)
    assert_sound(fund)


def test_member_sees_only_their_own_loans(staff, api, fund, make_loan, member_user):
    mine, theirs = make_loan(), make_loan()
    user = member_user(mine.member)
    client = api(user)
    assert client.get(f"/api/v1/me/loans/{mine.pk}/").status_code == 200
    assert client.get(f"/api/v1/me/loans/{mine.pk}/schedule/").status_code == 200
    assert client.get(f"/api/v1/me/loans/{mine.pk}/statement/").status_code == 200
    assert client.get(f"/api/v1/loans/{mine.pk}/payoff-quote/").status_code == 200
    for path in (f"/api/v1/me/loans/{theirs.pk}/", f"/api/v1/me/loans/{theirs.pk}/schedule/", f"/api/v1/loans/{theirs.pk}/schedule/",
                 f"/api/v1/loans/{theirs.pk}/payoff-quote/"):
        assert_error(client.get(path), 404, "not_found")
    assert [loan["id"] for loan in client.get("/api/v1/me/loans/").json()["results"]] == [mine.pk]
    assert client.get("/api/v1/me/").json()["member"]["id"] == mine.member_id
    assert_error(client.get(f"/api/v1/loans/{mine.pk}/"), 403, "permission_denied")
    assert_error(client.post(f"/api/v1/loans/{mine.pk}/repayments/", {}, format="json"), 403, "permission_denied")


def test_loan_and_member_endpoints_use_a_constant_number_of_queries(staff, api, fund, make_loan, member_user, django_assert_max_num_queries):
    short = make_loan(installments=4)
    long = make_loan(installments=150)
    for n, day in enumerate((13, 20, 27)):
        repayment_post(fund=fund, loan_id=long.pk, amount=Decimal(100_000), paid_on=date(2025, 1, day), reference=f"q{n}", channel="cash",
                       posted_by=staff.officer)
    member = api(member_user(long.member))
    staff_client = api(staff.officer)
    for loan in (short, long):
        with django_assert_max_num_queries(12):
            assert staff_client.get(f"/api/v1/loans/{loan.pk}/").status_code == 200
        with django_assert_max_num_queries(12):
            assert staff_client.get(f"/api/v1/loans/{loan.pk}/schedule/").status_code == 200
        with django_assert_max_num_queries(12):
            assert staff_client.get(f"/api/v1/loans/{loan.pk}/transactions/").status_code == 200
        with django_assert_max_num_queries(14):
            assert staff_client.get(f"/api/v1/loans/{loan.pk}/repayments/").status_code == 200
    for path in (f"/api/v1/me/loans/{long.pk}/", f"/api/v1/me/loans/{long.pk}/schedule/", f"/api/v1/me/loans/{long.pk}/statement/",
                 "/api/v1/me/loans/", "/api/v1/me/"):
        with django_assert_max_num_queries(12):
            assert member.get(path).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_repayments_with_the_same_reference_post_once(staff, api, fund, make_loan):
    loan = make_loan()
    codes = run_concurrently(6, lambda i: pay(api(staff.officer), loan, 50_000, "2025-01-13", "RACE").status_code)
    assert sorted(codes) == [201] + [409] * 5, codes
    assert Repayment.objects.count() == 1 and JournalEntry.objects.filter(kind="repayment").count() == 1
    assert no_locks_left()
    assert_sound(fund)


@pytest.mark.django_db(transaction=True)
def test_a_repayment_racing_a_reversal_loses_no_payment(staff, api, fund, make_loan):
    loan = make_loan()
    first = pay(api(staff.officer), loan, 230_846, "2025-01-13", "A").json()
    start = books(fund)

    def work(i):
        if i == 0:
            return api(staff.accountant).post(f"/api/v1/loans/{loan.pk}/repayments/{first['id']}/reverse/", {"reason": "error"},
                                              format="json").status_code
        return pay(api(staff.officer), loan, 230_846, "2025-01-20", "B").status_code

    codes = run_concurrently(2, work)
    assert codes == [200, 201], codes
    assert start != books(fund)
    assert account_balance(fund=fund, code=chart.CASH) == Decimal(230_846)  # A reversed, B kept
    b = Repayment.objects.get(reference="B")
    assert b.status == "posted" and Repayment.objects.get(reference="A").status == "reversed"
    assert no_locks_left()
    assert_sound(fund)


def test_another_funds_staff_cannot_see_or_touch_the_loan(staff, api, fund, other_fund, make_staff, make_loan):
    loan = make_loan()
    outsider = api(make_staff(other_fund, "accountant", "officer", "director"))
    for path in (f"/api/v1/loans/{loan.pk}/", f"/api/v1/loans/{loan.pk}/schedule/", f"/api/v1/loans/{loan.pk}/payoff-quote/",
                 f"/api/v1/loans/{loan.pk}/repayments/"):
        assert_error(outsider.get(path), 404, "not_found")
    assert_error(pay(outsider, loan, 1000, "2025-01-13", "x"), 404, "not_found")
    assert_error(outsider.post(f"/api/v1/loans/{loan.pk}/write-off/", {"reason": "x"}, format="json"), 404, "not_found")
    assert outsider.get("/api/v1/loans/").json()["count"] == 0
    assert not Repayment.objects.exists()
