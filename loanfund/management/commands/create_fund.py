from django.core.management.base import BaseCommand, CommandError

from loanfund.models import Fund
from loanfund.services.fund import fund_create


class Command(BaseCommand):
    help = "Create a fund (tenant) with its chart of accounts and default dated settings."

    def add_arguments(self, parser):
        parser.add_argument("--code", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", default=Fund.Kind.PROGRAM, choices=Fund.Kind.values)
        parser.add_argument("--province", default="")

    def handle(self, *args, **opts):
        if Fund.objects.filter(code=opts["code"]).exists():
            raise CommandError(f"Fund {opts['code']!r} exists.")
        fund = fund_create(code=opts["code"], name=opts["name"], kind=opts["kind"], province=opts["province"])
        self.stdout.write(self.style.SUCCESS(f"Created fund {fund.code}."))
