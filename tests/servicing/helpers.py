from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, connections

from loanfund.selectors.ledger import trial_balance
from repayments.reconciliation import loan_differences


def days(start: date, n: int) -> date:
    return start + timedelta(days=n)


def books(fund) -> list[tuple]:
    """Every account's debit/credit totals: equal books <=> equal tuples."""
    tb = trial_balance(fund=fund, as_of=date(2100, 1, 1))
    return [(a["code"], a["debit"], a["credit"]) for a in tb["accounts"]]


def assert_sound(fund) -> None:
    tb = trial_balance(fund=fund, as_of=date(2100, 1, 1))
    assert tb["totals"]["on_balance"]["difference"] == 0
    assert tb["totals"]["off_balance"]["difference"] == 0
    assert list(loan_differences(fund)) == []


def run_concurrently(n: int, work) -> list:
    """Call work(i) in n threads released together; returns results or exceptions."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        try:
            barrier.wait(10)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return results


def no_locks_left() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                       "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND NOT l.granted")
        return cursor.fetchone()[0] == 0


ZERO = Decimal(0)
