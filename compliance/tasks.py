"""Celery tasks: thin wrappers over the services. Late acknowledgement: a worker killed mid-report
leaves its message for the next worker, which re-runs the same generation idempotently."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.utils import timezone

from compliance.periods import last_month, last_quarter, previous_month_end


@shared_task(name="compliance.tasks.generate_report", acks_late=True, reject_on_worker_lost=True)
def generate_report(report_id: int, generation: int) -> str:
    from compliance.services.reports import report_generate

    return report_generate(report_id=report_id, generation=generation).status


def _funds():
    from loanfund.models import Fund

    return Fund.objects.order_by("code")


@shared_task(name="compliance.tasks.classify_all_funds", acks_late=True)
def classify_all_funds(as_of: str | None = None) -> dict:
    """On the 1st at 01:00: classify and provision every fund as of the previous month-end."""
    from compliance.services.provisioning import period_classify

    period_end = date.fromisoformat(as_of) if as_of else previous_month_end(timezone.localdate())
    done = {}
    for fund in _funds():
        run = period_classify(fund=fund, period_end=period_end)
        done[fund.code] = {"run": run.pk, "loans": run.loans, "required": str(run.total_required.amount)}
    return done


def _request_all(kinds: tuple[str, ...], period: str) -> dict:
    from compliance.services.reports import report_request
    from loanfund.errors import DomainError

    queued = {}
    for fund in _funds():
        for kind in kinds:
            try:
                queued[f"{fund.code}:{kind}"] = report_request(fund=fund, kind=kind, period=period).pk
            except DomainError as exc:  # e.g. already finalised: a schedule never overwrites a signed report
                queued[f"{fund.code}:{kind}"] = exc.code
    return queued


@shared_task(name="compliance.tasks.monthly_reports_all_funds", acks_late=True)
def monthly_reports_all_funds(period: str | None = None) -> dict:
    """On the 2nd: the monthly portfolio and the classification/provisioning reports of last month."""
    return _request_all(("monthly_portfolio", "classification_provisioning"), period or last_month(timezone.localdate()))


@shared_task(name="compliance.tasks.quarterly_reports_all_funds", acks_late=True)
def quarterly_reports_all_funds(period: str | None = None) -> dict:
    """On the 5th after a quarter ends: the operations report to the State Bank; in January also the annual one."""
    today = timezone.localdate()
    queued = _request_all(("sbv_operations",), period or last_quarter(today))
    if period is None and today.month == 1:
        queued |= {f"{k} (annual)": v for k, v in _request_all(("sbv_operations",), str(today.year - 1)).items()}
    return queued
