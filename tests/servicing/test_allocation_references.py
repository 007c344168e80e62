"""Allocation rows' references are checked once per INSERT statement (migration 0015), not by row
foreign keys at commit: a row must name a loan of its fund, and an installment, repayment,
reversed allocation and journal entry of that loan and fund, whether written one by one or many
per statement. Repayments, like loans and installments, are never deleted, so nothing an
allocation names can disappear."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from repayments.models import Allocation, Installment, Repayment
from repayments.services import repayment_post

pytestmark = pytest.mark.django_db

COLUMNS = "fund_id, loan_id, installment_id, repayment_id, reverses_id, journal_entry_id, component, kind, amount, amount_currency, effective_on"
INSERT = f"""INSERT INTO repayments_allocation ({COLUMNS}, created_at)
             VALUES (%s, %s, %s, %s, %s, %s, 'principal', 'payment', 1, 'VND', DATE '2025-01-13', now())"""


@pytest.fixture
def paid(fund, other_fund, staff, make_loan, make_staff):
    """Two loans of `fund` with a posted repayment each, and a loan of `other_fund` with one."""
    from loanfund import roles

    loans, repayments = [], []
    for owner, officer, reference in ((fund, staff.officer, "r-1"), (fund, staff.officer, "r-2"),
                                      (other_fund, make_staff(other_fund, roles.OFFICER, username="beta-officer"), "r-3")):
        loan = make_loan(owner)
        repayments.append(repayment_post(fund=owner, loan_id=loan.pk, amount=Decimal(230_846), paid_on=date(2025, 1, 13), reference=reference,
                                         channel="cash", posted_by=officer))
        loans.append(loan)
    return loans, repayments


def row_of(repayment: Repayment) -> Allocation:
    return Allocation.objects.filter(repayment=repayment, installment__isnull=False, journal_entry__isnull=False).order_by("id").first()


def refused(sql, params) -> str:
    with pytest.raises(IntegrityError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


def test_allocations_naming_what_is_not_their_loans_or_funds_are_refused_and_nothing_is_written(fund, other_fund, paid):
    (loan, sibling, foreign_loan), (repayment, sibling_repayment, foreign_repayment) = paid
    mine, sibling_row, foreign_row = row_of(repayment), row_of(sibling_repayment), row_of(foreign_repayment)
    sibling_installment = Installment.objects.filter(loan=sibling).order_by("id").first()
    before = Allocation.objects.count()

    def params(**changed):
        base = {"fund": fund.pk, "loan": loan.pk, "installment": mine.installment_id, "repayment": repayment.pk, "reverses": None,
                "entry": mine.journal_entry_id}
        return list({**base, **changed}.values())

    # A row naming its own loan's installment, repayment and entry is written (the check is not a blanket refusal).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(INSERT, params())
        transaction.set_rollback(True)
    assert "no such loan in that fund" in refused(INSERT, params(loan=10**12))
    assert "no such loan in that fund" in refused(INSERT, params(fund=other_fund.pk))  # the loan is another fund's
    assert "not that loan's" in refused(INSERT, params(installment=sibling_installment.pk))
    assert "not that loan's" in refused(INSERT, params(installment=10**12))
    assert "repayment" in refused(INSERT, params(repayment=sibling_repayment.pk))
    assert "repayment" in refused(INSERT, params(repayment=10**12))
    assert "allocation reversed" in refused(INSERT, params(reverses=sibling_row.pk))
    assert "allocation reversed" in refused(INSERT, params(reverses=10**12))
    assert "journal entry" in refused(INSERT, params(entry=foreign_row.journal_entry_id))
    assert "journal entry" in refused(INSERT, params(entry=10**12))
    # One bad row among good ones refuses the whole statement (what multi-row INSERTs write).
    many = INSERT.replace("VALUES (%s, %s, %s, %s, %s, %s, 'principal', 'payment', 1, 'VND', DATE '2025-01-13', now())",
                          "SELECT a.fund_id, a.loan_id, a.installment_id, a.repayment_id, CAST(NULL AS bigint), a.journal_entry_id, a.component, a.kind, "
                          "1, 'VND', a.effective_on, now() FROM repayments_allocation a WHERE a.repayment_id = %s "
                          "UNION ALL SELECT %s, %s, %s, %s, %s, %s, 'principal', 'payment', 1, 'VND', DATE '2025-01-13', now()")
    assert "not that loan's" in refused(many, [repayment.pk, *params(installment=sibling_installment.pk)])
    assert Allocation.objects.count() == before


def test_repayments_are_never_deleted(paid):
    _, (repayment, *_) = paid
    with pytest.raises(DatabaseError, match="never deleted"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM repayments_repayment WHERE id = %s", [repayment.pk])
    assert Repayment.objects.filter(pk=repayment.pk).exists()
