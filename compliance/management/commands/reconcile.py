from django.core.management.base import BaseCommand, CommandError

from compliance.reconciliation import reconcile
from loanfund.models import Fund


class Command(BaseCommand):
    help = "Check the books: balanced entries, zero trial balance, subledgers equal to GL. Exits non-zero on any difference."

    def add_arguments(self, parser):
        parser.add_argument("--fund", help="fund code (default: every fund)")

    def handle(self, *args, **opts):
        funds = Fund.objects.filter(code=opts["fund"]) if opts.get("fund") else None
        differences = reconcile(funds)
        for difference in differences:
            self.stdout.write(str(difference))
        if differences:
            raise CommandError(f"{len(differences)} difference(s) found.")
        self.stdout.write(self.style.SUCCESS("Reconciled: no differences."))
