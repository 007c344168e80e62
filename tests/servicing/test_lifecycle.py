"""Write-off and recovery, restructuring permissions, reconciliation, collection sheet import."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from loanfund import chart
from loanfund.selectors.ledger import account_balance
from loanfund.services.ledger import credit, debit, journal_entry_post
from repayments import cob
from repayments.models import Installment, Loan, LoanLedgerLine, Repayment, WriteOff
from repayments.services import repayment_post
from tests.foundation.test_api_core import assert_error

from .helpers import assert_sound, days

pytestmark = pytest.mark.django_db


def overdue_loan(make_loan, fund, through: date):
    loan = make_loan(kind="monthly_equal", amount=12_000_000, installments=12, disbursed_on=date(2025, 1, 6))
    day = date(2025, 2, 6)
    while day <= through:
        cob.close_of_business(fund=fund, as_of=day)
        day = days(day, 10 if day < days(through, -10) else 1)
    return loan


def test_write_off_uses_the_provision_then_expense_and_recoveries_are_income(staff, api, fund, make_loan):
    loan = overdue_loan(make_loan, fund, date(2025, 8, 10))  # 185 days past due
    director = api(staff.director)
    # A provision of 5,000,000 posted by compliance earlier (Dr provision expense / Cr provision).
    journal_entry_post(fund=fund, entry_date=date(2025, 7, 31), kind="provision", lines=[debit(chart.PROVISION_EXPENSE, Decimal(5_000_000)),
                       credit(chart.LOAN_LOSS_PROVISION, Decimal(5_000_000))], source_type="test")
    assert_error(api(staff.approver).post(f"/api/v1/loans/{loan.pk}/write-off/", {"reason": "x"}, format="json"), 403, "permission_denied")
    assert_error(director.post(f"/api/v1/loans/{loan.pk}/write-off/", {"reason": "too early", "written_off_on": "2025-07-01"}, format="json"),
                 409, "invalid_state")
    r = director.post(f"/api/v1/loans/{loan.pk}/write-off/", {"reason": "Member left the province", "written_off_on": "2025-08-10"},
                      format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["principal"] == "12000000" and body["from_provision"] == "5000000"
    loan.refresh_from_db()
    assert loan.status == Loan.Status.WRITTEN_OFF
    write_off = WriteOff.objects.get(loan=loan)
    # On the books: the principal and the one installment's interest accrued while current (receivable);
    # the provision covers 5,000,000 and the shortfall is provision expense.
    receivable = Installment.objects.get(loan=loan, number=1).interest.amount
    assert write_off.to_expense.amount == Decimal(12_000_000) + receivable - 5_000_000
    assert account_balance(fund=fund, code=chart.LOANS_CURRENT) + account_balance(fund=fund, code=chart.LOANS_OVERDUE) == 0
    assert account_balance(fund=fund, code=chart.LOAN_LOSS_PROVISION) == 0
    assert account_balance(fund=fund, code=chart.MEMO_OVERDUE_INTEREST) == 0 and account_balance(fund=fund, code=chart.MEMO_OVERDUE_PENALTY) == 0
    claim = account_balance(fund=fund, code=chart.MEMO_WRITTEN_OFF)
    assert claim == Decimal(12_000_000) + write_off.interest.amount + write_off.penalty.amount
    balance = director.get(f"/api/v1/loans/{loan.pk}/").json()
    assert balance["status"] == "written_off" and balance["principal_outstanding"] == "0"
    # A recovery: income when collected, the claim shrinks; never more than the claim.
    quote = director.get(f"/api/v1/loans/{loan.pk}/payoff-quote/?as_of=2025-09-01").json()
    assert Decimal(quote["total"]) == claim
    repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(1_000_000), paid_on=date(2025, 9, 1), reference="rec-1", channel="cash",
                   posted_by=staff.officer)
    assert account_balance(fund=fund, code=chart.RECOVERY_INCOME) == Decimal(1_000_000)
    assert account_balance(fund=fund, code=chart.MEMO_WRITTEN_OFF) == claim - 1_000_000
    with pytest.raises(Exception) as exc:
        repayment_post(fund=fund, loan_id=loan.pk, amount=claim, paid_on=date(2025, 9, 2), reference="rec-2", channel="cash",
                       posted_by=staff.officer)
    assert getattr(exc.value, "code", None) == "amount_exceeds_payoff"
    assert_sound(fund)


def test_restructure_needs_an_approver_and_a_reason(staff, api, make_loan):
    loan = make_loan()
    assert_error(api(staff.officer).post(f"/api/v1/loans/{loan.pk}/restructure/", {"reason": "x", "installments": 60}, format="json"), 403,
                 "permission_denied")
    assert_error(api(staff.approver).post(f"/api/v1/loans/{loan.pk}/restructure/", {"installments": 60}, format="json"), 400, "required")
    r = api(staff.approver).post(f"/api/v1/loans/{loan.pk}/restructure/", {"reason": "Flood", "installments": 60, "annual_rate": "0.06",
                                                                           "restructured_on": "2025-03-03"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "restructured" and r.json()["restructure_count"] == 1 and r.json()["classification_group"] >= 2


def test_reconcile_command_finds_a_corrupted_subledger_row(staff, fund, make_loan):
    loan = make_loan()
    repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(230_846), paid_on=date(2025, 1, 13), reference="ok", channel="cash",
                   posted_by=staff.officer)
    out = io.StringIO()
    call_command("reconcile", "--fund", fund.code, stdout=out)
    assert "no differences" in out.getvalue().lower()
    line = LoanLedgerLine.objects.filter(loan=loan, account=chart.LOANS_CURRENT).first()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE repayments_loanledgerline SET amount = amount + 1 WHERE id = %s", [line.pk])  # append-only trigger
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush deferred FK checks before ALTER TABLE
        cursor.execute("ALTER TABLE repayments_loanledgerline DISABLE TRIGGER USER")
        cursor.execute("UPDATE repayments_loanledgerline SET amount = amount + 1000 WHERE id = %s", [line.pk])
        cursor.execute("ALTER TABLE repayments_loanledgerline ENABLE TRIGGER USER")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("reconcile", "--fund", fund.code, stdout=out)
    text = out.getvalue()
    assert "account 1311" in text and f"loan {loan.number}: principal outstanding" in text


def csv_upload(text: str, name="sheet.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_collection_sheet_is_all_or_nothing_and_idempotent_by_reference(staff, api, fund, make_loan):
    a, b = make_loan(), make_loan()
    client = api(staff.officer)
    good = f"national_id,loan_number,amount,date,reference\n{a.member.national_id},,230846,2025-01-13,CS-1\n,{b.number},100000,2025-01-13,CS-2\n"
    bad = good + f"{a.member.national_id},,12.5,2025-01-20,CS-3\n,NOPE,1000,2025-01-20,CS-4\n"
    r = client.post("/api/v1/repayments/import/", {"file": csv_upload(bad)}, format="multipart")
    assert_error(r, 400, "import_failed")
    assert [e["row"] for e in r.json()["errors"][0]["rows"]] == [4, 5]
    assert not Repayment.objects.exists()
    r = client.post("/api/v1/repayments/import/", {"file": csv_upload(good)}, format="multipart")
    assert r.status_code == 201, r.json()
    assert r.json()["imported"] == 2
    again = client.post("/api/v1/repayments/import/", {"file": csv_upload(good)}, format="multipart")
    assert again.status_code == 201 and again.json()["imported"] == 0 and again.json()["skipped_existing"] == 2
    assert Repayment.objects.count() == 2
    over = f"loan_number,amount,date,reference\n{b.number},999999999,2025-01-20,CS-9\n"
    assert_error(client.post("/api/v1/repayments/import/", {"file": csv_upload(over)}, format="multipart"), 400, "import_failed")
    assert Repayment.objects.count() == 2
    assert_sound(fund)


def test_collection_sheet_in_xlsx(staff, api, fund, make_loan):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from openpyxl import Workbook

    loan = make_loan()
    book = Workbook()
    sheet = book.active
    sheet.append(["National_ID", "amount", "date", "reference"])
    sheet.append([loan.member.national_id, "230846", date(2025, 1, 13), "XL-1"])
    buffer = io.BytesIO()
    book.save(buffer)
    upload = SimpleUploadedFile("sheet.xlsx", buffer.getvalue(),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    r = api(staff.officer).post("/api/v1/repayments/import/", {"file": upload}, format="multipart")
    assert r.status_code == 201, r.json()
    repayment = Repayment.objects.get(reference="XL-1")
    assert repayment.paid_on == date(2025, 1, 13) and repayment.channel == "payroll_deduction"
    junk = SimpleUploadedFile("sheet.xlsx", b"not a workbook", content_type="application/octet-stream")
    assert_error(api(staff.officer).post("/api/v1/repayments/import/", {"file": junk}, format="multipart"), 400, "invalid_file")
