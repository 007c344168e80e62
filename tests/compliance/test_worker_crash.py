"""A real Celery worker on Redis produces a report end to end through the API, and a worker killed
mid-report (SIGKILL, parent and child) and started again finishes it: one file per format, one
provisioning entry."""

import os
import time

import pytest

from compliance.models import ComplianceReport, ReportFile
from loanfund.models import JournalEntry

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

VISIBILITY = 3  # seconds the broker waits before handing an unacknowledged message to another worker


@pytest.fixture
def slow_worker(monkeypatch, django_db_setup, django_db_blocker):
    # The worker inherits this environment: each stage pauses, so the test can kill it mid-report,
    # and the broker redelivers the unacknowledged message seconds (not an hour) after the crash.
    monkeypatch.setenv("COMPLIANCE_STAGE_PAUSE_SECONDS", "1")
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", str(VISIBILITY))


def wait_for(predicate, timeout=45, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def test_worker_killed_mid_report_is_finished_by_the_next_one(slow_worker, celery_worker, crash_portfolio, api, settings):
    fund, staff = crash_portfolio.fund, crash_portfolio.staff
    r = api(staff.accountant).post("/api/v1/reports/", {"kind": "classification_provisioning", "period": "2025-06"}, format="json")
    assert r.status_code == 202
    rid = r.json()["id"]
    # kill it once the provision is posted and the first file is being written
    wait_for(lambda: ComplianceReport.objects.filter(pk=rid, stage__in=["render csv", "render pdf"]).exists())
    celery_worker.kill()
    report = ComplianceReport.objects.get(pk=rid)
    assert report.status == "running"  # stranded: nobody acknowledged the message
    time.sleep(VISIBILITY + 1)
    celery_worker.start()
    report = wait_for(lambda: ComplianceReport.objects.filter(pk=rid, status__in=["ready", "failed"]).first(), timeout=50)
    assert report.status == "ready", report.error
    files = ReportFile.objects.filter(report_id=rid)
    assert sorted(files.values_list("format", flat=True)) == ["csv", "pdf", "xlsx"]
    folder = os.path.dirname(files.first().file.path)
    assert sorted(os.listdir(folder)) == sorted(os.path.basename(f.file.name) for f in files)
    run = report.provision_run
    entries = JournalEntry.objects.filter(fund=fund, kind="provision", source_type="provision_run", source_id=str(run.pk))
    assert entries.count() == 1 and run.journal_entry_id == entries.get().pk  # posted once, though the run started twice
    assert sorted(entries.get().lines.values_list("account__code", "side", "amount")) == [("1391", "C", 5_320_000), ("6311", "D", 5_320_000)]
    assert JournalEntry.objects.filter(fund=fund, kind="provision").count() == 2  # May's (fixture) and June's
    body = api(staff.director).get(f"/api/v1/reports/{rid}/").json()
    assert body["progress"] == {"stage": "ready", "percent": 100} and len(body["files"]) == 3
