"""Mark approved applications whose validity ended before --as-of (default today) as expired."""

from datetime import date

from django.core.management.base import BaseCommand
from django.utils import timezone

from loanfund.origination.services import applications_expire


class Command(BaseCommand):
    help = "Expire approved applications past approved_until (set-based, idempotent per date)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date.fromisoformat, default=None)

    def handle(self, *args, as_of=None, **opts):
        count = applications_expire(as_of=as_of or timezone.localdate())
        self.stdout.write(f"{count} application(s) expired.")
