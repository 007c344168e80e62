"""GET /me/loans/{id}/ (issue 7's member balance endpoint) through the bearer token, as in
production: one statement, the token's user read with the balances, the same answer as the staff endpoint, the
tenant and role checks unchanged, and a deactivated user shut out at once."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from loanfund import roles
from repayments import cob
from repayments.services import repayment_post
from tests.foundation.test_api_core import assert_error

pytestmark = pytest.mark.django_db


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def test_a_member_reads_their_loan_in_one_query_and_nothing_else(staff, api, fund, make_loan, member_user, django_assert_num_queries):
    mine, theirs = make_loan(installments=150), make_loan()
    for n, day in enumerate((13, 20)):
        repayment_post(fund=fund, loan_id=mine.pk, amount=Decimal(100_000), paid_on=date(2025, 1, day), reference=f"b{n}", channel="cash",
                       posted_by=staff.officer)
    cob.close_of_business(fund=fund, as_of=date(2025, 3, 3))
    client = bearer(member_user(mine.member))
    with django_assert_num_queries(1):  # the token's user + member + roles + loan + thresholds + balances
        response = client.get(f"/api/v1/me/loans/{mine.pk}/")
    assert response.status_code == 200
    assert response.content == api(staff.officer).get(f"/api/v1/loans/{mine.pk}/").content  # byte for byte
    assert response.json()["days_past_due"] > 0
    with django_assert_num_queries(1):
        assert_error(client.get(f"/api/v1/me/loans/{theirs.pk}/"), 404, "not_found")
    # Signed in another way (a session), the user is read first and the same statement follows.
    session = APIClient()
    assert session.login(username=mine.member.user.username, password="secret-pass-123")
    with django_assert_num_queries(3):  # the session, its user; then member + roles + loan + thresholds + balances
        assert session.get(f"/api/v1/me/loans/{mine.pk}/").content == response.content
    assert_error(client.get("/api/v1/me/loans/999999999/"), 404, "not_found")
    assert_error(client.get("/api/v1/me/loans/abc/"), 404, "not_found")
    assert_error(client.get(f"/api/v1/me/loans/{2**70}/"), 404, "not_found")


def test_another_funds_loan_is_not_found(fund, other_fund, make_loan, member_user):
    mine, foreign = make_loan(), make_loan(other_fund)
    assert foreign.fund_id == other_fund.pk
    client = bearer(member_user(mine.member))
    assert client.get(f"/api/v1/me/loans/{mine.pk}/").status_code == 200
    assert_error(client.get(f"/api/v1/me/loans/{foreign.pk}/"), 404, "not_found")
    # nor by the member of that fund's loan for a loan of this fund
    assert_error(bearer(member_user(foreign.member)).get(f"/api/v1/me/loans/{mine.pk}/"), 404, "not_found")


def test_staff_and_users_without_a_member_record_are_refused(staff, make_loan, make_member, fund):
    loan = make_loan()
    assert_error(bearer(staff.officer).get(f"/api/v1/me/loans/{loan.pk}/"), 403, "permission_denied")
    stray = get_user_model().objects.create_user(username="stray", password="secret-pass-123")
    stray.groups.add(Group.objects.get_or_create(name=roles.MEMBER)[0])  # the role, but no member record: no fund
    assert_error(bearer(stray).get(f"/api/v1/me/loans/{loan.pk}/"), 403, "permission_denied")
    nobody = APIClient()
    assert nobody.get(f"/api/v1/me/loans/{loan.pk}/").status_code == 401


def test_a_member_without_the_member_role_is_refused(make_loan, member_user):
    loan = make_loan()
    user = member_user(loan.member)
    user.groups.clear()
    assert_error(bearer(user).get(f"/api/v1/me/loans/{loan.pk}/"), 403, "permission_denied")


def test_staff_holding_the_member_role_for_their_own_member_record_take_the_general_path(staff, fund, make_loan):
    """A staff user is never served by the member statement; the general path still answers."""
    loan = make_loan()
    officer = staff.officer
    officer.groups.add(Group.objects.get_or_create(name=roles.MEMBER)[0])
    type(loan.member).objects.filter(pk=loan.member_id).update(user=officer)
    response = bearer(officer).get(f"/api/v1/me/loans/{loan.pk}/")
    assert response.status_code == 200 and response.json()["id"] == loan.pk


def test_a_deactivated_or_deleted_user_loses_access_at_once(make_loan, member_user):
    loan = make_loan()
    user = member_user(loan.member)
    client = bearer(user)  # a token issued while the user was active, still unexpired
    assert client.get(f"/api/v1/me/loans/{loan.pk}/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    for path in (f"/api/v1/me/loans/{loan.pk}/", "/api/v1/me/", "/api/v1/me/loans/"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert "inactive" in response.json()["errors"][0]["detail"]
    get_user_model().objects.filter(pk=user.pk).update(is_active=True)
    assert client.get(f"/api/v1/me/loans/{loan.pk}/").status_code == 200
    type(loan.member).objects.filter(pk=loan.member_id).update(user=None)
    get_user_model().objects.filter(pk=user.pk).delete()
    response = client.get(f"/api/v1/me/loans/{loan.pk}/")
    assert response.status_code == 401 and "not found" in response.json()["errors"][0]["detail"]


def test_a_token_with_a_malformed_user_id_is_refused(make_loan, member_user):
    loan = make_loan()
    token = RefreshToken.for_user(member_user(loan.member)).access_token
    token["user_id"] = "not-a-number"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(f"/api/v1/me/loans/{loan.pk}/").status_code == 401


def test_native_placeholders_number_each_name_once_and_refuse_a_name_not_given():
    """The member's balance read goes to PostgreSQL in its own $n placeholders (psycopg would
    rewrite a statement over 4 KB on every request); every use of a name is the same $n."""
    from loanfund.rows import native_placeholders

    sql = "a = %(user)s AND b = %(loan)s AND c LIKE 'x%%' AND d = %(user)s"
    assert native_placeholders(sql, ("user", "loan")) == "a = $1 AND b = $2 AND c LIKE 'x%' AND d = $1"
    with pytest.raises(ValueError):
        native_placeholders(sql, ("user",))
