"""Loan reconciliation: installments vs the per-loan subledger vs the general ledger.

`loan_differences(fund)` yields (what, expected, actual) for every difference; none on sound books.
Set-based: a few aggregate queries over the fund, whatever the number of loans.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from loanfund import chart

from . import sql
from .posting import SUBLEDGER_ACCOUNTS


def _q(statement: str, params) -> list[tuple]:
    return sql.fetch(statement, params)


def loan_differences(fund) -> Iterator[tuple[str, Decimal, Decimal]]:
    accounts = sorted(SUBLEDGER_ACCOUNTS)
    marks = ", ".join(["%s"] * len(accounts))
    # 1. General ledger control accounts = sum of the per-loan subledger.
    gl = dict(_q(f"""SELECT a.code, SUM(CASE WHEN l.side = 'D' THEN l.amount ELSE -l.amount END)
                     FROM loanfund_journalline l JOIN loanfund_account a ON a.id = l.account_id
                     JOIN loanfund_journalentry e ON e.id = l.entry_id
                     WHERE e.fund_id = %s AND a.code IN ({marks}) GROUP BY a.code""", [fund.pk, *accounts]))
    sub = dict(_q(f"""SELECT account, SUM(amount) FROM repayments_loanledgerline WHERE fund_id = %s AND account IN ({marks})
                      GROUP BY account""", [fund.pk, *accounts]))
    for code in accounts:
        expected, actual = Decimal(gl.get(code) or 0), Decimal(sub.get(code) or 0)
        if expected != actual:
            yield (f"account {code}: general ledger vs sum of the loan subledger", expected, actual)

    # 2. Per loan: what the installments say is outstanding vs the loan's subledger, in chunks of
    # loans (bounded memory and temporary files: one statement over a million loans' allocations
    # spilled more than 10 GB).
    for low, high in _loan_ranges(fund.pk):
        yield from _loan_chunk_differences(fund, low, high)

    # 3. The settlement projection (Installment.settled_on) vs what the allocations say.
    from .settlement import settlement_differences

    wrong = settlement_differences(fund.pk)
    if wrong:
        sample = ", ".join(f"{inst} (stored {stored}, allocations say {computed})" for inst, computed, stored in wrong[:5])
        yield (f"installments whose settled_on disagrees with their allocations: {sample}", Decimal(0), Decimal(len(wrong)))


CHUNK_LOANS = 50_000


def _loan_ranges(fund_id: int) -> list[tuple[int, int]]:
    (low, high), = _q("SELECT MIN(id), MAX(id) FROM repayments_loan WHERE fund_id = %s", [fund_id])
    if low is None:
        return []
    return [(start, start + CHUNK_LOANS) for start in range(int(low), int(high) + 1, CHUNK_LOANS)]


def _loan_chunk_differences(fund, low: int, high: int) -> Iterator[tuple[str, Decimal, Decimal]]:
    in_l, in_loan = f"AND l.id >= {int(low)} AND l.id < {int(high)}", f"AND loan_id >= {int(low)} AND loan_id < {int(high)}"
    rows = _q(f"""
        WITH paid AS (
            -- one pass over the fund's allocations (not three correlated subqueries per installment)
            SELECT a.installment_id,
                   SUM(CASE WHEN a.component = 'principal' THEN a.amount ELSE 0 END) AS p_paid,
                   SUM(CASE WHEN a.component = 'interest' THEN a.amount ELSE 0 END) AS i_paid,
                   SUM(CASE WHEN a.component = 'penalty' THEN a.amount ELSE 0 END) AS pen_paid
            FROM repayments_allocation a JOIN repayments_installment i ON i.id = a.installment_id
            JOIN repayments_loan l ON l.id = i.loan_id WHERE l.fund_id = %s {in_l} GROUP BY a.installment_id
        ), accrued AS (
            SELECT DISTINCT installment_id FROM repayments_loanledgerline
            WHERE fund_id = %s AND kind = 'interest_accrual' AND installment_id IS NOT NULL {in_loan}
        ), inst AS (
            SELECT i.loan_id, i.principal, i.interest, COALESCE(p.p_paid, 0) AS p_paid, COALESCE(p.i_paid, 0) AS i_paid,
                   COALESCE(p.pen_paid, 0) AS pen_paid, (ac.installment_id IS NOT NULL) AS accrued
            FROM repayments_installment i JOIN repayments_loan l ON l.id = i.loan_id
            LEFT JOIN paid p ON p.installment_id = i.id LEFT JOIN accrued ac ON ac.installment_id = i.id
            WHERE l.fund_id = %s {in_l}
        ), by_loan AS (
            SELECT loan_id, SUM(principal - p_paid) AS principal,
                   SUM(CASE WHEN accrued THEN interest - i_paid ELSE 0 END) AS interest,
                   SUM(pen_paid) AS penalty_paid
            FROM inst GROUP BY loan_id
        ), led AS (
            SELECT loan_id,
                   SUM(CASE WHEN account IN ('{chart.LOANS_CURRENT}', '{chart.LOANS_OVERDUE}') THEN amount ELSE 0 END) AS principal,
                   SUM(CASE WHEN account IN ('{chart.INTEREST_RECEIVABLE}', '{chart.MEMO_OVERDUE_INTEREST}') THEN amount ELSE 0 END) AS interest,
                   SUM(CASE WHEN kind = 'penalty_accrual' THEN amount ELSE 0 END) AS penalty_accrued,
                   SUM(CASE WHEN account = '{chart.MEMO_OVERDUE_PENALTY}' THEN amount ELSE 0 END) AS penalty
            FROM repayments_loanledgerline WHERE fund_id = %s {in_loan} GROUP BY loan_id
        )
        SELECT l.number, b.principal, COALESCE(d.principal, 0), b.interest, COALESCE(d.interest, 0),
               COALESCE(d.penalty_accrued, 0) - b.penalty_paid, COALESCE(d.penalty, 0)
        FROM repayments_loan l JOIN by_loan b ON b.loan_id = l.id LEFT JOIN led d ON d.loan_id = l.id
        WHERE l.fund_id = %s {in_l}
          AND (b.principal <> COALESCE(d.principal, 0) OR b.interest <> COALESCE(d.interest, 0)
               OR COALESCE(d.penalty_accrued, 0) - b.penalty_paid <> COALESCE(d.penalty, 0))
        ORDER BY l.number""", [fund.pk, fund.pk, fund.pk, fund.pk, fund.pk])
    for number, p_inst, p_led, i_inst, i_led, pen_inst, pen_led in rows:
        for what, expected, actual in (("principal outstanding", p_inst, p_led), ("interest accrued and unpaid", i_inst, i_led),
                                       ("penalty accrued and unpaid", pen_inst, pen_led)):
            if Decimal(expected) != Decimal(actual):
                yield (f"loan {number}: {what}, installments vs subledger", Decimal(expected), Decimal(actual))
