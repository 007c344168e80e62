"""Black-box API tests of the fund core: auth, errors, tenancy, books, health, schema."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from loanfund import chart
from loanfund.models import CapitalContribution, Job, JournalEntry
from loanfund.selectors.ledger import account_balance
from loanfund.services.jobs import job_create

pytestmark = pytest.mark.django_db


def assert_error(response, status, code, attr="__any__"):
    assert response.status_code == status, (response.status_code, getattr(response, "data", response.content))
    body = response.json()
    assert body["type"] in ("validation_error", "client_error")
    assert isinstance(body["errors"], list) and body["errors"]
    codes = [e["code"] for e in body["errors"]]
    assert code in codes, body
    if attr != "__any__":
        assert attr in [e["attr"] for e in body["errors"]], body
    for e in body["errors"]:
        assert set(e) >= {"code", "detail", "attr"}


def test_jwt_login_and_refresh(staff):
    client = APIClient()
    r = client.post("/api/v1/auth/token/", {"username": "officer-alpha", "password": "secret-pass-123"}, format="json")
    assert r.status_code == 200
    tokens = r.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/v1/fund/").json()["code"] == "alpha"
    r = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert r.status_code == 200 and r.json()["access"]
    bad = APIClient().post("/api/v1/auth/token/", {"username": "officer-alpha", "password": "wrong"}, format="json")
    assert_error(bad, 401, "no_active_account")


def test_capital_posts_dr_bank_cr_capital_by_source(staff, api, fund):
    before = account_balance(fund=fund, code=chart.BANK)
    r = api(staff.accountant).post("/api/v1/fund/capital/", {"amount": "250000000", "currency": "VND", "source": "donor", "received_on": "2025-02-01"}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["amount"] == "250000000" and r.json()["currency"] == "VND"
    assert account_balance(fund=fund, code=chart.BANK) - before == Decimal(250_000_000)
    assert account_balance(fund=fund, code=chart.CAPITAL_DONOR) == Decimal(250_000_000)
    entry = JournalEntry.objects.get(pk=r.json()["journal_entry"])
    assert sorted(entry.lines.values_list("account__code", "side")) == [(chart.BANK, "D"), (chart.CAPITAL_DONOR, "C")]


MALFORMED_CAPITAL = [
    ({"amount": 250000000, "currency": "VND", "source": "donor", "received_on": "2025-02-01"}, "amount_not_string", "amount"),
    ({"amount": 2.5e8, "currency": "VND", "source": "donor", "received_on": "2025-02-01"}, "amount_not_string", "amount"),
    ({"amount": "250000000.50", "currency": "VND", "source": "donor", "received_on": "2025-02-01"}, "fractional_amount", "amount"),
    ({"amount": "-5", "currency": "VND", "source": "donor", "received_on": "2025-02-01"}, "negative_amount", "amount"),
    ({"amount": "0", "currency": "VND", "source": "donor", "received_on": "2025-02-01"}, "zero_amount", "amount"),
    ({"amount": "100", "currency": "USD", "source": "donor", "received_on": "2025-02-01"}, "unsupported_currency", "currency"),
    ({"amount": "100", "source": "donor", "received_on": "2025-02-01"}, "required", "currency"),
    ({"amount": "100", "currency": "VND", "source": "lottery", "received_on": "2025-02-01"}, "invalid_choice", "source"),
    ({"amount": "100", "currency": "VND", "source": "donor", "received_on": "yesterday"}, "invalid", "received_on"),
    ({"amount": "100", "currency": "VND", "source": "donor", "received_on": "2999-01-01"}, "future_date", "received_on"),
    ({}, "required", "amount"),
    ([1, 2], "invalid", "non_field_errors"),
]


@pytest.mark.parametrize("body, code, attr", MALFORMED_CAPITAL)
def test_malformed_money_requests_get_400_with_the_field_and_write_nothing(staff, api, body, code, attr):
    before = (CapitalContribution.objects.count(), JournalEntry.objects.count())
    r = api(staff.accountant).post("/api/v1/fund/capital/", body, format="json")
    assert_error(r, 400, code, attr)
    assert (CapitalContribution.objects.count(), JournalEntry.objects.count()) == before


@pytest.mark.parametrize(
    "method, path, kwargs, status, code",
    [
        ("post", "/api/v1/fund/capital/", {"data": "{not json", "content_type": "application/json"}, 400, "parse_error"),
        ("post", "/api/v1/fund/capital/", {"data": "\xff\xfe", "content_type": "application/json"}, 400, "parse_error"),
        ("post", "/api/v1/fund/capital/", {"data": "amount=1", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ("post", "/api/v1/fund/capital/", {"data": "null", "content_type": "application/json"}, 400, "null"),
        ("delete", "/api/v1/fund/", {}, 405, "method_not_allowed"),
        ("put", "/api/v1/ledger/trial-balance/", {}, 405, "method_not_allowed"),
        ("get", "/api/v1/ledger/trial-balance/?as_of=2025-13-45", {}, 400, "invalid"),
        ("get", "/api/v1/no-such-thing/", {}, 404, "not_found"),
        ("get", "/api/v1/ledger/entries/999999999/", {}, 404, "not_found"),
        ("get", "/api/v1/ledger/entries/abc/", {}, 404, "not_found"),
        ("get", "/api/v1/ledger/entries/?limit=abc&offset=-1", {}, 200, None),
        ("get", "/api/v1/ledger/entries/?entry_date__gte=notadate", {}, 400, "invalid"),
        ("patch", "/api/v1/fund/settings/", {"data": {"exposure_cap": "1.5", "currency": "VND"}, "format": "json"}, 400, "fractional_amount"),
        ("patch", "/api/v1/fund/settings/", {"data": {"exposure_cap": "40000000"}, "format": "json"}, 400, "currency_required"),
        ("patch", "/api/v1/fund/settings/", {"data": {"group2_from_days": 40}, "format": "json"}, 400, "invalid_thresholds"),
    ],
)
def test_malformed_requests_never_get_a_500(staff, api, method, path, kwargs, status, code):
    client = api(staff.director) if "settings" in path else api(staff.accountant)
    r = getattr(client, method)(path, **kwargs)
    assert r.status_code == status, r.content
    if code:
        assert_error(r, status, code)


def test_unauthenticated_and_forbidden_use_the_error_shape(staff, api):
    assert_error(api().get("/api/v1/fund/"), 401, "not_authenticated")
    assert_error(APIClient(HTTP_AUTHORIZATION="Bearer not-a-token").get("/api/v1/fund/"), 401, "token_not_valid")
    assert_error(api(staff.officer).get("/api/v1/ledger/trial-balance/"), 403, "permission_denied")
    assert_error(api(staff.officer).patch("/api/v1/fund/settings/", {"exposure_cap": "1"}, format="json"), 403, "permission_denied")


def test_throttled_login_gets_429(staff, settings):
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import ScopedRateThrottle

    cache.clear()
    old = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "auth": "2/minute"}
    try:
        client = APIClient()
        codes = [client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}, format="json").status_code for _ in range(3)]
        assert codes[:2] == [401, 401]
        assert_error(client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}, format="json"), 429, "throttled")
    finally:
        ScopedRateThrottle.THROTTLE_RATES = old
        cache.clear()


def test_fund_settings_are_dated_and_history_is_kept(staff, api, fund):
    r = api(staff.director).patch("/api/v1/fund/settings/", {"exposure_cap": "40000000", "currency": "VND", "effective_from": "2025-06-01"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["exposure_cap"] == "40000000"
    from loanfund.selectors.fund import fund_settings_as_of

    assert fund_settings_as_of(fund=fund, on=date(2025, 5, 31)).exposure_cap.amount == Decimal(50_000_000)
    assert fund_settings_as_of(fund=fund, on=date(2025, 6, 1)).exposure_cap.amount == Decimal(40_000_000)


def test_trial_balance_via_api_balances(staff, api):
    r = api(staff.auditor).get("/api/v1/ledger/trial-balance/?as_of=2030-01-01")
    assert r.status_code == 200
    body = r.json()
    assert body["totals"]["on_balance"]["difference"] == "0"
    bank = next(a for a in body["accounts"] if a["code"] == chart.BANK)
    assert bank["balance"] == "10000000000"


def test_a_user_of_fund_a_gets_404_for_every_object_of_fund_b(fund, other_fund, staff, make_staff, api):
    """Tenant isolation on every detail endpoint of the core (later rooms extend the table)."""
    b_entry = JournalEntry.objects.filter(fund=other_fund).first()
    b_job = job_create(fund=other_fund, kind="test", params={})
    a_user = staff.director
    for path in (f"/api/v1/ledger/entries/{b_entry.pk}/", f"/api/v1/jobs/{b_job.pk}/"):
        assert_error(api(a_user).get(path), 404, "not_found")
        assert_error(api(staff.accountant).get(path), 404, "not_found")
    listed = api(staff.auditor).get("/api/v1/ledger/entries/?limit=500").json()["results"]
    assert b_entry.pk not in {e["id"] for e in listed}
    assert all(c["id"] not in set(CapitalContribution.objects.filter(fund=other_fund).values_list("id", flat=True))
               for c in api(staff.director).get("/api/v1/fund/capital/").json()["results"])
    b_director = make_staff(other_fund, "director")
    assert api(b_director).get("/api/v1/fund/").json()["code"] == "beta"
    assert_error(api(b_director).get(f"/api/v1/jobs/{Job.objects.create(fund=fund, kind='x').pk}/"), 404, "not_found")


def test_healthz_reports_database_and_broker(client, settings):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"database": "ok", "broker": "ok"}
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["broker"].startswith("down")


def test_openapi_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yml"))
    text = (tmp_path / "schema.yml").read_text()
    assert "/api/v1/fund/capital/" in text


def test_reconcile_command_passes_on_clean_books(fund):
    call_command("reconcile")


def test_create_staff_command(fund):
    call_command("create_staff", "--username", "newbie", "--password", "pw-123456789", "--fund", fund.code, "--role", "officer")
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="newbie")
    assert user.staff_profile.fund == fund
    assert list(user.groups.values_list("name", flat=True)) == ["officer"]


def test_idempotency_key_replays_the_first_response_and_moves_money_once(staff, api, fund):
    client = api(staff.accountant)
    body = {"amount": "1000000", "currency": "VND", "source": "donor", "received_on": "2025-02-01"}
    before = account_balance(fund=fund, code=chart.BANK)
    responses = [client.post("/api/v1/fund/capital/", body, format="json", HTTP_IDEMPOTENCY_KEY="cap-1") for _ in range(5)]
    assert [r.status_code for r in responses] == [201] * 5
    assert len({r.json()["id"] for r in responses}) == 1
    assert account_balance(fund=fund, code=chart.BANK) - before == Decimal(1_000_000)
    assert CapitalContribution.objects.filter(fund=fund, source="donor").count() == 1
    other = client.post("/api/v1/fund/capital/", {**body, "amount": "2000000"}, format="json", HTTP_IDEMPOTENCY_KEY="cap-1")
    assert_error(other, 409, "idempotency_key_reused", "Idempotency-Key")
    assert account_balance(fund=fund, code=chart.BANK) - before == Decimal(1_000_000)


def test_an_error_response_is_not_remembered_under_its_key(staff, api, fund):
    client = api(staff.accountant)
    bad = client.post("/api/v1/fund/capital/", {"amount": "1", "currency": "VND", "source": "nope", "received_on": "2025-02-01"},
                      format="json", HTTP_IDEMPOTENCY_KEY="cap-2")
    assert bad.status_code == 400
    good = client.post("/api/v1/fund/capital/", {"amount": "1", "currency": "VND", "source": "donor", "received_on": "2025-02-01"},
                       format="json", HTTP_IDEMPOTENCY_KEY="cap-2")
    assert good.status_code == 201


def test_staff_see_their_funds_books_read_only_in_the_admin(client, staff, fund, other_fund):
    client.force_login(staff.auditor)
    r = client.get("/admin/loanfund/journalentry/")
    assert r.status_code == 200
    own = JournalEntry.objects.filter(fund=fund).first()
    foreign = JournalEntry.objects.filter(fund=other_fund).first()
    assert f"/admin/loanfund/journalentry/{own.pk}/change/" in r.content.decode()
    assert f"/admin/loanfund/journalentry/{foreign.pk}/change/" not in r.content.decode()
    assert client.post(f"/admin/loanfund/journalentry/{own.pk}/delete/", {"post": "yes"}).status_code == 403
    assert JournalEntry.objects.filter(pk=own.pk).exists()
