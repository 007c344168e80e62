"""Celery tasks of servicing: thin wrappers that call a service by id."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from loanfund.services.jobs import job_create, job_run


@shared_task(name="repayments.tasks.close_of_business_fund", acks_late=True)
def close_of_business_fund(job_id: int) -> None:
    from .cob import close_of_business

    def work(job, progress):
        return close_of_business(fund=job.fund, as_of=date.fromisoformat(job.params["as_of"]), progress=progress)

    job_run(job_id=job_id, work=work)


@shared_task(name="repayments.tasks.close_of_business_all_funds")
def close_of_business_all_funds(as_of: str | None = None) -> list[int]:
    """Beat, 00:30 Vietnamese time: close yesterday for every fund (one job per fund)."""
    from loanfund.models import Fund

    day = date.fromisoformat(as_of) if as_of else timezone.localdate() - timedelta(days=1)
    jobs = []
    for fund in Fund.objects.order_by("pk"):
        job = job_create(fund=fund, kind="close_of_business", params={"as_of": day.isoformat()})
        close_of_business_fund.delay(job.pk)
        jobs.append(job.pk)
    return jobs
