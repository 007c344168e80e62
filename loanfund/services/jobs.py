"""Background jobs: a Job row per request, its status and progress, run by a Celery task."""

from __future__ import annotations

import traceback
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from loanfund.models import Fund, Job


def job_create(*, fund: Fund, kind: str, params: dict, created_by=None) -> Job:
    return Job.objects.create(fund=fund, kind=kind, params=params, created_by=created_by)


def job_progress(*, job_id: int, stage: str, percent: int) -> None:
    Job.objects.filter(pk=job_id).update(stage=stage[:100], progress=max(0, min(100, percent)))


def job_run(*, job_id: int, work: Callable[[Job, Callable[[str, int], None]], dict]) -> Job:
    """Run `work(job, progress)` and record the outcome. A job that already succeeded is not re-run
    (a redelivered message after a worker crash finds it done)."""
    job = Job.objects.select_related("fund").get(pk=job_id)
    if job.status == Job.Status.SUCCEEDED:
        return job
    Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING, started_at=timezone.now(), error="")
    try:
        result = work(job, lambda stage, percent: job_progress(job_id=job_id, stage=stage, percent=percent))
    except Exception:
        Job.objects.filter(pk=job_id).update(status=Job.Status.FAILED, error=traceback.format_exc()[-4000:], finished_at=timezone.now())
        raise
    with transaction.atomic():
        Job.objects.filter(pk=job_id).update(status=Job.Status.SUCCEEDED, progress=100, result=result or {}, finished_at=timezone.now())
    job.refresh_from_db()
    return job
