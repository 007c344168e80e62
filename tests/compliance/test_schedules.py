"""The beat jobs (names in config/settings/base.py) classify and queue the right periods for every
fund, and never touch a finalised report."""

from datetime import date

import pytest
from django.conf import settings
from django.utils import timezone

from compliance import tasks
from compliance.models import ComplianceReport, ProvisionRun
from compliance.periods import last_month, last_quarter, previous_month_end
from compliance.services.reports import report_finalise

pytestmark = pytest.mark.django_db


def test_beat_schedule_names_the_compliance_tasks():
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"compliance.tasks.classify_all_funds", "compliance.tasks.monthly_reports_all_funds",
            "compliance.tasks.quarterly_reports_all_funds"} <= names
    for name in ("compliance.tasks.classify_all_funds", "compliance.tasks.monthly_reports_all_funds",
                 "compliance.tasks.quarterly_reports_all_funds"):
        assert getattr(tasks, name.rsplit(".", 1)[1]).name == name


def test_period_helpers():
    assert last_month(date(2025, 1, 2)) == "2024-12" and last_month(date(2025, 4, 2)) == "2025-03"
    assert last_quarter(date(2025, 1, 5)) == "2024-Q4" and last_quarter(date(2025, 4, 5)) == "2025-Q1"
    assert last_quarter(date(2025, 10, 5)) == "2025-Q3"
    assert previous_month_end(date(2025, 3, 1)) == date(2025, 2, 28)


def test_classify_all_funds_classifies_every_fund_as_of_last_month_end(fund, other_fund):
    result = tasks.classify_all_funds.delay().get()
    period_end = previous_month_end(timezone.localdate())
    assert set(result) == {fund.code, other_fund.code}
    assert ProvisionRun.objects.filter(period_end=period_end).count() == 2
    tasks.classify_all_funds.delay().get()  # idempotent: refreshed in place, no second run
    assert ProvisionRun.objects.filter(period_end=period_end).count() == 2


def test_monthly_and_quarterly_jobs_queue_reports_and_skip_finalised_ones(fund, other_fund, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queued = tasks.monthly_reports_all_funds.delay().get()
    month = last_month(timezone.localdate())
    assert len(queued) == 4
    reports = ComplianceReport.objects.filter(period=month)
    assert sorted(reports.values_list("fund__code", "kind", "status")) == sorted(
        (f.code, kind, "ready") for f in (fund, other_fund) for kind in ("monthly_portfolio", "classification_provisioning"))
    signed = reports.get(fund=fund, kind="monthly_portfolio")
    report_finalise(report=signed, finalised_by=staff.director)
    with django_capture_on_commit_callbacks(execute=True):
        again = tasks.monthly_reports_all_funds.delay().get()
    assert again[f"{fund.code}:monthly_portfolio"] == "report_finalised"
    signed.refresh_from_db()
    assert signed.status == "finalised" and signed.version == 1
    with django_capture_on_commit_callbacks(execute=True):
        q = tasks.quarterly_reports_all_funds.delay(period="2025-Q2").get()
    assert set(q) == {f"{fund.code}:sbv_operations", f"{other_fund.code}:sbv_operations"}
    assert ComplianceReport.objects.filter(kind="sbv_operations", period="2025-Q2", status="ready").count() == 2
