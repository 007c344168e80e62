"""The subledger's references are checked once per INSERT statement (migrations 0009, 0010), not by
row foreign keys: a line must name a loan of its fund, an installment that exists and a journal
entry of its fund, whether written by one INSERT, a multi-row INSERT or COPY. Loans and
installments are never deleted, so nothing a line names can disappear."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from loanfund import chart
from loanfund.services.ledger import credit, debit, journal_entry_post
from repayments.models import Installment, LoanLedgerLine

pytestmark = pytest.mark.django_db

INSERT = """INSERT INTO repayments_loanledgerline (fund_id, loan_id, installment_id, account, kind, entry_date, amount, amount_currency,
                                                   journal_entry_id)
            VALUES (%s, %s, %s, %s, 'test', DATE '2025-01-13', 1, 'VND', %s)"""


@pytest.fixture
def books(fund, other_fund, make_loan):
    loan = make_loan()
    entry = journal_entry_post(fund=fund, entry_date=date(2025, 1, 13), kind="test", source_type="test",
                               lines=[debit(chart.MEMO_OVERDUE_PENALTY, Decimal(1)), credit(chart.MEMO_CONTRA, Decimal(1))])
    foreign = journal_entry_post(fund=other_fund, entry_date=date(2025, 1, 13), kind="test", source_type="test",
                                 lines=[debit(chart.MEMO_OVERDUE_PENALTY, Decimal(1)), credit(chart.MEMO_CONTRA, Decimal(1))])
    installment = Installment.objects.filter(loan=loan).order_by("due_on").first()
    return fund, other_fund, loan, installment, entry, foreign


def refused(sql, params) -> str:
    with pytest.raises(IntegrityError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


def test_a_line_naming_a_loan_installment_and_entry_of_its_fund_is_written(books):
    fund, _, loan, installment, entry, _ = books
    before = LoanLedgerLine.objects.filter(loan=loan).count()
    with connection.cursor() as cursor:
        cursor.execute(INSERT, [fund.pk, loan.pk, installment.pk, chart.MEMO_OVERDUE_PENALTY, entry.pk])
        cursor.execute(INSERT, [fund.pk, loan.pk, None, chart.LOANS_CURRENT, entry.pk])
    assert LoanLedgerLine.objects.filter(loan=loan).count() == before + 2


def test_lines_naming_what_does_not_exist_or_belongs_elsewhere_are_refused_and_nothing_is_written(books):
    fund, other_fund, loan, installment, entry, foreign = books
    before = LoanLedgerLine.objects.count()
    account = chart.MEMO_OVERDUE_PENALTY
    assert "no such loan" in refused(INSERT, [fund.pk, 10**12, None, account, entry.pk])
    assert "no such loan" in refused(INSERT, [other_fund.pk, loan.pk, None, account, foreign.pk])  # the loan is another fund's
    assert "no such installment" in refused(INSERT, [fund.pk, loan.pk, 10**12, account, entry.pk])
    assert "journal entry" in refused(INSERT, [fund.pk, loan.pk, installment.pk, account, foreign.pk])
    assert "journal entry" in refused(INSERT, [fund.pk, loan.pk, installment.pk, account, 10**12])
    # One bad row among good ones refuses the whole statement (what COPY and multi-row INSERTs write).
    many = INSERT.replace("VALUES (%s, %s, %s, %s, 'test', DATE '2025-01-13', 1, 'VND', %s)",
                          "SELECT %s, i.loan_id, i.id, %s, 'test', DATE '2025-01-13', 1, 'VND', %s FROM repayments_installment i "
                          "WHERE i.loan_id = %s UNION ALL SELECT %s, %s, %s, %s, 'test', DATE '2025-01-13', 1, 'VND', %s")
    assert "no such installment" in refused(many, [fund.pk, account, entry.pk, loan.pk, fund.pk, loan.pk, 10**12, account, entry.pk])
    assert LoanLedgerLine.objects.count() == before


def test_loans_and_installments_are_never_deleted(books):
    _, _, loan, installment, _, _ = books
    for table, pk in (("repayments_loan", loan.pk), ("repayments_installment", installment.pk)):
        with pytest.raises(DatabaseError, match="never deleted"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])
    assert Installment.objects.filter(pk=installment.pk).exists()
