"""Close of business on a real Celery worker, killed midway (SIGKILL) and run again."""

import os
import time
from datetime import date
from decimal import Decimal

import pytest

from loanfund.models import Job
from loanfund.services.jobs import job_create
from repayments import cob
from repayments.models import CloseOfBusinessRun, Loan
from repayments.tasks import close_of_business_all_funds, close_of_business_fund

from .helpers import assert_sound, books
from .test_close_of_business import portfolio, staff_in


def wait_for(predicate, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def pausing_worker(request):
    """A real worker whose close of business sleeps after the aging stage (fault injection)."""
    os.environ["REPAYMENTS_COB_PAUSE_AFTER"] = "aging:20"
    try:
        yield request.getfixturevalue("celery_worker")
    finally:
        os.environ.pop("REPAYMENTS_COB_PAUSE_AFTER", None)


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_worker_killed_after_a_stage_and_rerun_matches_an_uninterrupted_run(make_fund, make_staff, make_loan, pausing_worker):
    calm, crashy = make_fund("calmw", capital=Decimal(10_000_000_000)), make_fund("crashyw", capital=Decimal(10_000_000_000))
    for f in (calm, crashy):
        portfolio(f, make_loan, staff_in(f, make_staff))
    day = date(2025, 2, 28)  # a month's last day: every loan's penalty, whatever weekly cohort the two funds' loan ids fall in
    cob.close_of_business(fund=calm, as_of=day)  # in this process: uninterrupted

    job = job_create(fund=crashy, kind="close_of_business", params={"as_of": day.isoformat()})
    close_of_business_fund.delay(job.pk)
    assert wait_for(lambda: CloseOfBusinessRun.objects.filter(fund=crashy, as_of=day, stage="aging").exists())
    pausing_worker.kill()  # power cut after the aging stage committed
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING
    os.environ.pop("REPAYMENTS_COB_PAUSE_AFTER")
    pausing_worker.start()
    close_of_business_fund.delay(job.pk)  # the operator (or the next beat) runs it again
    assert wait_for(lambda: Job.objects.get(pk=job.pk).status in (Job.Status.SUCCEEDED, Job.Status.FAILED))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert CloseOfBusinessRun.objects.get(fund=crashy, as_of=day).stage == "done"
    assert books(calm) == books(crashy)
    assert list(Loan.objects.filter(fund=calm).order_by("pk").values_list("status", "days_past_due")) == \
        list(Loan.objects.filter(fund=crashy).order_by("pk").values_list("status", "days_past_due"))
    assert_sound(crashy)


@pytest.mark.django_db
def test_beat_task_closes_yesterday_for_every_fund(make_fund):
    funds = [make_fund("b1"), make_fund("b2")]
    jobs = close_of_business_all_funds()
    assert len(jobs) >= 2
    for fund in funds:
        job = Job.objects.get(fund=fund, kind="close_of_business")
        assert job.status == Job.Status.SUCCEEDED
        assert CloseOfBusinessRun.objects.get(fund=fund).stage == "done"

