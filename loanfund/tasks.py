"""Celery tasks of the fund core: thin wrappers that call a service by id."""

from celery import shared_task

from loanfund.services.jobs import job_run


@shared_task(name="loanfund.tasks.ledger_verify", acks_late=True)
def ledger_verify(job_id: int) -> None:
    from loanfund.models import Job
    from loanfund.selectors.ledger import trial_balance, unbalanced_entries

    def work(job: Job, progress):
        from django.utils import timezone

        tb = trial_balance(fund=job.fund, as_of=timezone.localdate())
        progress("checked", 100)
        return {
            "on_balance_difference": str(tb["totals"]["on_balance"]["difference"]),
            "off_balance_difference": str(tb["totals"]["off_balance"]["difference"]),
            "unbalanced_entries": unbalanced_entries(fund=job.fund).count(),
        }

    job_run(job_id=job_id, work=work)
