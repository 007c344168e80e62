"""Reports through the API: 202 + progress + files with checksums, roles, fund scoping, finalise,
and a finalised report that no endpoint, admin action, task or SQL statement can change."""

import hashlib
from datetime import timedelta

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction
from django.test import Client
from django.utils import timezone

from compliance.models import ComplianceReport, ReportFile, ReportFinalisedError
from compliance.services.reports import report_generate
from tests.foundation.test_api_core import assert_error

pytestmark = pytest.mark.django_db


def request_report(client, capture, kind="monthly_portfolio", period="2025-03", **extra):
    with capture(execute=True):
        return client.post("/api/v1/reports/", {"kind": kind, "period": period, **extra}, format="json")


def body(response):
    return b"".join(response.streaming_content)


def test_generation_via_api_gives_files_with_checksums(staff, api, django_capture_on_commit_callbacks):
    r = request_report(api(staff.accountant), django_capture_on_commit_callbacks)
    assert r.status_code == 202, r.json()
    assert set(r.json()) >= {"id", "status"} and r.json()["status"] == "queued"
    report = api(staff.auditor).get(f"/api/v1/reports/{r.json()['id']}/").json()
    assert report["status"] == "ready", report
    assert report["progress"] == {"stage": "ready", "percent": 100}
    assert sorted(f["format"] for f in report["files"]) == ["csv", "pdf", "xlsx"]
    for f in report["files"]:
        download = api(staff.director).get(f["url"])
        assert download.status_code == 200
        assert hashlib.sha256(body(download)).hexdigest() == f["sha256"]
    assert report["generated_by"] == staff.accountant.username and report["snapshot_date"] == "2025-03-31"


def test_roles_and_fund_scope(staff, api, make_fund, make_staff, django_capture_on_commit_callbacks):
    assert request_report(api(staff.officer), django_capture_on_commit_callbacks).status_code == 403
    assert request_report(api(staff.auditor), django_capture_on_commit_callbacks).status_code == 403
    rid = request_report(api(staff.director), django_capture_on_commit_callbacks).json()["id"]
    assert api(staff.officer).get(f"/api/v1/reports/{rid}/").status_code == 403
    stranger = make_staff(make_fund("gamma"), "director")
    assert api(stranger).get(f"/api/v1/reports/{rid}/").status_code == 404
    assert api(stranger).get(f"/api/v1/reports/{rid}/files/pdf/").status_code == 404
    assert api(stranger).post(f"/api/v1/reports/{rid}/finalise/").status_code == 404
    assert api(stranger).get("/api/v1/reports/").json()["count"] == 0


def test_period_rules(staff, api, django_capture_on_commit_callbacks):
    client = api(staff.accountant)
    this_month = timezone.localdate().strftime("%Y-%m")
    assert_error(request_report(client, django_capture_on_commit_callbacks, period=this_month), 409, "period_not_closed", "period")
    assert_error(request_report(client, django_capture_on_commit_callbacks, period="2025-13"), 400, "invalid_period", "period")
    assert_error(request_report(client, django_capture_on_commit_callbacks, kind="sbv_operations", period="2025-03"), 400,
                 "invalid_period", "period")
    assert request_report(client, django_capture_on_commit_callbacks, kind="sbv_operations", period="2025-Q1").status_code == 202
    assert request_report(client, django_capture_on_commit_callbacks, kind="sbv_operations", period="2024").status_code == 202
    assert_error(request_report(client, django_capture_on_commit_callbacks, kind="weekly"), 400, "invalid_choice", "kind")


def test_finalised_report_never_changes(staff, api, fund, django_capture_on_commit_callbacks, admin_user):
    rid = request_report(api(staff.accountant), django_capture_on_commit_callbacks).json()["id"]
    assert_error(api(staff.accountant).post(f"/api/v1/reports/{rid}/finalise/"), 403, "permission_denied")
    r = api(staff.director).post(f"/api/v1/reports/{rid}/finalise/")
    assert r.status_code == 200 and r.json()["status"] == "finalised" and r.json()["finalised_by"] == staff.director.username
    report = ComplianceReport.objects.get(pk=rid)
    files_before = {f.format: (f.sha256, f.file.name) for f in report.files.all()}
    assert report.provision_run.frozen

    # endpoints: finalise again, regenerate, modify, delete
    assert_error(api(staff.director).post(f"/api/v1/reports/{rid}/finalise/"), 409, "report_finalised")
    assert_error(request_report(api(staff.accountant), django_capture_on_commit_callbacks), 409, "report_finalised")
    for method in ("put", "patch", "delete"):
        assert getattr(api(staff.director), method)(f"/api/v1/reports/{rid}/", {}, format="json").status_code == 405
    # a task re-delivered for it changes nothing
    report_generate(report_id=rid, generation=report.generation)
    report.refresh_from_db()
    assert report.status == "finalised"
    assert {f.format: (f.sha256, f.file.name) for f in report.files.all()} == files_before
    # code paths and the database itself refuse it
    report.stage = "tampered"
    with pytest.raises(ReportFinalisedError):
        report.save()
    with pytest.raises(ReportFinalisedError):
        report.files.first().save()
    with pytest.raises(ReportFinalisedError):
        report.provision_run.save()
    for sql in ("UPDATE compliance_compliancereport SET progress = 1 WHERE id = %s",
                "DELETE FROM compliance_reportfile WHERE report_id = %s",
                "UPDATE compliance_provisionrun SET loans = 99 WHERE id = (SELECT provision_run_id FROM compliance_compliancereport WHERE id = %s)"):
        with pytest.raises((InternalError, ProgrammingError, IntegrityError)), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [rid])
    # the admin is read-only, and its actions list is empty
    admin_client = Client()
    admin_client.force_login(admin_user)
    change = admin_client.post(f"/admin/compliance/compliancereport/{rid}/change/", {"status": "ready"})
    assert change.status_code in (403, 200)
    assert ComplianceReport.objects.get(pk=rid).status == "finalised"
    assert admin_client.post(f"/admin/compliance/compliancereport/{rid}/delete/", {"post": "yes"}).status_code == 403
    assert ComplianceReport.objects.filter(pk=rid).exists()


def test_a_corrected_version_supersedes_the_finalised_one(staff, api, django_capture_on_commit_callbacks):
    rid = request_report(api(staff.accountant), django_capture_on_commit_callbacks).json()["id"]
    api(staff.director).post(f"/api/v1/reports/{rid}/finalise/")
    assert_error(request_report(api(staff.accountant), django_capture_on_commit_callbacks, supersede=True, reason="x"), 403,
                 "permission_denied")
    assert_error(request_report(api(staff.director), django_capture_on_commit_callbacks, supersede=True), 400, "reason_required",
                 "reason")
    r = request_report(api(staff.director), django_capture_on_commit_callbacks, supersede=True, reason="late repayment posted")
    assert r.status_code == 202 and r.json()["version"] == 2
    v2 = api(staff.director).get(f"/api/v1/reports/{r.json()['id']}/").json()
    assert v2["supersedes"] == rid and v2["supersede_reason"] == "late repayment posted" and v2["status"] == "ready"
    assert v2["provision_run"]["version"] == 2  # a corrected classification, not the frozen one
    assert ComplianceReport.objects.get(pk=rid).status == "finalised"


def test_generation_and_finalisation_are_in_the_audit_trail(staff, api, django_capture_on_commit_callbacks):
    rid = request_report(api(staff.accountant), django_capture_on_commit_callbacks).json()["id"]
    api(staff.director).post(f"/api/v1/reports/{rid}/finalise/")
    history = list(ComplianceReport.objects.get(pk=rid).history.order_by("history_date").values_list("status", "history_user_id"))
    statuses = [s for s, _ in history]
    assert statuses[0] == "queued" and "running" in statuses and "ready" in statuses and statuses[-1] == "finalised"
    assert history[-1][1] == staff.director.pk
    assert ReportFile.history.filter(report_id=rid).count() == 3


def test_regenerating_a_ready_report_replaces_its_files(staff, api, django_capture_on_commit_callbacks):
    client = api(staff.accountant)
    rid = request_report(client, django_capture_on_commit_callbacks).json()["id"]
    first = {f.format: f.pk for f in ReportFile.objects.filter(report_id=rid)}
    again = request_report(client, django_capture_on_commit_callbacks)
    assert again.json()["id"] == rid
    assert {f.format: f.pk for f in ReportFile.objects.filter(report_id=rid)} == first  # same rows, no duplicates
    report = ComplianceReport.objects.get(pk=rid)
    assert report.generation == 2 and report.status == "ready"
    assert report.generated_at > timezone.now() - timedelta(minutes=1)


def test_commands_classify_and_report_with_progress(fund, staff):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("classify", "--as-of", "2025-03-31", "--fund", fund.code, stdout=out)
    assert f"{fund.code}: 0 loans" in out.getvalue()
    out = StringIO()
    call_command("report", "--fund", fund.code, "--kind", "sbv_operations", "--period", "2025-Q1", stdout=out)
    text = out.getvalue()
    assert "100%" in text and "v1 pdf" in text and "sha256=" in text
    report = ComplianceReport.objects.get(fund=fund, kind="sbv_operations", period="2025-Q1")
    assert report.status == "ready" and report.files.count() == 3


def test_demo_seed_generates_last_months_reports_once(fund, staff):
    from compliance.demo import seed_reports

    first = seed_reports(fund, {"accountant": staff.accountant})
    assert [r.status for r in first] == ["ready", "ready"]
    again = seed_reports(fund, {"accountant": staff.accountant})
    assert [r.pk for r in again] == [r.pk for r in first] and ComplianceReport.objects.filter(fund=fund).count() == 2


def test_list_filters_and_download_headers(staff, api, django_capture_on_commit_callbacks):
    client = api(staff.accountant)
    monthly = request_report(client, django_capture_on_commit_callbacks).json()["id"]
    request_report(client, django_capture_on_commit_callbacks, kind="sbv_operations", period="2025-Q1")
    listed = api(staff.auditor).get("/api/v1/reports/?kind=monthly_portfolio").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == monthly
    assert api(staff.auditor).get("/api/v1/reports/?status=ready").json()["count"] == 2
    report = api(staff.auditor).get(f"/api/v1/reports/{monthly}/").json()
    for f in report["files"]:
        r = api(staff.auditor).get(f["url"])
        assert r["X-Checksum-SHA256"] == f["sha256"]
        assert f"monthly_portfolio-2025-03-v1.{f['format']}" in r["Content-Disposition"]
    assert api(staff.auditor).get(f"/api/v1/reports/{monthly}/files/docx/").status_code == 404
