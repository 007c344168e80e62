from django.core.management.base import BaseCommand, CommandError

from loanfund import roles
from loanfund.errors import DomainError
from loanfund.models import Fund
from loanfund.services.fund import staff_user_create


class Command(BaseCommand):
    help = "Create a staff user bound to one fund with one or more roles."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--fund", required=True, help="fund code")
        parser.add_argument("--role", action="append", required=True, choices=roles.STAFF_ROLES)
        parser.add_argument("--email", default="")

    def handle(self, *args, **opts):
        try:
            fund = Fund.objects.get(code=opts["fund"])
        except Fund.DoesNotExist:
            raise CommandError(f"No fund with code {opts['fund']!r}.")
        try:
            user = staff_user_create(fund=fund, username=opts["username"], password=opts["password"], role_names=opts["role"], email=opts["email"])
        except DomainError as exc:
            raise CommandError(exc.detail)
        self.stdout.write(self.style.SUCCESS(f"Created {user.username} ({', '.join(opts['role'])}) in {fund.code}."))
