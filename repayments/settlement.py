"""The settlement projection: `Installment.settled_on`, the date from which an installment's
principal, interest and compulsory savings are fully settled (paid, moved to a new schedule, or
written off) and stay so; NULL while anything of them is unpaid.

Why: days past due, the penalty and a loan's dues only ever concern installments that are NOT
settled as of the day asked. With the projection, close of business, the month-end classification
and the per-loan reads look at those (a partial index holds them: the arrears book plus what falls
due) instead of every installment ever due and every allocation ever made (docs/scaling.md).

With it, `first_paid_on`: the first day an allocation of principal, interest or savings to the
installment took effect, NULL when none has (exact for every installment not settled). An
unsettled installment with none by the day asked has nothing to sum, so reads do not probe the
allocation index for it (`may_have_allocations`): most overdue installments were never paid at all.

The projection is derived from the append-only allocation rows and never the other way round:
`installments_settle()` recomputes it for the installments whose allocations changed, in the same
transaction as the change (every writer of allocation rows calls `allocations_write()`), and the
reconciliation recomputes it for the whole fund and reports any difference.

Definition, from the allocations of components principal + interest + savings summed per day in
date order (no component is ever allocated beyond what it is due, so "the sum reached the total
due" means "each component is fully settled"): settled_on is the first allocation day after the
last day on which the running sum was short of the total due; NULL when the sum is short today.
An installment due nothing is settled on its due date. So for any date d:
settled as of d  <=>  settled_on IS NOT NULL AND settled_on <= d.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from .models import Allocation

PAID_COMPONENTS = ("principal", "interest", "savings")  # what settles an installment (penalty does not)
COMPONENTS = "(" + ", ".join(f"'{c}'" for c in PAID_COMPONENTS) + ")"


def settled_on_select(where: str) -> str:
    """(installment_id, settled_on, stored) for the installments matching `where` (a condition on
    alias `i`, built by the callers from integers only). Runs on PostgreSQL and the demo's SQLite."""
    floor = "DATE '0001-01-01'" if connection.vendor == "postgresql" else "'0001-01-01'"
    return f"""
        WITH targets AS (
            SELECT i.id, i.due_on, i.settled_on AS stored, i.first_paid_on AS stored_first, i.principal + i.interest + i.savings AS due
              FROM repayments_installment i WHERE {where}
        ), days AS (
            SELECT a.installment_id, a.effective_on,
                   SUM(SUM(a.amount)) OVER (PARTITION BY a.installment_id ORDER BY a.effective_on) AS paid
              FROM repayments_allocation a JOIN targets t ON t.id = a.installment_id
             WHERE a.component IN {COMPONENTS}
             GROUP BY a.installment_id, a.effective_on
        ), short AS (
            SELECT t.id, t.due_on, t.due, t.stored, t.stored_first,
                   MAX(CASE WHEN d.paid < t.due THEN d.effective_on END) AS last_short,
                   MAX(d.effective_on) AS last_day, MIN(d.effective_on) AS first_day
              FROM targets t LEFT JOIN days d ON d.installment_id = t.id
             GROUP BY t.id, t.due_on, t.due, t.stored, t.stored_first
        )
        SELECT s.id AS installment_id,
               CASE WHEN s.due <= 0 THEN s.due_on
                    WHEN s.last_day IS NULL OR s.last_short = s.last_day THEN NULL
                    ELSE MIN(CASE WHEN d.effective_on > COALESCE(s.last_short, {floor}) THEN d.effective_on END)
               END AS settled_on,
               s.stored, s.first_day AS first_paid_on, s.stored_first
          FROM short s LEFT JOIN days d ON d.installment_id = s.id
         GROUP BY s.id, s.due_on, s.due, s.stored, s.stored_first, s.last_short, s.last_day, s.first_day
    """


def _differs(a: str, b: str) -> str:
    return f"(({a} IS NULL) <> ({b} IS NULL) OR {a} <> {b})"


def _stale(row: str = "") -> str:
    """A computed row (alias prefix `row`) whose projection is stale: settled_on, or the
    first_paid_on of an installment not settled."""
    settled, stored, first, stored_first = (f"{row}{c}" for c in ("settled_on", "stored", "first_paid_on", "stored_first"))
    return f"({_differs(settled, stored)} OR ({settled} IS NULL AND {_differs(first, stored_first)}))"


def _update(where: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH computed AS ({settled_on_select(where)})
            UPDATE repayments_installment SET settled_on = computed.settled_on, first_paid_on = computed.first_paid_on
              FROM computed
             WHERE repayments_installment.id = computed.installment_id AND {_stale("computed.")}""")
        return cursor.rowcount


def may_have_allocations(alias: str = "i", by: str | None = None) -> str:
    """False only for an installment (`alias`) not settled with no allocation (effective by the day
    `by`, a SQL date expression): put inside an allocation probe's WHERE, PostgreSQL then skips the
    probe for it (a one-time filter on the outer row)."""
    first = f"{alias}.first_paid_on IS NOT NULL" if by is None else f"{alias}.first_paid_on <= {by}"
    return f"({alias}.settled_on IS NOT NULL OR {first})"


def installments_settle(installment_ids: Iterable[int]) -> int:
    """Bring `settled_on` of these installments in line with their allocations; returns rows changed."""
    ids = sorted({int(i) for i in installment_ids if i is not None})
    if not ids:
        return 0
    return _update(f"i.id IN ({', '.join(map(str, ids))})")


def loan_installments_settle(loan_id: int) -> int:
    return _update(f"i.loan_id = {int(loan_id)}")


CHUNK_LOANS = 50_000


def _fund_chunks(fund_id: int | None) -> list[str]:
    """Conditions covering the fund's installments (every fund's when None) in ranges of loan ids, so
    that a whole-portfolio pass is a few bounded statements (memory, temporary files), not one."""
    with connection.cursor() as cursor:
        scope = f"WHERE fund_id = {int(fund_id)}" if fund_id is not None else ""
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM repayments_loan {scope}")
        low, high = cursor.fetchone()
    if low is None:
        return []
    fund = f"fund_id = {int(fund_id)} AND " if fund_id is not None else ""
    return [f"i.loan_id IN (SELECT id FROM repayments_loan WHERE {fund}id >= {start} AND id < {start + CHUNK_LOANS})"
            for start in range(int(low), int(high) + 1, CHUNK_LOANS)]


def fund_installments_settle(fund_id: int | None) -> int:
    """The whole fund (every fund when None), in chunks of loans: the migration's backfill, and the
    repair after a reconciliation difference."""
    return sum(_update(where) for where in _fund_chunks(fund_id))


def first_paid_backfill(fund_id: int | None = None) -> int:
    """first_paid_on of every installment not settled (of a fund, or all), from its allocations: for
    rows written in bulk without it (the migration that added it, the benchmark's generator)."""
    scope = f" AND i.loan_id IN (SELECT id FROM repayments_loan WHERE fund_id = {int(fund_id)})" if fund_id is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE repayments_installment SET first_paid_on = f.first_day
              FROM (SELECT i.id, (SELECT MIN(a.effective_on) FROM repayments_allocation a
                                   WHERE a.installment_id = i.id AND a.component IN {COMPONENTS}) AS first_day
                      FROM repayments_installment i WHERE i.settled_on IS NULL{scope}) f
             WHERE repayments_installment.id = f.id AND f.first_day IS NOT NULL
               AND (repayments_installment.first_paid_on IS NULL OR repayments_installment.first_paid_on <> f.first_day)""")
        return cursor.rowcount


def settlement_differences(fund_id: int) -> list[tuple[int, object, object]]:
    """(installment_id, computed, stored) wherever the projection disagrees with the allocations."""
    found = []
    with connection.cursor() as cursor:
        for where in _fund_chunks(fund_id):
            cursor.execute(f"""
                SELECT installment_id, settled_on, stored FROM ({settled_on_select(where)}) x
                 WHERE {_stale()}
                 ORDER BY installment_id""")
            found += cursor.fetchall()
    return found


def allocations_write(rows: Iterable[Allocation]) -> list[Allocation]:
    """The one way allocation rows are written: insert them and, in the same transaction, bring the
    settlement projection of the installments they touch up to date."""
    rows = list(rows)
    if not rows:
        return rows
    created = Allocation.objects.bulk_create(rows)
    installments_settle(row.installment_id for row in rows)
    return created


def settled_at_creation(row) -> object:
    """`settled_on` for a new schedule row: an installment due nothing is settled on its due date."""
    return row.due_on if not (row.principal or row.interest or row.savings) else None
