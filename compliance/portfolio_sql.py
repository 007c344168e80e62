"""The portfolio as of a date, in SQL: one row per open loan with its outstanding principal, days
past due and restructure count, computed from servicing's dated, append-only rows (docs/servicing.md).

Nothing here loops over loans in Python: the month-end run is one INSERT … SELECT built on
`portfolio_as_of()`, and every report figure is a GROUP BY over its snapshot or over ledger lines.
"""

from __future__ import annotations

from loanfund import chart

# Parameters: %(fund)s, %(as_of)s. Columns: loan_id, member_id, branch_id, product_id,
# household_status, principal_outstanding, savings_held, days_past_due, restructure_count.
_PORTFOLIO_AS_OF = f"""
WITH open_loans AS (
    SELECT l.id AS loan_id, l.member_id, m.branch_id, pv.product_id, m.household_status
      FROM repayments_loan l
      JOIN borrowers_member m ON m.id = l.member_id
      JOIN loanfund_loanproductversion pv ON pv.id = l.product_version_id
     WHERE l.fund_id = %(fund)s AND l.disbursed_on <= %(as_of)s
       AND (l.written_off_on IS NULL OR l.written_off_on > %(as_of)s)
),
balances AS (
    -- the per-loan subledger: principal receivable (current + overdue) and compulsory savings held
    SELECT ll.loan_id,
           SUM(ll.amount) FILTER (WHERE ll.account IN ('{chart.LOANS_CURRENT}', '{chart.LOANS_OVERDUE}')) AS principal,
           -SUM(ll.amount) FILTER (WHERE ll.account = '{chart.COMPULSORY_SAVINGS}') AS savings
      FROM repayments_loanledgerline ll
     WHERE ll.fund_id = %(fund)s AND ll.entry_date <= %(as_of)s
       AND ll.account IN ('{chart.LOANS_CURRENT}', '{chart.LOANS_OVERDUE}', '{chart.COMPULSORY_SAVINGS}')
     GROUP BY ll.loan_id
),
oldest_unpaid AS (
    -- the oldest installment that fell due and is not fully paid (docs/servicing.md): only the
    -- installments not settled as of the date are looked at (servicing's settlement projection,
    -- repayments.settlement), and only their principal and interest allocations are summed
    SELECT i.loan_id, MIN(i.due_on) AS due_on
      FROM repayments_installment i
      JOIN open_loans o ON o.loan_id = i.loan_id
     WHERE i.due_on <= %(as_of)s AND (i.settled_on IS NULL OR i.settled_on > %(as_of)s)
       AND i.principal + i.interest > COALESCE((
           SELECT SUM(a.amount) FROM repayments_allocation a
            WHERE (i.settled_on IS NOT NULL OR i.first_paid_on <= %(as_of)s)  -- never paid by then: not probed
              AND a.installment_id = i.id AND a.component IN ('principal', 'interest') AND a.effective_on <= %(as_of)s), 0)
     GROUP BY i.loan_id
),
restructures AS (
    SELECT r.loan_id, COUNT(*) AS n
      FROM repayments_restructure r JOIN open_loans o ON o.loan_id = r.loan_id
     WHERE r.restructured_on <= %(as_of)s
     GROUP BY r.loan_id
)
SELECT o.loan_id, o.member_id, o.branch_id, o.product_id, o.household_status,
       b.principal AS principal_outstanding,
       {{greatest}}(COALESCE(b.savings, 0), 0) AS savings_held,
       COALESCE({{days_past_due}}, 0) AS days_past_due,
       COALESCE(r.n, 0) AS restructure_count
  FROM open_loans o
  JOIN balances b ON b.loan_id = o.loan_id AND b.principal > 0
  LEFT JOIN oldest_unpaid u ON u.loan_id = o.loan_id
  LEFT JOIN restructures r ON r.loan_id = o.loan_id
"""


def portfolio_as_of(vendor: str = "postgresql") -> str:
    """The statement for the connection's database: PostgreSQL in production and tests; SQLite only
    for the embedded demo (date arithmetic and GREATEST spelled its way)."""
    if vendor == "postgresql":
        return _PORTFOLIO_AS_OF.format(greatest="GREATEST", days_past_due="%(as_of)s::date - u.due_on")
    return _PORTFOLIO_AS_OF.format(greatest="MAX", days_past_due="CAST(julianday(%(as_of)s) - julianday(u.due_on) AS INTEGER)")
