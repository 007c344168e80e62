"""Posting a loan's money: one balanced journal entry plus its per-loan subledger lines.

Every line on a loan control account (chart.LOAN_SUBLEDGER_ACCOUNTS) is mirrored by a signed
LoanLedgerLine (debit +, credit -) for the loan, so that per account the subledger sums to the GL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from loanfund import chart
from loanfund.models import JournalEntry
from loanfund.money import VND
from loanfund.services.ledger import EntryDraft, Posting, insert_rows, journal_entries_post

from .models import Loan, LoanLedgerLine

# Accounts with a per-loan subledger (docs/servicing.md).
SUBLEDGER_ACCOUNTS = frozenset({
    chart.LOANS_CURRENT, chart.LOANS_OVERDUE, chart.INTEREST_RECEIVABLE, chart.PENALTY_RECEIVABLE, chart.FEES_RECEIVABLE,
    chart.COMPULSORY_SAVINGS, chart.MEMO_WRITTEN_OFF, chart.MEMO_OVERDUE_INTEREST, chart.MEMO_OVERDUE_PENALTY,
})


class LoanEntry:
    """Collects debits and credits for one loan; `post` writes the entry and its subledger lines."""

    def __init__(self, loan: Loan):
        self.loan = loan
        self.lines: list[tuple[str, str, Decimal, int | None, str]] = []

    def dr(self, account: str, amount: Decimal, *, installment_id: int | None = None, kind: str = "") -> LoanEntry:
        if amount:
            self.lines.append((account, "D", Decimal(amount), installment_id, kind))
        return self

    def cr(self, account: str, amount: Decimal, *, installment_id: int | None = None, kind: str = "") -> LoanEntry:
        if amount:
            self.lines.append((account, "C", Decimal(amount), installment_id, kind))
        return self

    def signed(self, account: str, amount: Decimal, *, contra: str, installment_id: int | None = None, kind: str = "") -> LoanEntry:
        """+amount: Dr account / Cr contra; -amount: the other way round."""
        if amount > 0:
            self.dr(account, amount, installment_id=installment_id, kind=kind).cr(contra, amount, kind=kind)
        elif amount < 0:
            self.cr(account, -amount, installment_id=installment_id, kind=kind).dr(contra, -amount, kind=kind)
        return self

    def __bool__(self):
        return bool(self.lines)

    def post(self, *, entry_date: date, kind: str, source_type: str, source_id, created_by=None, memo: str = "",
             default_kind: str = "") -> JournalEntry | None:
        return loan_entries_post([(self, dict(entry_date=entry_date, kind=kind, source_type=source_type, source_id=source_id,
                                              created_by=created_by, memo=memo, default_kind=default_kind))])[0]

    def draft(self, *, entry_date: date, kind: str, source_type: str, source_id, created_by=None, memo: str = "", **_) -> EntryDraft:
        # One GL line per account and side; the subledger keeps the installment detail.
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for account, side, amount, _, _ in self.lines:
            totals[(account, side)] += amount
        return EntryDraft(fund=self.loan.fund, entry_date=entry_date, kind=kind, memo=memo or f"{kind} {self.loan.number}",
                          lines=[Posting(account, side, amount) for (account, side), amount in totals.items()],
                          source_type=source_type, source_id=source_id, created_by=created_by)


def loan_entries_post(entries: Sequence[tuple[LoanEntry, dict]]) -> list[JournalEntry | None]:
    """LoanEntry.post for several entries, each with its post() arguments (a collection sheet's
    repayments): the journal in two statements, the subledger lines in one; None for an empty entry."""
    posted = iter(journal_entries_post([entry.draft(**how) for entry, how in entries if entry]))
    result, rows = [], []
    for entry, how in entries:
        je = next(posted) if entry else None
        result.append(je)
        if je is not None:
            kind = how.get("default_kind") or how["kind"]
            rows += _subledger_rows(entry.loan, je, how["entry_date"], [(a, s, amt, inst, k or kind) for a, s, amt, inst, k in entry.lines])
    _subledger_insert(rows)
    return result


def subledger_write(loan: Loan, entry: JournalEntry, entry_date: date, lines) -> None:
    _subledger_insert(_subledger_rows(loan, entry, entry_date, lines))


def _subledger_rows(loan: Loan, entry: JournalEntry, entry_date: date, lines) -> list[tuple]:
    return [(loan.fund_id, loan.pk, inst, account, kind[:30], entry_date, amount if side == "D" else -amount, VND, entry.pk)
            for account, side, amount, inst, kind in lines if account in SUBLEDGER_ACCOUNTS]


def _subledger_insert(rows: list[tuple]) -> None:
    insert_rows(LoanLedgerLine, ("fund_id", "loan_id", "installment_id", "account", "kind", "entry_date", "amount", "amount_currency",
                                 "journal_entry_id"), rows)


def subledger_mirror(loan: Loan, original: JournalEntry, reversal: JournalEntry, entry_date: date) -> None:
    """The subledger side of journal_entry_reverse: the same lines with the opposite sign."""
    rows = LoanLedgerLine.objects.filter(journal_entry=original, loan=loan).values_list("account", "installment_id", "kind", "amount")
    LoanLedgerLine.objects.bulk_create(
        LoanLedgerLine(fund_id=loan.fund_id, loan=loan, installment_id=inst, account=account, kind=kind, entry_date=entry_date,
                       amount=-amount, journal_entry=reversal)
        for account, inst, kind, amount in rows
    )
