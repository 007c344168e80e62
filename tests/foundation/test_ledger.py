"""The ledger: balanced, append-only, enforced in Python and in PostgreSQL."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loanfund import chart
from loanfund.errors import DomainError, InvalidState
from loanfund.models import JournalEntry, JournalLine
from loanfund.models.ledger import ImmutableError
from loanfund.selectors.ledger import account_balance, trial_balance
from loanfund.services.ledger import Posting, credit, debit, journal_entry_post, journal_entry_reverse

D = date(2025, 3, 1)


def post(fund, *lines, **kw):
    return journal_entry_post(fund=fund, entry_date=kw.pop("entry_date", D), kind=kw.pop("kind", "test"), lines=list(lines), **kw)


@pytest.fixture
def books(make_fund):
    return make_fund("books")


def test_balanced_entry_is_posted_and_moves_balances(books):
    entry = post(books, debit(chart.LOANS_CURRENT, Decimal(5_000_000)), credit(chart.CASH, Decimal(5_000_000)))
    assert entry.lines.count() == 2
    assert account_balance(fund=books, code=chart.LOANS_CURRENT) == Decimal(5_000_000)
    assert account_balance(fund=books, code=chart.CASH) == Decimal(-5_000_000)


def test_lines_are_written_with_postgresql_placeholders_and_logged_when_prepared(books):
    """Journal lines go in one multi-row INSERT in PostgreSQL's own placeholders (insert_rows); from
    its prepare threshold on, the statement runs prepared and Django's query log still shows it."""
    from django.test.utils import CaptureQueriesContext

    amounts = [Decimal(1_000 * k + 7) for k in range(1, 6)]
    with CaptureQueriesContext(connection) as queries:
        for amount in amounts:
            post(books, debit(chart.LOANS_CURRENT, amount), debit(chart.LOANS_OVERDUE, amount + 1), credit(chart.CASH, 2 * amount + 1))
    inserts = [q["sql"] for q in queries if isinstance(q["sql"], str) and q["sql"].startswith('INSERT INTO "loanfund_journalline"')]
    assert all(isinstance(q["sql"], str) for q in queries)
    assert len(inserts) == len(amounts) and all("$15" in sql and "%s" not in sql for sql in inserts)
    assert account_balance(fund=books, code=chart.LOANS_CURRENT) == sum(amounts)
    assert account_balance(fund=books, code=chart.LOANS_OVERDUE) == sum(amounts) + len(amounts)
    assert account_balance(fund=books, code=chart.CASH) == -(2 * sum(amounts) + len(amounts))
    assert sorted(JournalLine.objects.filter(entry__fund=books, account__code=chart.LOANS_OVERDUE).values_list("amount", flat=True)) == [
        a + 1 for a in amounts]


@pytest.mark.parametrize(
    "lines, code",
    [
        ([], "empty_entry"),
        ([debit(chart.CASH, Decimal(100))], "empty_entry"),
        ([debit(chart.CASH, Decimal(100)), credit(chart.CAPITAL_DONOR, Decimal(99))], "unbalanced_entry"),
        ([debit(chart.CASH, Decimal("100.5")), credit(chart.CAPITAL_DONOR, Decimal("100.5"))], "invalid_amount"),
        ([debit(chart.CASH, Decimal(-100)), credit(chart.CAPITAL_DONOR, Decimal(-100))], "invalid_amount"),
        ([debit("0000", Decimal(100)), credit(chart.CAPITAL_DONOR, Decimal(100))], "unknown_account"),
        ([Posting(chart.CASH, "X", Decimal(1)), credit(chart.CAPITAL_DONOR, Decimal(1))], "invalid_side"),
        ([debit(chart.CASH, Decimal(100)), credit(chart.MEMO_CONTRA, Decimal(100))], "unbalanced_entry"),
    ],
)
def test_bad_postings_are_refused_and_write_nothing(books, lines, code):
    before = (JournalEntry.objects.count(), JournalLine.objects.count())
    with pytest.raises(DomainError) as info:
        post(books, *lines)
    assert info.value.code == code
    assert (JournalEntry.objects.count(), JournalLine.objects.count()) == before


def test_orm_cannot_update_or_delete_posted_rows(books):
    entry = post(books, debit(chart.CASH, Decimal(100)), credit(chart.CAPITAL_DONOR, Decimal(100)))
    line = entry.lines.first()
    line.amount = Decimal(1)
    with pytest.raises(ImmutableError):
        line.save()
    with pytest.raises(ImmutableError):
        line.delete()
    with pytest.raises(ImmutableError):
        JournalLine.objects.filter(pk=line.pk).update(amount=Decimal(1))
    with pytest.raises(ImmutableError):
        JournalLine.objects.filter(pk=line.pk).delete()
    with pytest.raises(ImmutableError):
        entry.delete()
    with pytest.raises(ImmutableError):
        JournalEntry.objects.filter(pk=entry.pk).update(memo="changed")
    assert JournalLine.objects.get(pk=line.pk).amount.amount == Decimal(100)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE loanfund_journalline SET amount = 1 WHERE id = %(line)s",
        "DELETE FROM loanfund_journalline WHERE id = %(line)s",
        "UPDATE loanfund_journalentry SET memo = 'x' WHERE id = %(entry)s",
        "DELETE FROM loanfund_journalentry WHERE id = %(entry)s",
    ],
)
def test_postgres_refuses_update_and_delete(books, sql):
    entry = post(books, debit(chart.CASH, Decimal(100)), credit(chart.CAPITAL_DONOR, Decimal(100)))
    line = entry.lines.first()
    with pytest.raises(DatabaseError, match="immutable"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"line": line.pk, "entry": entry.pk})
    assert JournalLine.objects.get(pk=line.pk).amount.amount == Decimal(100)


def test_postgres_refuses_an_unbalanced_entry_written_in_raw_sql(books):
    cash = books.accounts.get(code=chart.CASH).pk
    with pytest.raises(DatabaseError, match="unbalanced"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO loanfund_journalentry (fund_id, entry_date, kind, memo, source_type, source_id, created_at)"
                " VALUES (%s, '2025-01-01', 'raw', '', '', '', now()) RETURNING id", [books.pk])
            entry_id = cursor.fetchone()[0]
            cursor.execute("INSERT INTO loanfund_journalline (entry_id, account_id, side, amount, amount_currency) VALUES (%s, %s, 'D', 100, 'VND')",
                           [entry_id, cash])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(DatabaseError, match="no lines"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO loanfund_journalentry (fund_id, entry_date, kind, memo, source_type, source_id, created_at)"
                " VALUES (%s, '2025-01-01', 'raw', '', '', '', now())", [books.pk])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not JournalEntry.objects.filter(kind="raw").exists()


def test_reversal_mirrors_and_links_once(books):
    entry = post(books, debit(chart.LOANS_CURRENT, Decimal(700)), credit(chart.CASH, Decimal(700)))
    reversal = journal_entry_reverse(entry=entry, entry_date=D, reason="typo")
    assert reversal.reverses_id == entry.pk
    assert sorted(reversal.lines.values_list("account__code", "side")) == [(chart.CASH, "D"), (chart.LOANS_CURRENT, "C")]
    assert account_balance(fund=books, code=chart.LOANS_CURRENT) == 0
    with pytest.raises(InvalidState):
        journal_entry_reverse(entry=entry, entry_date=D, reason="again")


CODES = [code for code, *_ in chart.ACCOUNTS]
ON_BALANCE = [c for c in CODES if c not in chart.MEMO_CODES]
OFF_BALANCE = sorted(chart.MEMO_CODES)
pair = st.sampled_from([ON_BALANCE, OFF_BALANCE]).flatmap(lambda book: st.tuples(st.sampled_from(book), st.sampled_from(book)))
postings = st.lists(
    st.builds(lambda accounts, amount: (*accounts, amount), pair, st.integers(min_value=1, max_value=10**12)), min_size=1, max_size=4
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(postings, st.booleans(), st.booleans()), min_size=1, max_size=8))
def test_any_sequence_of_postings_and_reversals_keeps_the_books_balanced(books, steps):
    """Each step posts an entry (pairs of debit/credit), maybe reverses it, maybe tries an unbalanced one."""
    sid = transaction.savepoint()
    try:
        expected: dict[str, Decimal] = {code: Decimal(0) for code in CODES}
        for pairs, reverse, try_unbalanced in steps:
            lines = []
            for dr, cr, amount in pairs:
                lines += [debit(dr, Decimal(amount)), credit(cr, Decimal(amount))]
            entry = post(books, *lines)
            for dr, cr, amount in pairs:
                expected[dr] += amount
                expected[cr] -= amount
            if reverse:
                journal_entry_reverse(entry=entry, entry_date=D, reason="prop")
                for dr, cr, amount in pairs:
                    expected[dr] -= amount
                    expected[cr] += amount
            if try_unbalanced:
                count = JournalLine.objects.count()
                with pytest.raises(DomainError):
                    post(books, debit(chart.CASH, Decimal(10)), credit(chart.BANK, Decimal(9)))
                assert JournalLine.objects.count() == count
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the PostgreSQL balance check fires now
        tb = trial_balance(fund=books, as_of=D)
        assert tb["totals"]["on_balance"]["difference"] == 0
        assert tb["totals"]["off_balance"]["difference"] == 0
        for row in tb["accounts"]:
            signed = row["debit"] - row["credit"]
            assert signed == expected[row["code"]], row["code"]
    finally:
        transaction.savepoint_rollback(sid)
