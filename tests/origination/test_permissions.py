"""Who may call what: every origination endpoint x every role (and anonymous), and tenant isolation."""

import io
import itertools

import pytest
from django.contrib.auth.models import Group

from tests.foundation.test_api_core import assert_error
from tests.origination.conftest import APPRAISAL, application_body

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "member", "officer", "approver", "accountant", "director", "auditor")
_n = itertools.count(500)

# endpoint                                       anon member officer approver accountant director auditor
MATRIX = [
    ("GET    /branches/",                            401, 403, 200, 200, 200, 200, 200),
    ("POST   /branches/",                            401, 403, 201, 403, 403, 201, 403),
    ("GET    /branches/{branch}/",                   401, 403, 200, 200, 200, 200, 200),
    ("PATCH  /branches/{branch}/",                   401, 403, 200, 403, 403, 200, 403),
    ("GET    /members/",                             401, 403, 200, 200, 200, 200, 200),
    ("POST   /members/",                             401, 403, 201, 403, 403, 201, 403),
    ("GET    /members/{member}/",                    401, 403, 200, 200, 200, 200, 200),
    ("PATCH  /members/{member}/",                    401, 403, 200, 403, 403, 200, 403),
    ("POST   /members/import/",                      401, 403, 200, 403, 403, 200, 403),
    ("POST   /members/{member}/grant-access/",       401, 403, 200, 403, 403, 200, 403),
    ("GET    /products/",                            401, 403, 200, 200, 200, 200, 200),
    ("POST   /products/",                            401, 403, 403, 403, 403, 201, 403),
    ("GET    /products/{product}/",                  401, 403, 200, 200, 200, 200, 200),
    ("PATCH  /products/{product}/",                  401, 403, 403, 403, 403, 200, 403),
    ("GET    /products/{product}/versions/",         401, 403, 200, 200, 200, 200, 200),
    ("GET    /fund/approver-limits/",                401, 403, 403, 200, 403, 200, 200),
    ("POST   /fund/approver-limits/",                401, 403, 403, 403, 403, 201, 403),
    ("GET    /applications/",                        401, 403, 200, 200, 200, 200, 200),
    ("POST   /applications/",                        401, 403, 201, 403, 403, 403, 403),
    ("GET    /applications/{draft}/",                401, 403, 200, 200, 200, 200, 200),
    ("POST   /applications/{draft}/submit/",         401, 403, 200, 403, 403, 403, 403),
    ("POST   /applications/{submitted}/appraise/",   401, 403, 200, 403, 403, 403, 403),
    ("POST   /applications/{appraised}/approve/",    401, 403, 403, 200, 403, 403, 403),
    ("POST   /applications/{appraised}/reject/",     401, 403, 403, 200, 403, 403, 403),
    ("POST   /applications/{submitted}/withdraw/",   401, 403, 200, 200, 403, 403, 403),
    ("GET    /applications/{draft}/schedule-preview/", 401, 403, 200, 200, 200, 200, 200),
]


def _csv() -> io.BytesIO:
    n = next(_n)
    file = io.BytesIO(("national_id,full_name,date_of_birth,branch_code,monthly_income,household_status,joined_union_on\n"
                       f"{n:012d},Người {n},1980-01-01,CD-MAY10,5000000,poor,2015-01-01\n").encode())
    file.name = "m.csv"
    return file


@pytest.fixture
def world(fund, staff, branch, make_member, product, walk, make_staff):
    member_user = make_staff(fund, "officer")  # any login; it becomes a pure member below
    member_user.staff_profile.delete()
    member_user.groups.set([Group.objects.get(name="member")])
    make_member(user=member_user)
    users = {role: getattr(staff, role, None) for role in ROLES}
    users["anonymous"], users["member"] = None, member_user

    def ids(name):
        if name == "branch":
            return branch.pk
        if name == "member":
            return make_member().pk
        if name == "product":
            return product.pk
        return walk(make_member(), product, to=name)

    def body(method, path):
        n = next(_n)
        if path == "/branches/":
            return {"code": f"CD{n}", "name": "CĐCS"}
        if path.startswith("/branches/"):
            return {"contact_phone": "0912000111"}
        if path == "/members/":
            return {"national_id": f"{n:012d}", "full_name": "A", "date_of_birth": "1980-01-01", "branch": branch.pk,
                    "monthly_income": "5000000", "currency": "VND", "household_status": "poor", "joined_union_on": "2015-01-01"}
        if path.startswith("/members/") and method == "PATCH":
            return {"phone": "0912000111"}
        if path == "/products/":
            return {"code": f"p{n}", "name": "P", "min_amount": "1000000", "max_amount": "9000000", "currency": "VND",
                    "min_installments": 1, "max_installments": 12, "frequency": "monthly", "interest_method": "annuity",
                    "annual_rate": "0.06"}
        if path.startswith("/products/"):
            return {"name": f"P{n}"}
        if path == "/fund/approver-limits/":
            return {"user": staff.approver.pk, "max_amount": "30000000", "currency": "VND"}
        if path == "/applications/":
            return application_body(make_member(), product)
        if path.endswith("/appraise/"):
            return APPRAISAL
        if path.endswith(("/reject/", "/withdraw/", "/approve/")):
            return {"reason": "r"}
        return {}

    return users, ids, body


@pytest.mark.parametrize("row", MATRIX, ids=[r[0].replace(" ", "") for r in MATRIX])
def test_permission_matrix(api, world, row):
    users, ids, body = world
    method, template = row[0].split()
    results = {}
    for role in ROLES:
        path = template
        for name in ("branch", "member", "product", "draft", "submitted", "appraised"):
            if "{" + name + "}" in path:
                path = path.replace("{" + name + "}", str(ids(name)))
        client = api(users[role])
        if path.endswith("/import/"):
            response = client.post("/api/v1" + path, {"file": _csv()}, format="multipart")
        else:
            response = getattr(client, method.lower())("/api/v1" + path, body(method, template) if method != "GET" else None, format="json")
        results[role] = response.status_code
    assert results == dict(zip(ROLES, row[1:], strict=True)), (row[0], results)


def test_a_user_of_another_fund_gets_404_on_every_origination_object(api, fund, other_fund, staff, make_staff, branch, member, product,
                                                                     walk):
    appraised = walk(member, product, to="appraised")
    outsiders = {role: make_staff(other_fund, role) for role in ("officer", "approver", "director", "auditor")}
    checks = [
        ("get", f"/api/v1/branches/{branch.pk}/", "auditor"), ("patch", f"/api/v1/branches/{branch.pk}/", "officer"),
        ("get", f"/api/v1/members/{member.pk}/", "auditor"), ("patch", f"/api/v1/members/{member.pk}/", "officer"),
        ("post", f"/api/v1/members/{member.pk}/grant-access/", "officer"),
        ("get", f"/api/v1/products/{product.pk}/", "auditor"), ("get", f"/api/v1/products/{product.pk}/versions/", "officer"),
        ("patch", f"/api/v1/products/{product.pk}/", "director"),
        ("get", f"/api/v1/applications/{appraised}/", "auditor"), ("post", f"/api/v1/applications/{appraised}/submit/", "officer"),
        ("post", f"/api/v1/applications/{appraised}/appraise/", "officer"), ("post", f"/api/v1/applications/{appraised}/approve/", "approver"),
        ("post", f"/api/v1/applications/{appraised}/reject/", "approver"),
        ("post", f"/api/v1/applications/{appraised}/withdraw/", "approver"),
        ("get", f"/api/v1/applications/{appraised}/schedule-preview/", "officer"),
    ]
    for method, path, role in checks:
        assert_error(getattr(api(outsiders[role]), method)(path, {"reason": "x", "name": "x"}, format="json"), 404, "not_found")
    for path in ("/api/v1/branches/", "/api/v1/members/", "/api/v1/products/", "/api/v1/applications/", "/api/v1/fund/approver-limits/"):
        assert api(outsiders["director"]).get(path).json()["count"] == 0
    # Another fund's member, product, branch or approver cannot be named in a request either.
    r = api(outsiders["officer"]).post("/api/v1/applications/", application_body(member, product), format="json")
    assert_error(r, 400, "does_not_exist", "member")
    r = api(outsiders["officer"]).post("/api/v1/members/", {"national_id": "079123456789", "full_name": "X", "date_of_birth": "1980-01-01",
                                                            "branch": branch.pk, "monthly_income": "1", "currency": "VND",
                                                            "household_status": "poor", "joined_union_on": "2015-01-01"}, format="json")
    assert_error(r, 400, "does_not_exist", "branch")
    r = api(outsiders["director"]).post("/api/v1/fund/approver-limits/", {"user": staff.approver.pk, "max_amount": "1", "currency": "VND"},
                                        format="json")
    assert_error(r, 400, "does_not_exist", "user")
    assert api(staff.approver).get(f"/api/v1/applications/{appraised}/").json()["status"] == "appraised"
