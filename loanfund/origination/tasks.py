"""Celery task: approved applications past their validity become expired (one set-based UPDATE).

Scheduled daily at 00:15 by the beat schedule in config/settings/base.py.
"""

from celery import shared_task
from django.utils import timezone


@shared_task(name="loanfund.origination.tasks.expire_applications", acks_late=True)
def expire_applications(as_of: str | None = None) -> int:
    from datetime import date

    from loanfund.origination.services import applications_expire

    return applications_expire(as_of=date.fromisoformat(as_of) if as_of else timezone.localdate())
