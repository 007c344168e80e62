"""Demo data for compliance: the last ended month classified and its two monthly reports generated
(synchronously, a second or two), so the demo shows ready reports with files to download.
Idempotent: a period already reported is left as it is."""

from __future__ import annotations

from django.utils import timezone

from compliance.models import ComplianceReport
from compliance.periods import last_month
from compliance.services.reports import report_generate, report_request


def seed_reports(fund, users: dict | None = None) -> list[ComplianceReport]:
    period = last_month(timezone.localdate())
    accountant = (users or {}).get("accountant")
    reports = []
    for kind in (ComplianceReport.Kind.MONTHLY_PORTFOLIO, ComplianceReport.Kind.CLASSIFICATION_PROVISIONING):
        existing = ComplianceReport.objects.filter(fund=fund, kind=kind, period=period).first()
        if existing is not None:
            reports.append(existing)
            continue
        report = report_request(fund=fund, kind=kind, period=period, requested_by=accountant, enqueue=False)
        reports.append(report_generate(report_id=report.pk))
    return reports
