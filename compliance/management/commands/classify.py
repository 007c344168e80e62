"""Classify and provision every fund (or one) as of a month-end, with a progress bar.

    manage.py classify                       # the previous month-end (what beat runs on the 1st)
    manage.py classify --as-of 2025-03-31 --fund demo
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from compliance.periods import month_end, previous_month_end
from compliance.services.provisioning import period_classify
from loanfund.models import Fund


class Command(BaseCommand):
    help = "Classify loans (Circular 14/2024) and post the provision change (Decree 86/2024) as of a month-end."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="a month-end, YYYY-MM-DD (default: the previous month-end)")
        parser.add_argument("--fund", help="fund code (default: every fund)")

    def handle(self, *args, **opts):
        as_of = date.fromisoformat(opts["as_of"]) if opts.get("as_of") else previous_month_end(timezone.localdate())
        if as_of != month_end(as_of.year, as_of.month):
            raise CommandError(f"{as_of} is not a month-end.")
        funds = Fund.objects.order_by("code")
        if opts.get("fund"):
            funds = funds.filter(code=opts["fund"])
            if not funds.exists():
                raise CommandError(f"No fund {opts['fund']!r}.")
        console = Console(file=self.stdout, force_terminal=False)
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} funds"),
                      TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task(f"classify as of {as_of}", total=funds.count())
            for fund in funds:
                progress.update(task, description=f"classify {fund.code} as of {as_of}")
                run = period_classify(fund=fund, period_end=as_of)
                progress.advance(task)
                console.print(f"{fund.code}: {run.loans} loans, principal {run.total_principal.amount:,}, "
                              f"required provision {run.total_required.amount:,}, posted so far {run.change:,} (run v{run.version})")
