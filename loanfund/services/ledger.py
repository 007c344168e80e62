"""Posting to the ledger: the only writer of journal entries.

Every money movement in the system calls `journal_entry_post` inside the same transaction as the
business record it belongs to. An empty or unbalanced entry is refused and writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from loanfund import chart
from loanfund.errors import DomainError, InvalidState
from loanfund.models import Account, Fund, JournalEntry, JournalLine
from loanfund.money import VND
from loanfund.rows import prepared_cursor


@dataclass(frozen=True, slots=True)
class Posting:
    account: str  # account code (loanfund.chart)
    side: str  # "D" or "C"
    amount: Decimal
    currency: str = VND


def debit(account: str, amount: Decimal) -> Posting:
    return Posting(account, "D", Decimal(amount))


def credit(account: str, amount: Decimal) -> Posting:
    return Posting(account, "C", Decimal(amount))


# Account ids per fund never change once the chart is created; caching them saves a query per posting.
_account_cache: dict[int, dict[str, int]] = {}


def _account_ids(fund_id: int, codes: Iterable[str]) -> dict[str, int]:
    known = _account_cache.get(fund_id)
    wanted = set(codes)
    if known is None or not wanted <= known.keys():
        known = dict(Account.objects.filter(fund_id=fund_id).values_list("code", "id"))
        _account_cache[fund_id] = known
    missing = wanted - known.keys()
    if missing:
        raise DomainError("unknown_account", f"Unknown account(s): {', '.join(sorted(missing))}.", attr="lines", status=400)
    return known


def validate_postings(postings: Sequence[Posting]) -> list[Posting]:
    """Drop zero lines; refuse negative, fractional, empty or unbalanced postings."""
    lines = [p for p in postings if p.amount != 0]
    if len(lines) < 2:
        raise DomainError("empty_entry", "A journal entry needs at least one debit and one credit.", attr="lines", status=400)
    # On-balance and off-balance (memo) lines must each balance on their own.
    totals: dict[tuple[str, bool], Decimal] = defaultdict(Decimal)
    for p in lines:
        if p.side not in ("D", "C"):
            raise DomainError("invalid_side", f"Side must be D or C, not {p.side!r}.", attr="lines", status=400)
        if p.amount < 0 or p.amount != p.amount.to_integral_value():
            raise DomainError("invalid_amount", f"Line amounts are positive whole đồng, not {p.amount}.", attr="lines", status=400)
        totals[(p.currency, p.account in chart.MEMO_CODES)] += p.amount if p.side == "D" else -p.amount
    off = {f"{cur}{' off-balance' if memo else ''}": diff for (cur, memo), diff in totals.items() if diff != 0}
    if off:
        raise DomainError("unbalanced_entry", f"Debits and credits differ by {off}.", attr="lines", status=400)
    return lines


# Parameters per statement: SQLite's limit is low; PostgreSQL takes 65,535 (a collection sheet's lines in a few statements).
_MAX_PARAMETERS = {"postgresql": 20_000}


# From this many rows, PostgreSQL gets them by COPY: a multi-row INSERT's thousands of placeholders
# cost the driver more to parse than the rows cost to send.
_COPY_FROM = 100


def insert_rows(model, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Append-only rows in one multi-row INSERT (chunked for SQLite's parameter limit), or COPY for
    many rows on PostgreSQL: no model instances, no signals. For the posting hot path; the tables
    written this way have no history."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    native = connection.vendor == "postgresql"
    if native and len(rows) >= _COPY_FROM:
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    head = f"INSERT INTO {table} ({names}) VALUES "
    width = len(columns)
    size = max(1, _MAX_PARAMETERS.get(connection.vendor, 900) // width)
    # PostgreSQL: its own $n placeholders, sent as they are (prepared_cursor(native=True)). psycopg
    # would otherwise parse the statement for %s on every call, as it caches that only for
    # statements of at most 50 parameters: 12 % of a single repayment's CPU went there.
    with prepared_cursor(native=native) as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            if native:
                values = ", ".join("(" + ", ".join(f"${k * width + n}" for n in range(1, width + 1)) + ")" for k in range(len(chunk)))
            else:
                values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
            cursor.execute(head + values, [value for row in chunk for value in row])


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """One journal entry to post (journal_entries_post)."""

    fund: Fund
    entry_date: date
    kind: str
    lines: Sequence[Posting]
    memo: str = ""
    source_type: str = ""
    source_id: str | int = ""
    created_by: object = None
    reverses: JournalEntry | None = None


def journal_entry_post(
    *,
    fund: Fund,
    entry_date: date,
    kind: str,
    lines: Sequence[Posting],
    memo: str = "",
    source_type: str = "",
    source_id: str | int = "",
    created_by=None,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    return journal_entries_post([EntryDraft(fund, entry_date, kind, lines, memo, source_type, source_id, created_by, reverses)])[0]


def journal_entries_post(drafts: Sequence[EntryDraft]) -> list[JournalEntry]:
    """Post several entries (a collection sheet's repayments): every one is validated before
    anything is written, then the entries go in one multi-row INSERT and their lines in another."""
    validated = []
    for draft in drafts:
        lines = validate_postings(draft.lines)
        validated.append((draft, lines, _account_ids(draft.fund.pk, (p.account for p in lines))))
    created_at = timezone.now()
    entries = [JournalEntry(fund=d.fund, entry_date=d.entry_date, kind=d.kind, memo=d.memo[:500], source_type=d.source_type,
                            source_id=str(d.source_id), created_by=d.created_by, reverses=d.reverses, created_at=created_at)
               for d, _, _ in validated]
    # Validated before anything is written, so no savepoint is needed: an error while writing
    # marks the caller's transaction for rollback (never a half-written entry).
    with transaction.atomic(savepoint=False):
        _entries_insert(entries)
        insert_rows(JournalLine, ("entry_id", "account_id", "side", "amount", "amount_currency"),
                    [(entry.pk, ids[p.account], p.side, p.amount, p.currency) for entry, (_, lines, ids) in zip(entries, validated, strict=True) for p in lines])
    return entries


def _entries_insert(entries: list[JournalEntry]) -> None:
    """Raw INSERTs (the posting hot path): entries are immutable and have no signals or history."""
    columns = "(fund_id, entry_date, kind, memo, source_type, source_id, reverses_id, created_by_id, created_at)"
    head = f"INSERT INTO {connection.ops.quote_name(JournalEntry._meta.db_table)} {columns} VALUES "
    one = "(" + ", ".join(["%s"] * 9) + ")"
    returning = connection.features.can_return_rows_from_bulk_insert
    size = 500 if returning else 1
    with connection.cursor() as cursor:
        for start in range(0, len(entries), size):
            chunk = entries[start:start + size]
            values = [v for e in chunk for v in (e.fund_id, e.entry_date, e.kind, e.memo, e.source_type, e.source_id, e.reverses_id,
                                                  e.created_by_id, connection.ops.adapt_datetimefield_value(e.created_at))]
            cursor.execute(head + ", ".join([one] * len(chunk)) + (" RETURNING id" if returning else ""), values)
            ids = [row[0] for row in cursor.fetchall()] if returning else [cursor.lastrowid]
            for entry, pk in zip(chunk, ids, strict=True):
                entry.pk = pk
                entry._state.adding, entry._state.db = False, connection.alias


@transaction.atomic
def journal_entry_reverse(*, entry: JournalEntry, entry_date: date, reason: str, created_by=None, kind: str | None = None) -> JournalEntry:
    """Post the mirror image of `entry`, linked to it. An entry is reversed at most once."""
    locked = JournalEntry.objects.select_for_update().get(pk=entry.pk)
    if JournalEntry.objects.filter(reverses=locked).exists():
        raise InvalidState(f"Journal entry {entry.pk} is already reversed.")
    mirrored = [
        Posting(code, "C" if side == "D" else "D", amount, currency)
        for code, side, amount, currency in locked.lines.values_list("account__code", "side", "amount", "amount_currency")
    ]
    return journal_entry_post(
        fund=locked.fund,
        entry_date=entry_date,
        kind=kind or f"reversal:{locked.kind}"[:40],
        lines=mirrored,
        memo=f"Reversal of JE{locked.pk}: {reason}",
        source_type=locked.source_type,
        source_id=locked.source_id,
        created_by=created_by,
        reverses=locked,
    )


def chart_of_accounts_create(*, fund: Fund) -> None:
    Account.objects.bulk_create(
        [
            Account(fund=fund, code=code, kind=kind, name=name, name_vi=name_vi, normal_side=chart.normal_side(code, kind))
            for code, kind, name, name_vi in chart.ACCOUNTS
        ],
        ignore_conflicts=True,
    )
    _account_cache.pop(fund.pk, None)
