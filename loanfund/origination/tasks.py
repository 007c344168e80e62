"""Celery task: approved applications past their validity become expired (one set-based UPDATE).

Not yet in the beat schedule: add {"task": "loanfund.origination.tasks.expire_applications",
"schedule": crontab(minute=15, hour=0)} and `app.autodiscover_tasks(["loanfund.origination"])`.
"""

from celery import shared_task
from django.utils import timezone


@shared_task(name="loanfund.origination.tasks.expire_applications", acks_late=True)
def expire_applications(as_of: str | None = None) -> int:
    from datetime import date

    from loanfund.origination.services import applications_expire

    return applications_expire(as_of=date.fromisoformat(as_of) if as_of else timezone.localdate())
