"""The synthetic portfolio generator stays honest: a small run reconciles (ledger balanced, the
per-loan subledger equals the general ledger and the installments). Not a benchmark: no timing."""

from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import Sum

from bench import generate
from loanfund.models import Fund, JournalLine
from repayments.models import Allocation, Installment, Loan, LoanLedgerLine


@pytest.mark.django_db(transaction=True)
def test_generated_portfolio_reconciles():
    assert generate.main(["200", "--fund", "gen-smoke", "--workers", "2", "--chunk", "50", "--quiet"]) == 0
    fund = Fund.objects.get(code="gen-smoke")
    call_command("reconcile", fund="gen-smoke")  # raises CommandError on any difference

    loans = Loan.objects.filter(fund=fund)
    assert loans.count() == 200
    statuses = Counter(loans.values_list("status", flat=True))
    assert statuses["active"] > 150 and statuses["in_arrears"] > 0
    assert loans.filter(status="in_arrears", days_past_due=0).count() == 0
    # Every loan has its schedule, and what was paid never exceeds what fell due.
    assert Installment.objects.filter(loan__fund=fund).values("loan").distinct().count() == 200
    paid = Allocation.objects.filter(loan__fund=fund, component="principal").aggregate(s=Sum("amount"))["s"]
    scheduled = Installment.objects.filter(loan__fund=fund, schedule_version=1).aggregate(s=Sum("principal"))["s"]
    assert 0 < paid < scheduled
    # The subledger's loans receivable equals the general ledger's (also what reconcile checks).
    sub = LoanLedgerLine.objects.filter(fund=fund, account__in=["1311", "1312"]).aggregate(s=Sum("amount"))["s"]
    lines = JournalLine.objects.filter(entry__fund=fund, account__code__in=["1311", "1312"])
    gl = sum(amount if side == "D" else -amount for side, amount in lines.values_list("side", "amount"))
    assert sub == gl > 0
