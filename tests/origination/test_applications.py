"""Applications through the API: the workflow, every appraisal rule passing and failing, four eyes,
expiry, and nothing written when a command is refused."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from borrowers.models import Member
from loanfund import exposure
from loanfund.errors import InvalidState
from loanfund.models import ApplicationEvent, LoanApplication
from loanfund.origination.products import approver_limit_set
from loanfund.origination.services import application_mark_disbursed, applications_expire
from loanfund.services.fund import fund_settings_update
from tests.foundation.test_api_core import assert_error
from tests.origination.conftest import APPRAISAL, application_body, snapshot, today

pytestmark = pytest.mark.django_db


@pytest.fixture
def loans_elsewhere():
    """Stand in for servicing's provider: {member_id: MemberExposure} of existing loans."""
    saved = exposure._provider
    book: dict[int, exposure.MemberExposure] = {}
    exposure.register(lambda ids, as_of: {i: book[i] for i in ids if i in book})
    yield book
    exposure._provider = saved


def post(api, user, app_id, verb, body=None):
    return api(user).post(f"/api/v1/applications/{app_id}/{verb}/", body or {}, format="json")


def test_the_whole_workflow_records_every_transition_with_actor_and_reason(api, staff, member, product, walk):
    app_id = walk(member, product, to="approved")
    body = api(staff.officer).get(f"/api/v1/applications/{app_id}/").json()
    assert body["status"] == "approved"
    assert body["amount"] == "20000000" and body["currency"] == "VND" and body["product_version"] == 1
    assert body["approved_until"] == (today() + timedelta(days=30)).isoformat()  # the fund's validity days
    assert [(e["from_status"], e["to_status"], e["actor"]) for e in body["events"]] == [
        ("", "draft", "officer-alpha"), ("draft", "submitted", "officer-alpha"), ("submitted", "appraised", "officer-alpha"),
        ("appraised", "approved", "approver-alpha")]
    assert body["events"][-1]["reason"] == "Đủ điều kiện"
    appraisal = body["appraisal"]
    assert appraisal["appraised_by"] == "officer-alpha" and appraisal["passed"] is True
    assert appraisal["endorsed_by"].startswith("Trần Văn Bình") and appraisal["endorsed_on"] == "2025-01-10"
    checks = {c["name"]: c for c in appraisal["checks"]}
    assert set(checks) == {"member_active", "adult", "household_status", "membership_length", "amount_within_product",
                           "term_within_product", "exposure_cap", "no_arrears", "repayment_capacity", "union_endorsement"}
    assert all(c["passed"] for c in checks.values())
    assert checks["exposure_cap"]["figures"] == {"outstanding_principal": "0", "approved_not_disbursed": "0", "amount": "20000000",
                                                 "total": "20000000", "cap": "50000000"}
    assert checks["repayment_capacity"]["figures"]["largest_installment"] == appraisal["largest_installment"]
    assert Decimal(checks["repayment_capacity"]["figures"]["ratio"]) == (Decimal(appraisal["largest_installment"]) / 8_000_000).quantize(Decimal("0.0001"))


@pytest.mark.parametrize("status, verb, user_role, body", [
    ("draft", "approve", "approver", {}),
    ("draft", "appraise", "officer", APPRAISAL),
    ("submitted", "submit", "officer", {}),
    ("submitted", "approve", "approver", {}),
    ("appraised", "appraise", "officer", APPRAISAL),
    ("approved", "approve", "approver", {}),
    ("approved", "reject", "approver", {"reason": "late"}),
])
def test_only_legal_transitions_happen_otherwise_409_invalid_state_and_nothing_written(api, staff, member, product, walk, status, verb,
                                                                                        user_role, body):
    app_id = walk(member, product, to=status)
    before = snapshot()
    assert_error(post(api, getattr(staff, user_role), app_id, verb, body), 409, "invalid_state")
    assert snapshot() == before


def test_withdraw_from_any_open_state_but_not_from_a_closed_one(api, staff, member, product, walk):
    for state in ("draft", "submitted", "appraised", "approved"):
        app_id = walk(member, product, to=state)
        r = post(api, staff.officer, app_id, "withdraw", {"reason": "Thành viên không vay nữa"})
        assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    before = snapshot()
    assert_error(post(api, staff.approver, app_id, "withdraw", {"reason": "again"}), 409, "invalid_state")
    assert_error(post(api, staff.approver, app_id, "withdraw", {}), 400, "required", "reason")
    assert snapshot() == before


def test_reject_needs_a_reason_and_is_final(api, staff, member, product, walk):
    app_id = walk(member, product, to="appraised")
    assert_error(post(api, staff.approver, app_id, "reject", {}), 400, "required", "reason")
    r = post(api, staff.approver, app_id, "reject", {"reason": "Thu nhập không ổn định"})
    assert r.json()["status"] == "rejected" and r.json()["events"][-1]["reason"] == "Thu nhập không ổn định"
    assert_error(post(api, staff.approver, app_id, "approve"), 409, "invalid_state")


# ---- four eyes -------------------------------------------------------------------------------

def test_the_appraiser_cannot_approve_or_reject_what_they_appraised(api, fund, staff, make_staff, member, product, walk):
    both = make_staff(fund, "officer", "approver")
    app_id = walk(member, product, to="appraised", appraiser=both)
    before = snapshot()
    assert_error(post(api, both, app_id, "approve"), 403, "four_eyes_violation")
    assert_error(post(api, both, app_id, "reject", {"reason": "x"}), 403, "four_eyes_violation")
    assert snapshot() == before
    assert post(api, staff.approver, app_id, "approve").json()["status"] == "approved"  # another person may


def test_staff_linked_to_the_member_cannot_appraise_or_approve_their_own_loan(api, fund, staff, make_staff, make_member, product, walk):
    officer_member = make_member(user=staff.officer)
    app_id = walk(officer_member, product, to="submitted")
    before = snapshot()
    assert_error(post(api, staff.officer, app_id, "appraise", APPRAISAL), 403, "four_eyes_violation")
    assert snapshot() == before
    other_officer = make_staff(fund, "officer")
    assert post(api, other_officer, app_id, "appraise", APPRAISAL).status_code == 200

    approver_member = make_member(user=staff.approver)
    app_id = walk(approver_member, product, to="appraised")
    before = snapshot()
    assert_error(post(api, staff.approver, app_id, "approve"), 403, "four_eyes_violation")
    assert snapshot() == before
    assert post(api, make_staff(fund, "approver"), app_id, "approve").json()["status"] == "approved"


def test_an_approver_limit_is_enforced_and_dated(api, fund, staff, member, product, walk):
    approver_limit_set(fund=fund, user=staff.approver, max_amount=Decimal(15_000_000), effective_from=today() - timedelta(days=10),
                       set_by=staff.director)
    app_id = walk(member, product, to="appraised", amount="20000000")
    before = snapshot()
    r = post(api, staff.approver, app_id, "approve")
    assert_error(r, 403, "four_eyes_violation", "amount")
    assert snapshot() == before
    # The director raises the limit from today: the earlier row stays as history.
    r = api(staff.director).post("/api/v1/fund/approver-limits/", {"user": staff.approver.pk, "max_amount": "25000000", "currency": "VND"},
                                 format="json")
    assert r.status_code == 201, r.json()
    assert [x["max_amount"] for x in api(staff.director).get("/api/v1/fund/approver-limits/").json()["results"]] == ["25000000", "15000000"]
    assert post(api, staff.approver, app_id, "approve").json()["status"] == "approved"


# ---- eligibility -----------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["left_union", "deceased"])
def test_a_member_who_left_or_died_gets_no_new_application(api, staff, make_member, product, status):
    member = make_member(status=status)
    before = snapshot()
    assert_error(api(staff.officer).post("/api/v1/applications/", application_body(member, product), format="json"), 400, "not_eligible",
                 "member")
    assert snapshot() == before


def test_a_member_who_leaves_after_submitting_fails_appraisal_and_approval(api, staff, member, product, walk):
    app_id = walk(member, product, to="submitted")
    Member.objects.filter(pk=member.pk).update(status="left_union")
    before = snapshot()
    r = post(api, staff.officer, app_id, "appraise", APPRAISAL)
    assert_error(r, 400, "not_eligible", "member")
    failed = [c["name"] for c in r.json()["errors"][0]["checks"] if not c["passed"]]
    assert failed == ["member_active"]
    assert snapshot() == before

    Member.objects.filter(pk=member.pk).update(status="active")
    post(api, staff.officer, app_id, "appraise", APPRAISAL)
    Member.objects.filter(pk=member.pk).update(status="deceased")
    before = snapshot()
    assert_error(post(api, staff.approver, app_id, "approve"), 400, "not_eligible")  # the hard check blocks approval
    assert snapshot() == before


@pytest.mark.parametrize("member_overrides, product_terms, attr, check", [
    ({"household_status": "other"}, {"eligible_household_statuses": ["poor", "near_poor"]}, "member", "household_status"),
    ({"joined_union_on": date.today() - timedelta(days=100)}, {"min_membership_months": 6}, "member", "membership_length"),
    ({"date_of_birth": date.today() - timedelta(days=17 * 365)}, {}, "member", "adult"),
])
def test_eligibility_rules_fail_with_not_eligible_and_pass_otherwise(api, staff, make_member, make_product, member_overrides, product_terms,
                                                                    attr, check):
    product = make_product(**product_terms)
    refused = make_member(**member_overrides)
    before = snapshot()
    r = api(staff.officer).post("/api/v1/applications/", application_body(refused, product), format="json")
    assert_error(r, 400, "not_eligible", attr)
    assert [c["name"] for c in r.json()["errors"][0]["checks"] if not c["passed"]] == [check]
    assert snapshot() == before
    accepted = make_member()
    assert api(staff.officer).post("/api/v1/applications/", application_body(accepted, product), format="json").status_code == 201


@pytest.mark.parametrize("amount, installments, attr", [("1000000", 12, "amount"), ("60000000", 12, "amount"), ("20000000", 2, "installments"),
                                                       ("20000000", 48, "installments")])
def test_amount_and_term_outside_the_product_are_refused(api, staff, member, product, amount, installments, attr):
    before = snapshot()
    r = api(staff.officer).post("/api/v1/applications/", application_body(member, product, amount, installments), format="json")
    assert_error(r, 400, "not_eligible", attr)
    assert snapshot() == before


def test_arrears_on_another_loan_beyond_tolerance_fail_appraisal(api, fund, staff, member, product, walk, loans_elsewhere):
    app_id = walk(member, product, to="submitted")
    loans_elsewhere[member.pk] = exposure.MemberExposure(outstanding_principal=Decimal(5_000_000), max_days_past_due=3)
    before = snapshot()
    r = post(api, staff.officer, app_id, "appraise", APPRAISAL)
    assert_error(r, 400, "not_eligible", "member")
    assert [c["name"] for c in r.json()["errors"][0]["checks"] if not c["passed"]] == ["no_arrears"]
    assert snapshot() == before
    # The fund tolerates up to 5 days: now it passes.
    fund_settings_update(fund=fund, effective_from=today(), changes={"arrears_tolerance_days": 5}, changed_by=staff.director)
    assert post(api, staff.officer, app_id, "appraise", APPRAISAL).json()["status"] == "appraised"


def test_repayment_capacity_is_checked_against_income(api, staff, make_member, product, walk):
    # 20 M, 12 months, 7.2 % annuity rounded to 1,000: 1,732,000 a month, the last ~1,734,000 (it takes
    # the remainder): largest / 3,000,000 = 0.578 > 0.40; / 4,500,000 = 0.385 <= 0.40.
    poor_income = make_member(income=Decimal(3_000_000))
    app_id = walk(poor_income, product, to="submitted")
    before = snapshot()
    r = post(api, staff.officer, app_id, "appraise", APPRAISAL)
    assert_error(r, 400, "repayment_capacity_exceeded", "amount")
    figures = next(c for c in r.json()["errors"][0]["checks"] if c["name"] == "repayment_capacity")["figures"]
    preview = api(staff.officer).get(f"/api/v1/applications/{app_id}/schedule-preview/").json()
    largest = max(Decimal(row["total"]) + Decimal(row["savings"]) for row in preview["installments"])
    assert figures["largest_installment"] == str(largest) and Decimal("1732000") <= largest < Decimal("1740000")
    assert figures["ratio"] == str((largest / 3_000_000).quantize(Decimal("0.0001"))) and figures["max_ratio"] == "0.4000"
    assert snapshot() == before
    enough = make_member(income=Decimal(4_500_000))
    assert walk(enough, product, to="appraised")


def test_weekly_installments_count_as_a_monthly_burden(api, staff, make_member, make_product, walk):
    weekly = make_product(frequency="weekly", interest_method="flat", min_installments=10, max_installments=150)
    member = make_member(income=Decimal(3_000_000))
    # 20 M over 52 weeks flat 7.2 %: 385,000 + 27,692 a week, x 52 / 12 = 1,788,665 a month: 0.5962 of income.
    app_id = walk(member, weekly, to="submitted", installments=52)
    r = post(api, staff.officer, app_id, "appraise", APPRAISAL)
    assert_error(r, 400, "repayment_capacity_exceeded")


# ---- exposure cap ----------------------------------------------------------------------------

def test_exposure_cap_counts_outstanding_loans(api, staff, member, product, walk, loans_elsewhere):
    loans_elsewhere[member.pk] = exposure.MemberExposure(outstanding_principal=Decimal(35_000_000))
    app_id = walk(member, product, to="submitted", amount="20000000")  # 35 + 20 > 50
    before = snapshot()
    r = post(api, staff.officer, app_id, "appraise", APPRAISAL)
    assert_error(r, 400, "exposure_cap_exceeded", "amount")
    assert next(c for c in r.json()["errors"][0]["checks"] if c["name"] == "exposure_cap")["figures"]["total"] == "55000000"
    assert snapshot() == before
    ok = walk(member, product, to="appraised", amount="15000000")  # 35 + 15 = 50: at the cap is allowed
    assert api(staff.officer).get(f"/api/v1/applications/{ok}/").json()["appraisal"]["exposure_after"] == "50000000"


def test_exposure_cap_counts_approved_not_disbursed_and_blocks_a_second_approval(api, staff, member, product, walk):
    first = walk(member, product, to="appraised", amount="30000000")
    second = walk(member, product, to="appraised", amount="30000000")  # each alone fits under 50 M
    assert post(api, staff.approver, first, "approve").json()["status"] == "approved"
    before = snapshot()
    assert_error(post(api, staff.approver, second, "approve"), 400, "exposure_cap_exceeded", "amount")
    assert snapshot() == before
    # A third one is refused at appraisal already: 30 M promised + 25 M.
    third = walk(member, product, to="submitted", amount="25000000")
    assert_error(post(api, staff.officer, third, "appraise", APPRAISAL), 400, "exposure_cap_exceeded")
    # Withdrawing the first frees the room.
    post(api, staff.approver, first, "withdraw", {"reason": "Đổi ý"})
    assert post(api, staff.approver, second, "approve").json()["status"] == "approved"


def test_the_cap_follows_the_funds_dated_settings(api, fund, staff, member, product, walk):
    fund_settings_update(fund=fund, effective_from=today(), changes={"exposure_cap": Decimal(15_000_000)}, changed_by=staff.director)
    app_id = walk(member, product, to="submitted", amount="20000000")
    assert_error(post(api, staff.officer, app_id, "appraise", APPRAISAL), 400, "exposure_cap_exceeded")


# ---- expiry and the hand-over to servicing ---------------------------------------------------

def test_approved_applications_expire_after_the_validity_days_and_cannot_be_disbursed(api, fund, staff, member, product, walk):
    app_id = walk(member, product, to="approved")
    application = LoanApplication.objects.get(pk=app_id)
    assert applications_expire(as_of=application.approved_until) == 0  # the last valid day
    LoanApplication.objects.filter(pk=app_id).update(approved_until=today() - timedelta(days=1))
    with pytest.raises(InvalidState):
        application_mark_disbursed(application=LoanApplication.objects.get(pk=app_id), disbursed_by=staff.accountant)
    assert applications_expire(as_of=today()) == 1
    assert applications_expire(as_of=today()) == 0  # idempotent
    application.refresh_from_db()
    assert application.status == "expired"
    assert ApplicationEvent.objects.filter(application=application).last().to_status == "expired"
    assert_error(post(api, staff.approver, app_id, "withdraw", {"reason": "x"}), 409, "invalid_state")


def test_mark_disbursed_moves_a_valid_approval_only(staff, member, product, walk):
    app_id = walk(member, product, to="approved")
    application = application_mark_disbursed(application=LoanApplication.objects.get(pk=app_id), disbursed_by=staff.accountant)
    assert application.status == "disbursed"
    assert application.events.last().actor == staff.accountant
    with pytest.raises(InvalidState):
        application_mark_disbursed(application=LoanApplication.objects.get(pk=app_id), disbursed_by=staff.accountant)
    draft = walk(member, product, to="draft")
    with pytest.raises(InvalidState):
        application_mark_disbursed(application=LoanApplication.objects.get(pk=draft), disbursed_by=staff.accountant)


def test_applications_are_filterable_and_paginated(api, staff, make_member, product, make_product, walk):
    a, b = make_member(), make_member()
    other = make_product(code="other")
    walk(a, product, to="draft")
    walk(a, other, to="submitted")
    walk(b, product, to="approved")
    client = api(staff.officer)
    assert client.get("/api/v1/applications/?status=submitted").json()["count"] == 1
    assert client.get(f"/api/v1/applications/?member={a.pk}").json()["count"] == 2
    assert client.get(f"/api/v1/applications/?product={other.pk}").json()["count"] == 1
    assert client.get(f"/api/v1/applications/?branch={a.branch_id}").json()["count"] == 3
    page = client.get("/api/v1/applications/?limit=2&offset=0").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_approved_not_disbursed_counts_only_valid_approvals_of_other_applications(staff, member, product, walk):
    from loanfund.origination.selectors import approved_undisbursed_total

    first = walk(member, product, to="approved", amount="10000000")
    second = walk(member, product, to="approved", amount="12000000")
    walk(member, product, to="appraised", amount="5000000")  # not approved: not a promise
    assert approved_undisbursed_total(member=member) == Decimal(22_000_000)
    assert approved_undisbursed_total(member=member, exclude_application_id=second) == Decimal(10_000_000)
    application_mark_disbursed(application=LoanApplication.objects.get(pk=first), disbursed_by=staff.accountant)
    assert approved_undisbursed_total(member=member) == Decimal(12_000_000)  # now a loan, servicing reports it
    LoanApplication.objects.filter(pk=second).update(approved_until=today() - timedelta(days=1))
    assert approved_undisbursed_total(member=member) == Decimal(0)  # past its validity: can never be disbursed


def test_the_expiry_command_and_task_expire_past_approvals(staff, member, product, walk):
    from django.core.management import call_command

    from loanfund.origination.tasks import expire_applications

    a = walk(member, product, to="approved", amount="5000000")
    b = walk(member, product, to="approved", amount="5000000")
    LoanApplication.objects.filter(pk__in=[a, b]).update(approved_until=date(2025, 1, 31))
    assert expire_applications.delay(as_of="2025-01-31").get() == 0  # still valid on its last day
    call_command("expire_applications", "--as-of", "2025-02-01")
    assert set(LoanApplication.objects.filter(pk__in=[a, b]).values_list("status", flat=True)) == {"expired"}
    assert expire_applications.delay().get() == 0


def test_lists_run_a_fixed_number_of_queries_whatever_their_length(api, staff, make_member, product, walk):
    def count(path):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert api(staff.auditor).get(path).status_code == 200
        return len(ctx.captured_queries)

    walk(make_member(), product, to="approved")
    api(staff.auditor).get("/api/v1/fund/")  # the user's roles and fund are cached on first use
    few = {p: count(p) for p in ("/api/v1/applications/", "/api/v1/members/", "/api/v1/products/", "/api/v1/branches/")}
    for _ in range(4):
        walk(make_member(), product, to="approved")
    many = {p: count(p) for p in few}
    assert many == few


def test_term_is_accepted_as_the_number_of_installments(api, staff, member, product):
    body = application_body(member, product)
    body["term"] = body.pop("installments")
    r = api(staff.officer).post("/api/v1/applications/", body, format="json")
    assert r.status_code == 201 and r.json()["installments"] == 12
