"""A real Celery worker on Redis runs a job that the test process enqueues."""

import time

import pytest

from loanfund.models import Job
from loanfund.services.jobs import job_create
from loanfund.tasks import ledger_verify


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_job_from_the_broker(make_fund, celery_worker):
    fund = make_fund("celeryfund", capital=1_000_000)
    job = job_create(fund=fund, kind="ledger_verify", params={})
    ledger_verify.delay(job.pk)
    deadline = time.time() + 60
    while time.time() < deadline:
        job.refresh_from_db()
        if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED):
            break
        time.sleep(0.2)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result == {"on_balance_difference": "0", "off_balance_difference": "0", "unbalanced_entries": 0}
    assert job.progress == 100
