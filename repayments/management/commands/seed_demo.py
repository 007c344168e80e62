"""Seed the demo fund (idempotent: does nothing when the demo fund exists) and print the logins."""

from django.core.management.base import BaseCommand
from django.db import transaction

from loanfund.demo import DEMO_PASSWORD, seed_fund
from loanfund.models import Fund


class Command(BaseCommand):
    help = "Seed a demo fund with staff of every role, members, products, applications and loans."

    def handle(self, *args, **opts):
        if not Fund.objects.filter(code="demo").exists():
            with transaction.atomic():
                fund, users = seed_fund()
            self.stdout.write(self.style.SUCCESS(f"Seeded demo fund {fund.code}."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role in ("officer", "approver", "accountant", "director", "auditor"):
            self.stdout.write(f"  {role:<11} username={role}")
        self.stdout.write("API docs: http://127.0.0.1:8000/api/docs/  health: http://127.0.0.1:8000/healthz")
