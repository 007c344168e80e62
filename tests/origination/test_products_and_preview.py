"""Loan products (versioned, penalty cap) and the schedule preview a member signs."""

from datetime import date
from decimal import Decimal

import pytest

from loanfund.models import ImmutableVersionError, LoanApplication, LoanProduct, LoanProductVersion
from loanfund.origination.pricing import schedule_terms_for
from repayments.schedule import build_schedule
from tests.foundation.test_api_core import assert_error

pytestmark = pytest.mark.django_db

PRODUCT = {"code": "cep-weekly", "name": "Vay tuần CEP", "min_amount": "2000000", "max_amount": "30000000", "currency": "VND",
           "min_installments": 10, "max_installments": 156, "frequency": "weekly", "interest_method": "flat", "annual_rate": "0.072",
           "penalty_rate": "0.1", "rounding_multiple": 1000, "savings_rate": "0.0025", "upfront_fee_rate": "0.01",
           "eligible_household_statuses": ["poor", "near_poor"], "min_membership_months": 6}


def test_the_director_creates_a_product_and_editing_terms_makes_a_new_version(api, staff, member, walk):
    r = api(staff.director).post("/api/v1/products/", PRODUCT, format="json")
    assert r.status_code == 201, r.json()
    product = r.json()
    assert product["current"]["version"] == 1 and product["current"]["annual_rate"] == "0.072000"
    assert product["current"]["min_amount"] == "2000000" and product["current"]["currency"] == "VND"
    assert product["current"]["allocation_order"] == ["penalty", "interest", "principal"]

    product_row = LoanProduct.objects.get(pk=product["id"])
    app_id = walk(member, product_row, to="submitted", amount="10000000", installments=50)
    before = api(staff.officer).get(f"/api/v1/applications/{app_id}/schedule-preview/?disbursed_on=2025-03-03").json()

    r = api(staff.director).patch(f"/api/v1/products/{product['id']}/", {"annual_rate": "0.084", "penalty_rate": "0.12", "name": "Vay tuần"},
                                  format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["current"]["version"] == 2 and r.json()["versions"] == [2, 1] and r.json()["name"] == "Vay tuần"
    assert r.json()["current"]["savings_rate"] == "0.002500"  # unchanged terms carry over
    # The application priced on version 1 is unchanged; a new one is priced on version 2.
    assert api(staff.officer).get(f"/api/v1/applications/{app_id}/").json()["product_version"] == 1
    assert api(staff.officer).get(f"/api/v1/applications/{app_id}/schedule-preview/?disbursed_on=2025-03-03").json() == before
    versions = api(staff.officer).get(f"/api/v1/products/{product['id']}/versions/").json()
    assert [(v["version"], v["annual_rate"]) for v in versions] == [(2, "0.084000"), (1, "0.072000")]
    new_id = walk(member, product_row, to="draft", amount="10000000", installments=50)
    assert LoanApplication.objects.get(pk=new_id).product_version.version == 2
    # A name-only edit makes no new version; a version row is immutable.
    api(staff.director).patch(f"/api/v1/products/{product['id']}/", {"is_active": False}, format="json")
    assert LoanProductVersion.objects.filter(product_id=product["id"]).count() == 2
    with pytest.raises(ImmutableVersionError):
        v = LoanProductVersion.objects.get(product_id=product["id"], version=1)
        v.annual_rate = Decimal("0.5")
        v.save()


def test_an_inactive_product_takes_no_application(api, staff, member, make_product):
    product = make_product(code="old")
    api(staff.director).patch(f"/api/v1/products/{product.pk}/", {"is_active": False}, format="json")
    r = api(staff.officer).post("/api/v1/applications/", {"member": member.pk, "product": product.pk, "amount": "5000000", "currency": "VND",
                                                          "installments": 12}, format="json")
    assert_error(r, 400, "product_inactive", "product")


@pytest.mark.parametrize("overrides, code, attr", [
    ({"penalty_rate": "0.1081"}, "penalty_rate_too_high", "penalty_rate"),  # > 150 % of 7.2 %
    ({"min_amount": "40000000"}, "invalid_range", "max_amount"),
    ({"min_installments": 20, "max_installments": 10}, "invalid_range", "max_installments"),
    ({"grace_installments": 10}, "invalid_range", "grace_installments"),
    ({"rounding_multiple": 10}, "invalid_choice", "rounding_multiple"),
    ({"annual_rate": 0.072}, "rate_not_string", "annual_rate"),
    ({"annual_rate": "1.5"}, "max_value", "annual_rate"),
    ({"allocation_order": ["principal", "principal", "interest"]}, "invalid_allocation_order", "allocation_order"),
    ({"eligible_household_statuses": []}, "invalid_choice", "eligible_household_statuses"),
    ({"currency": "USD"}, "unsupported_currency", "currency"),
    ({"frequency": "daily"}, "invalid_choice", "frequency"),
])
def test_product_terms_are_validated(api, staff, overrides, code, attr):
    r = api(staff.director).post("/api/v1/products/", {**PRODUCT, **overrides}, format="json")
    assert_error(r, 400, code, attr)
    assert LoanProduct.objects.count() == 0


def test_the_penalty_cap_follows_the_funds_multiple(api, staff):
    ok = api(staff.director).post("/api/v1/products/", {**PRODUCT, "penalty_rate": "0.108"}, format="json")  # exactly 150 %
    assert ok.status_code == 201
    assert_error(api(staff.director).patch(f"/api/v1/products/{ok.json()['id']}/", {"annual_rate": "0.06"}, format="json"), 400,
                 "penalty_rate_too_high")
    assert ok.json()["current"]["version"] == api(staff.director).get(f"/api/v1/products/{ok.json()['id']}/").json()["current"]["version"]


def test_preview_shape_amounts_as_digit_strings_and_totals_add_up(api, staff, member, make_product, walk):
    product = make_product(code="flat-weekly", frequency="weekly", interest_method="flat", min_installments=10, max_installments=100,
                           savings_rate=Decimal("0.0025"), upfront_fee_rate=Decimal("0.01"), max_amount=Decimal(30_000_000))
    app_id = walk(member, product, to="draft", amount="10000000", installments=50)
    r = api(staff.officer).get(f"/api/v1/applications/{app_id}/schedule-preview/?disbursed_on=2025-03-03")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert set(body) == {"disbursed_on", "installments", "totals", "apr", "eir", "currency"} and body["currency"] == "VND"
    rows = body["installments"]
    assert len(rows) == 50 and set(rows[0]) == {"number", "due_on", "principal", "interest", "total", "savings"}
    assert rows[0]["due_on"] == "2025-03-10" and rows[1]["due_on"] == "2025-03-17"  # weekly: d0 + 7k
    for row in rows:
        for key in ("principal", "interest", "total", "savings"):
            assert isinstance(row[key], str) and row[key].isdigit()
    assert rows[0] == {"number": 1, "due_on": "2025-03-10", "principal": "200000", "interest": "13846", "total": "213846", "savings": "25000"}
    assert sum(int(r["principal"]) for r in rows) == 10_000_000 == int(body["totals"]["principal"])
    assert int(body["totals"]["interest"]) == 50 * 13846
    assert body["totals"]["upfront_fee"] == "100000" and body["totals"]["net_disbursed"] == "9900000"
    assert body["totals"]["savings"] == str(50 * 25000)
    # Flat 7.2 % with a fee and compulsory savings costs far more than 7.2 %: the disclosure shows it.
    assert Decimal(body["apr"]) > Decimal("14") and Decimal(body["eir"]) > Decimal(body["apr"])
    assert body["apr"].count(".") == 1 and len(body["apr"].split(".")[1]) == 2


def test_preview_of_a_monthly_loan_disbursed_on_the_31st_clamps_to_month_end(api, staff, member, product, walk):
    app_id = walk(member, product, to="draft", amount="12000000", installments=4)
    body = api(staff.officer).get(f"/api/v1/applications/{app_id}/schedule-preview/?disbursed_on=2025-01-31").json()
    assert [r["due_on"] for r in body["installments"]] == ["2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31"]
    # Declining balance on actual days: the first period has 28 days.
    assert body["installments"][0]["interest"] == str((Decimal(12_000_000) * Decimal("0.072") * 28 / 365).quantize(Decimal(1)))
    # With no fee or savings a declining loan's APR is the nominal rate up to the day-count effect
    # (a short February period makes it a little lower on a 4-month loan).
    assert Decimal("6.9") < Decimal(body["apr"]) < Decimal("7.3")


def test_preview_is_what_servicing_will_store(api, staff, member, product, walk):
    app_id = walk(member, product, to="approved", amount="20000000", installments=12)
    application = LoanApplication.objects.get(pk=app_id)
    stored = build_schedule(schedule_terms_for(product_version=application.product_version, amount=application.amount,
                                               installments=application.installments, disbursed_on=date(2025, 6, 15)))
    body = api(staff.officer).get(f"/api/v1/applications/{app_id}/schedule-preview/?disbursed_on=2025-06-15").json()
    assert [(r["due_on"], r["total"]) for r in body["installments"]] == [(i.due_on.isoformat(), str(i.total)) for i in stored.installments]


def test_preview_refuses_a_malformed_date(api, staff, member, product, walk):
    app_id = walk(member, product, to="draft")
    assert_error(api(staff.officer).get(f"/api/v1/applications/{app_id}/schedule-preview/?disbursed_on=31-01-2025"), 400, "invalid")
