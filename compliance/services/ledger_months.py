"""Monthly debit/credit totals per account (`LedgerMonth`), refreshed incrementally.

A month-end report needs the books' balances at a few month-ends and their movements over the
period. Summing every journal line since inception each time costs a scan of the whole journal
(tens of millions of lines for a large fund); the monthly totals cost one scan of the new months
only. Back-dated entries are caught by the journal's primary key: any entry written since the last
refresh (id above the high-water mark, less a safety margin for transactions that were still open)
sends the refresh back to that entry's month.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction

from compliance.models import LedgerMonth, LedgerMonthState
from loanfund.models import Fund, JournalEntry

# Entries of transactions still open at the last refresh have ids below its high-water mark; looking
# this many ids back again on the next refresh sees them once they commit.
SAFETY_MARGIN = 10_000


def month_start(d: date) -> date:
    return d.replace(day=1)


def _month_sql(vendor: str) -> str:
    return "CAST(date_trunc('month', e.entry_date) AS date)" if vendor == "postgresql" else "strftime('%%Y-%%m-01', e.entry_date)"


@transaction.atomic
def refresh(*, fund: Fund, through: date) -> None:
    """Make the cache exact for every month up to and including `through`'s month."""
    state, _ = LedgerMonthState.objects.select_for_update().get_or_create(fund=fund)
    target = month_start(through)
    newest = JournalEntry.objects.filter(fund=fund).order_by("-id").values_list("id", flat=True).first() or 0
    earliest_new = (JournalEntry.objects.filter(fund=fund, id__gt=max(state.high_water - SAFETY_MARGIN, 0))
                    .order_by("entry_date").values_list("entry_date", flat=True).first())
    if state.through is None:
        start = None  # first refresh: every month from the beginning
    else:
        start = (state.through + timedelta(days=32)).replace(day=1)  # extend after the cached range
        if earliest_new is not None and month_start(earliest_new) < start:
            start = month_start(earliest_new)  # entries written since, dated inside the cached range
        if start > target and (earliest_new is None or month_start(earliest_new) > target):
            state.high_water = max(state.high_water, newest)
            state.save()
            return
        start = min(start, target)
        target = max(target, state.through)  # months already cached after `through` are recomputed too, never dropped
    end = (target + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    stale = LedgerMonth.objects.filter(fund=fund)
    if start is not None:
        stale = stale.filter(month__gte=start)
    stale.delete()
    where, params = "e.fund_id = %(fund)s AND e.entry_date <= %(end)s", {"fund": fund.pk, "end": end}
    if start is not None:
        where += " AND e.entry_date >= %(start)s"
        params["start"] = start
    with connection.cursor() as cur:
        cur.execute(f"""
            INSERT INTO compliance_ledgermonth (fund_id, month, account_code, debit, debit_currency, credit, credit_currency)
            SELECT %(fund)s, {_month_sql(connection.vendor)}, a.code,
                   SUM(CASE WHEN l.side = 'D' THEN l.amount ELSE 0 END), l.amount_currency,
                   SUM(CASE WHEN l.side = 'C' THEN l.amount ELSE 0 END), l.amount_currency
              FROM loanfund_journalline l
              JOIN loanfund_journalentry e ON e.id = l.entry_id
              JOIN loanfund_account a ON a.id = l.account_id
             WHERE {where}
             GROUP BY 2, a.code, l.amount_currency""", params)
    state.through = target
    state.high_water = newest
    state.save()


def balances_and_movement(*, fund: Fund, dates: list[date], start: date, end: date) -> tuple[list[dict[str, Decimal]], dict[str, Decimal]]:
    """Debit − credit per account code at the end of each month-end in `dates` (or the day before a
    month starts), and over the whole months [start, end]. Every date must be a month-end."""
    refresh(fund=fund, through=max([*dates, end]))
    rows = list(LedgerMonth.objects.filter(fund=fund, month__lte=month_start(max([*dates, end])))
                .values_list("month", "account_code", "debit", "credit"))
    balances: list[dict[str, Decimal]] = [{} for _ in dates]
    movement: dict[str, Decimal] = {}
    for month, code, debit, credit in rows:
        net = Decimal(debit) - Decimal(credit)
        for i, d in enumerate(dates):
            if month <= month_start(d):
                balances[i][code] = balances[i].get(code, Decimal(0)) + net
        if month_start(start) <= month <= month_start(end):
            movement[code] = movement.get(code, Decimal(0)) + net
    return balances, movement
