from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from loanfund.models import Fund
from repayments.cob import close_of_business


class Command(BaseCommand):
    help = "Close of business (aging, interest falling due, penalty) for an as-of date; idempotent, resumable."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--fund", help="fund code (default: every fund)")
        parser.add_argument("--rerun", action="store_true", help="run a finished day again (posts only corrections)")

    def handle(self, *args, **opts):
        try:
            as_of = date.fromisoformat(opts["as_of"]) if opts.get("as_of") else timezone.localdate() - timedelta(days=1)
        except ValueError as exc:
            raise CommandError(f"--as-of: {exc}")
        funds = Fund.objects.filter(code=opts["fund"]) if opts.get("fund") else Fund.objects.order_by("code")
        for fund in funds:
            result = close_of_business(fund=fund, as_of=as_of, rerun=opts["rerun"])
            self.stdout.write(f"{fund.code} {as_of}: {result}")
