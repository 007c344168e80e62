"""Seed the demo fund (idempotent: does nothing when the demo fund exists) and print the logins."""

from django.core.management.base import BaseCommand
from django.db import transaction

from borrowers.demo import DEMO_MEMBER_USERNAME, seed_members
from compliance.demo import seed_reports
from loanfund.demo import DEMO_PASSWORD, seed_fund
from loanfund.models import Fund
from loanfund.origination.demo import seed_origination
from repayments.demo import seed_servicing


class Command(BaseCommand):
    help = "Seed a demo fund with staff of every role, members, products, applications and loans."

    def handle(self, *args, **opts):
        if not Fund.objects.filter(code="demo").exists():
            with transaction.atomic():
                fund, users = seed_fund()
                people = seed_members(fund=fund, password=DEMO_PASSWORD)
                applications = seed_origination(fund=fund, users=users, members=people["members"])
                seed_servicing(fund=fund, users=users, approved=applications["approved"])
                seed_reports(fund, users)  # last month classified, its two monthly reports ready
            self.stdout.write(self.style.SUCCESS(f"Seeded demo fund {fund.code}."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role in ("officer", "approver", "accountant", "director", "auditor"):
            self.stdout.write(f"  {role:<11} username={role}")
        self.stdout.write(f"  {'member':<11} username={DEMO_MEMBER_USERNAME}")
        self.stdout.write("API docs: http://127.0.0.1:8000/api/docs/  health: http://127.0.0.1:8000/healthz")
