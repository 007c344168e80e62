"""Generate a compliance report now, in this process, with a progress bar (the same work the Celery
task does).

    manage.py report --fund demo --kind monthly_portfolio --period 2025-03
    manage.py report --fund demo --kind sbv_operations --period 2025-Q1
    manage.py report --all-funds --kind monthly_portfolio            # last month, like beat on the 2nd
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from compliance.models import ComplianceReport
from compliance.periods import MONTHLY_KINDS, last_month, last_quarter
from compliance.services.reports import report_generate, report_request
from loanfund.errors import DomainError
from loanfund.models import Fund


class Command(BaseCommand):
    help = "Generate a compliance report (XLSX, CSV, PDF) for a fund and period."

    def add_arguments(self, parser):
        parser.add_argument("--fund", help="fund code")
        parser.add_argument("--all-funds", action="store_true")
        parser.add_argument("--kind", required=True, choices=ComplianceReport.Kind.values)
        parser.add_argument("--period", help="YYYY-MM, YYYY-Qn or YYYY (default: the last one that ended)")

    def handle(self, *args, **opts):
        kind = opts["kind"]
        period = opts.get("period") or (last_month(timezone.localdate()) if kind in MONTHLY_KINDS else last_quarter(timezone.localdate()))
        if opts["all_funds"]:
            funds = list(Fund.objects.order_by("code"))
        elif opts.get("fund"):
            funds = list(Fund.objects.filter(code=opts["fund"]))
            if not funds:
                raise CommandError(f"No fund {opts['fund']!r}.")
        else:
            raise CommandError("Give --fund CODE or --all-funds.")
        console = Console(file=self.stdout, force_terminal=False)
        failures = 0
        for fund in funds:
            try:
                report = report_request(fund=fund, kind=kind, period=period, enqueue=False)
            except DomainError as exc:
                console.print(f"{fund.code}: {exc.code}: {exc.detail}")
                failures += 1
                continue
            with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                          console=console) as progress:
                task = progress.add_task(f"{fund.code} {kind} {period}", total=100)
                report = report_generate(report_id=report.pk, on_progress=lambda stage, pct, task=task, progress=progress, code=fund.code:
                                         progress.update(task, completed=pct, description=f"{code} {kind} {period}: {stage}"))
            if report.status != ComplianceReport.Status.READY:
                console.print(f"{fund.code}: {report.status} {report.error}")
                failures += 1
                continue
            for f in report.files.order_by("format"):
                console.print(f"{fund.code} v{report.version} {f.format}: {f.file.path} sha256={f.sha256} ({f.size} bytes)")
        if failures:
            raise CommandError(f"{failures} report(s) not generated.")
