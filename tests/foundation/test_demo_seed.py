import pytest
from django.core.management import call_command

from compliance.reconciliation import reconcile
from loanfund.models import Fund


@pytest.mark.django_db
def test_demo_seed_runs_and_reconciles(capsys):
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent
    assert Fund.objects.filter(code="demo").count() == 1
    out = capsys.readouterr().out
    assert "username=officer" in out and "username=director" in out
    assert reconcile() == []
