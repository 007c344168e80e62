"""Demo data for servicing: the approved applications become loans in every state, with history.

active (paid on time), in arrears (stopped paying), closed (paid off), written off (never paid,
past the fund's threshold), restructured (fell behind, rescheduled), and the demo member's own loan.
Everything goes through the real services; the accruals are caught up per loan (a dozen loans) and
close of business runs for today, so the balances, statuses and books are what production shows.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from loanfund import chart, roles
from loanfund.services.ledger import credit, debit, journal_entry_post

from .cob import close_of_business
from .models import Loan
from .selectors import loan_state, payoff_quote
from .services import accrue_loan, loan_disburse, loan_restructure, loan_write_off, repayment_post

# state, days since disbursement, how many installments paid on their due date
PLAN = [
    ("active", 70, 99), ("active", 40, 99), ("in_arrears", 150, 3), ("closed", 160, 4), ("written_off", 420, 0), ("restructured", 230, 2),
    ("active", 100, 99), ("in_arrears", 200, 5), ("active", 20, 99), ("closed", 90, 2), ("in_arrears", 120, 1), ("active", 10, 99),
]


def _due_rows(loan: Loan, until: date):
    return [i for i in loan_state(loan).installments if i.due_on <= until]


def seed_servicing(*, fund, users: dict, approved: list) -> list[Loan]:
    today = timezone.localdate()
    accountant, officer = users[roles.ACCOUNTANT], users[roles.OFFICER]
    loans = []
    # A provision booked by the accountant (compliance computes the real one monthly).
    journal_entry_post(fund=fund, entry_date=today - timedelta(days=40), kind="provision", source_type="demo",
                       lines=[debit(chart.PROVISION_EXPENSE, Decimal(3_000_000)), credit(chart.LOAN_LOSS_PROVISION, Decimal(3_000_000))],
                       memo="Opening loan-loss provision (demo)")
    for n, (application, (state, age, paid)) in enumerate(zip(approved, PLAN, strict=False)):
        disbursed_on = today - timedelta(days=age)
        loan = loan_disburse(fund=fund, application_id=application.pk, disbursed_on=disbursed_on, method="bank" if n % 2 else "cash",
                             disbursed_by=accountant)
        cutoff = today - timedelta(days=1)
        for k, inst in enumerate(_due_rows(loan, cutoff)):
            if k >= paid or (state == "restructured" and inst.due_on > today - timedelta(days=60)):
                break
            amount = inst.principal + inst.interest + inst.savings
            repayment_post(fund=fund, loan_id=loan.pk, amount=amount, paid_on=inst.due_on, reference=f"DEMO-{loan.number}-{k + 1}",
                           channel=("cash", "bank_transfer", "payroll_deduction")[k % 3], posted_by=officer)
        accrue_loan(loan, as_of=cutoff, on=cutoff)
        if state == "closed":
            quote = payoff_quote(loan, cutoff)
            repayment_post(fund=fund, loan_id=loan.pk, amount=quote["total"], paid_on=cutoff, reference=f"DEMO-{loan.number}-payoff",
                           channel="bank_transfer", posted_by=officer)
        elif state == "written_off":
            loan_write_off(fund=fund, loan_id=loan.pk, reason="Thành viên chuyển đi, không liên lạc được", approved_by=users[roles.DIRECTOR],
                           written_off_on=cutoff)
        elif state == "restructured":
            on = today - timedelta(days=20)
            loan_restructure(fund=fund, loan_id=loan.pk, installments=18, reason="Gia đình có người ốm nặng", approved_by=users[roles.APPROVER],
                             restructured_on=on)
            arrears = payoff_quote(loan, on)
            overdue = arrears["interest"] + arrears["penalty"] + arrears["savings"]
            repayment_post(fund=fund, loan_id=loan.pk, amount=overdue, paid_on=on, reference=f"DEMO-{loan.number}-arrears",
                           channel="cash", posted_by=officer)
        loans.append(loan)
    close_of_business(fund=fund, as_of=today - timedelta(days=1))
    return loans
