"""Grassroots unions and members through the API: validation, logins, tenancy."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from borrowers.models import Member, UnionBranch
from tests.foundation.test_api_core import assert_error
from tests.origination.conftest import today

pytestmark = pytest.mark.django_db


def member_body(branch_, **overrides):
    body = {"national_id": "001190012345", "full_name": "Lê Thị Hoa", "date_of_birth": "1988-02-29", "gender": "female",
            "phone": "0987654321", "branch": branch_.pk, "employer": "Công ty Dệt 8-3", "monthly_income": "7500000", "currency": "VND",
            "household_size": 5, "household_status": "poor", "household_certificate_number": "HN-NGHEO-2024-77",
            "joined_union_on": "2019-06-01"}
    body.update(overrides)
    return body


def test_an_officer_registers_a_grassroots_union_and_a_member(api, staff):
    r = api(staff.officer).post("/api/v1/branches/", {"code": "CD-DET83", "name": "CĐCS Dệt 8-3", "employer": "Dệt 8-3",
                                                      "contact_name": "Phạm Văn Tú", "contact_phone": "0243111222"}, format="json")
    assert r.status_code == 201, r.json()
    branch = UnionBranch.objects.get(pk=r.json()["id"])
    r = api(staff.officer).post("/api/v1/members/", member_body(branch), format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["monthly_income"] == "7500000" and body["currency"] == "VND" and body["status"] == "active"
    assert body["branch_code"] == "CD-DET83" and body["has_login"] is False
    assert api(staff.auditor).get(f"/api/v1/branches/{branch.pk}/").json()["member_count"] == 1
    r = api(staff.officer).patch(f"/api/v1/members/{body['id']}/", {"status": "left_union"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "left_union"
    member = Member.objects.get(pk=body["id"])
    assert [h.status for h in member.history.order_by("history_date")] == ["active", "left_union"]  # audit trail


@pytest.mark.parametrize("overrides, code, attr", [
    ({"national_id": "00119001234"}, "invalid_national_id", "national_id"),
    ({"national_id": "00119001234X"}, "invalid_national_id", "national_id"),
    ({"phone": "0212345678"}, "invalid_phone", "phone"),
    ({"phone": "+8491234567"}, "invalid_phone", "phone"),
    ({"monthly_income": 7500000}, "amount_not_string", "monthly_income"),
    ({"monthly_income": "7500000.5"}, "fractional_amount", "monthly_income"),
    ({"currency": "USD"}, "unsupported_currency", "currency"),
    ({"currency": None}, "null", "currency"),
    ({"household_status": "rich"}, "invalid_choice", "household_status"),
    ({"household_size": 0}, "min_value", "household_size"),
    ({"date_of_birth": (today() + timedelta(days=1)).isoformat()}, "future_date", "date_of_birth"),
    ({"joined_union_on": (today() + timedelta(days=1)).isoformat()}, "future_date", "joined_union_on"),
    ({"status": "retired"}, "invalid_choice", "status"),
    ({"branch": 999999}, "does_not_exist", "branch"),
])
def test_member_fields_are_validated_and_nothing_is_written(api, staff, branch, overrides, code, attr):
    r = api(staff.officer).post("/api/v1/members/", member_body(branch, **overrides), format="json")
    assert_error(r, 400, code, attr)
    assert Member.objects.count() == 0


def test_phone_in_international_form_is_accepted_and_national_id_is_unique_per_fund(api, staff, branch, make_member, other_fund):
    assert api(staff.officer).post("/api/v1/members/", member_body(branch, phone="+84987654321"), format="json").status_code == 201
    assert_error(api(staff.officer).post("/api/v1/members/", member_body(branch), format="json"), 400, "duplicate_national_id", "national_id")
    # The same person may borrow from another fund: uniqueness is per fund.
    make_member(fund_=other_fund, national_id="001190012345")
    assert Member.objects.filter(national_id="001190012345").count() == 2


def test_income_change_needs_its_currency(api, staff, member):
    assert_error(api(staff.officer).patch(f"/api/v1/members/{member.pk}/", {"monthly_income": "9000000"}, format="json"), 400,
                 "currency_required", "currency")
    r = api(staff.officer).patch(f"/api/v1/members/{member.pk}/", {"monthly_income": "9000000", "currency": "VND"}, format="json")
    assert r.status_code == 200 and r.json()["monthly_income"] == "9000000"


def test_members_are_filterable_and_paginated(api, staff, make_member, branch, fund):
    other_branch = UnionBranch.objects.create(fund=fund, code="CD-2", name="CĐCS 2")
    make_member(full_name="Đỗ Văn An")
    make_member(full_name="Hoàng Thị Bích", household_status="poor")
    make_member(full_name="Vũ Văn Cường", branch_=other_branch, status="deceased")
    client = api(staff.officer)
    assert client.get(f"/api/v1/members/?branch={other_branch.pk}").json()["count"] == 1
    assert client.get("/api/v1/members/?household_status=poor").json()["count"] == 1
    assert client.get("/api/v1/members/?status=active").json()["count"] == 2
    assert [m["full_name"] for m in client.get("/api/v1/members/?name=thị").json()["results"]] == ["Hoàng Thị Bích"]
    page = client.get("/api/v1/members/?limit=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2


def test_grant_access_creates_a_member_login_and_a_second_call_resets_its_password(api, staff, member):
    r = api(staff.officer).post(f"/api/v1/members/{member.pk}/grant-access/")
    assert r.status_code == 200, r.json()
    first = r.json()
    assert first["username"] == f"alpha-{member.national_id}" and len(first["password"]) >= 12
    login = APIClient().post("/api/v1/auth/token/", {"username": first["username"], "password": first["password"]}, format="json")
    assert login.status_code == 200
    member.refresh_from_db()
    assert list(member.user.groups.values_list("name", flat=True)) == ["member"]
    # The member's own login is refused on staff endpoints.
    as_member = APIClient()
    as_member.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    assert_error(as_member.get("/api/v1/members/"), 403, "permission_denied")

    second = api(staff.officer).post(f"/api/v1/members/{member.pk}/grant-access/").json()
    assert second["username"] == first["username"] and second["password"] != first["password"]
    old = APIClient().post("/api/v1/auth/token/", {"username": first["username"], "password": first["password"]}, format="json")
    assert old.status_code == 401
    new = APIClient().post("/api/v1/auth/token/", {"username": second["username"], "password": second["password"]}, format="json")
    assert new.status_code == 200


def test_grant_access_never_resets_a_staff_login_linked_to_a_member(api, staff, make_member):
    linked = make_member(user=staff.approver)
    assert_error(api(staff.officer).post(f"/api/v1/members/{linked.pk}/grant-access/"), 409, "invalid_state")
    assert staff.approver.check_password("secret-pass-123")


def test_a_member_who_left_gets_no_login(api, staff, make_member):
    left = make_member(status="left_union")
    assert_error(api(staff.officer).post(f"/api/v1/members/{left.pk}/grant-access/"), 409, "invalid_state")
    left.refresh_from_db()
    assert left.user_id is None
