"""Close of business for one fund and one business date: set-based SQL over the whole portfolio.

Stages, each its own transaction that also records the stage reached in CloseOfBusinessRun, so a
run killed midway resumes at the next stage:

1. aging    - every installment due before the date and not settled before it, with its principal
              and interest settled as of the date (one allocation probe each), into a work table:
              the arrears book that days past due and the penalty both read;
              days past due per loan from it, and for the loans the projection shows in arrears;
              loans that became overdue / current move their principal between 1311 and 1312
              (one journal entry for the fund, per-loan subledger lines); loans' status and
              days_past_due projection refreshed (one UPDATE ... FROM);
              penalty on overdue principal on cumulative days, delta to what is accrued (one memo
              entry, per-installment lines). The penalty is in aging's transaction because it reads
              the same work table: a repayment committed between two transactions would make it stale.
2. interest - installments falling due that day: interest accrued as income for current loans,
              to the off-balance memo account for overdue ones (one entry, per-installment lines).

Every stage posts a *delta* against what the subledger already holds, so re-running a stage (or
the whole day) posts nothing new, and running a past date that was never run posts what it lacks.
No Python loop over loans: rows go from SELECT into a work table into the subledger in SQL; only the
per-account totals (a handful of rows) come back to Python to build the journal entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from loanfund import chart
from loanfund.models import Fund
from loanfund.services.ledger import Posting, journal_entry_post

from . import sql
from .models import CloseOfBusinessRun

WORK = "repayments_cob_work"
STAGES = ("aging", "interest")
OVERDUE = f"{WORK}_overdue"
CONTRA = {chart.INTEREST_RECEIVABLE: chart.INTEREST_INCOME, chart.MEMO_OVERDUE_INTEREST: chart.MEMO_CONTRA,
          chart.MEMO_OVERDUE_PENALTY: chart.MEMO_CONTRA}

# Tests set this to simulate a crash after a stage has committed.
after_stage_hook: Callable[[str], None] | None = None


def _exec(cursor, statement: str) -> None:
    cursor.execute(statement)


def _work_table(cursor) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {WORK}")
    cursor.execute(f"CREATE TEMP TABLE {WORK} (loan_id bigint, installment_id bigint, account varchar(20), amount numeric(18, 0))")


def _post_work(cursor, *, fund: Fund, as_of: date, kind: str, ledger_kind: str, contra: dict[str, str] | None = None) -> dict:
    """Journal entry from the work table's per-account totals; subledger lines from its rows."""
    cursor.execute(f"SELECT account, SUM(amount), COUNT(*) FROM {WORK} GROUP BY account ORDER BY account")
    totals = [(account, Decimal(total), count) for account, total, count in cursor.fetchall() if total]
    if not totals:
        return {"entries": 0, "loan_lines": 0}
    lines: list[Posting] = []
    for account, total, _ in totals:
        side, other = ("D", "C") if total > 0 else ("C", "D")
        lines.append(Posting(account, side, abs(total)))
        if contra is not None:
            lines.append(Posting(contra[account], other, abs(total)))
    entry = journal_entry_post(fund=fund, entry_date=as_of, kind=kind, lines=lines, memo=f"Close of business {as_of}: {kind}",
                               source_type="close_of_business", source_id=as_of.isoformat())
    cursor.execute(
        f"""INSERT INTO repayments_loanledgerline (fund_id, loan_id, installment_id, account, kind, entry_date, amount, amount_currency,
                                                    journal_entry_id)
            SELECT {int(fund.pk)}, loan_id, installment_id, account, %s, {sql.lit(as_of)}, amount, 'VND', {int(entry.pk)}
            FROM {WORK} WHERE amount <> 0
            ORDER BY loan_id, installment_id""",  # in the order of the subledger's indexes: each leaf page once
        [ledger_kind],
    )
    return {"entries": 1, "loan_lines": cursor.rowcount, "total": {a: str(t) for a, t, _ in totals}}


def stage_aging(fund: Fund, as_of: date) -> dict:
    """Aging, then the penalty on the same work table (one transaction); {"aging": ..., "penalty": ...}."""
    if CloseOfBusinessRun.objects.filter(fund=fund, as_of__gt=as_of, stage="done").exists():
        # The status / days-past-due projection and the 1311/1312 split are for the latest closed
        # day; replaying an earlier day must not drag them back (its accruals still run).
        return {"aging": {"skipped": "a later day is already closed"}, "penalty": _penalty(fund, as_of, source=None)}
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {OVERDUE}")
        cursor.execute(f"CREATE TEMP TABLE {OVERDUE} AS {sql.overdue_installments_select(fund_id=fund.pk, as_of=as_of)}")
        cursor.execute(f"ANALYZE {OVERDUE}")  # its size and loans for the plans that join it
        aging = _aging(cursor, fund, as_of)
    penalty = _penalty(fund, as_of, source=OVERDUE, arrears=f"{WORK}_dpd")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {OVERDUE}")
        cursor.execute(f"DROP TABLE IF EXISTS {WORK}_dpd")
    return {"aging": aging, "penalty": penalty}


def _aging(cursor, fund: Fund, as_of: date) -> dict:
    _work_table(cursor)
    cursor.execute(f"DROP TABLE IF EXISTS {WORK}_dpd")
    cursor.execute(f"CREATE TEMP TABLE {WORK}_dpd AS {sql.days_past_due_from(OVERDUE, as_of=as_of)}")
    # Loans not listed are current that day: those the projection still shows in arrears change.
    cursor.execute(f"""
        INSERT INTO {WORK}_dpd (loan_id, dpd)
        SELECT l.id, 0 FROM repayments_loan l
         WHERE l.fund_id = {int(fund.pk)} AND l.status IN {sql.OPEN} AND (l.days_past_due > 0 OR l.status = 'in_arrears')
           AND NOT EXISTS (SELECT 1 FROM {WORK}_dpd d WHERE d.loan_id = l.id)""")
    # Principal of loans whose overdue state changes moves between 1311 and 1312.
    cursor.execute(f"""
        INSERT INTO {WORK} (loan_id, installment_id, account, amount)
        SELECT b.loan_id, NULL, b.account, -b.balance FROM (
            SELECT s.loan_id, s.account, SUM(s.amount) AS balance
            FROM repayments_loanledgerline s
            JOIN {WORK}_dpd d ON d.loan_id = s.loan_id
            JOIN repayments_loan l ON l.id = s.loan_id
            WHERE s.account IN ('{chart.LOANS_CURRENT}', '{chart.LOANS_OVERDUE}')
              -- only loans whose overdue state changes (the projection and the split agree)
              AND (CASE WHEN d.dpd > 0 THEN 1 ELSE 0 END) <> (CASE WHEN l.days_past_due > 0 THEN 1 ELSE 0 END)
              AND ((d.dpd > 0 AND s.account = '{chart.LOANS_CURRENT}') OR (d.dpd = 0 AND s.account = '{chart.LOANS_OVERDUE}'))
            GROUP BY s.loan_id, s.account
        ) b WHERE b.balance <> 0""")
    cursor.execute(f"""
        INSERT INTO {WORK} (loan_id, installment_id, account, amount)
        SELECT loan_id, NULL, CASE WHEN account = '{chart.LOANS_CURRENT}' THEN '{chart.LOANS_OVERDUE}' ELSE '{chart.LOANS_CURRENT}' END,
               -amount
        FROM {WORK}""")
    result = _post_work(cursor, fund=fund, as_of=as_of, kind="cob_aging", ledger_kind="aging")
    cursor.execute(f"""
        UPDATE repayments_loan SET days_past_due = d.dpd,
               status = CASE WHEN repayments_loan.status = 'restructured' THEN 'restructured'
                             WHEN d.dpd > 0 THEN 'in_arrears' ELSE 'active' END
        FROM {WORK}_dpd d
        WHERE repayments_loan.id = d.loan_id
          AND (repayments_loan.days_past_due <> d.dpd
               OR (repayments_loan.status = 'active' AND d.dpd > 0) OR (repayments_loan.status = 'in_arrears' AND d.dpd = 0))""")
    result["loans_updated"] = cursor.rowcount
    cursor.execute(f"DROP TABLE IF EXISTS {WORK}")
    return result


def stage_interest(fund: Fund, as_of: date) -> dict:
    with connection.cursor() as cursor:
        _work_table(cursor)
        cursor.execute(f"INSERT INTO {WORK} (loan_id, installment_id, account, amount) {sql.interest_accrual_select(fund_id=fund.pk, as_of=as_of)}")
        result = _post_work(cursor, fund=fund, as_of=as_of, kind="cob_interest", ledger_kind="interest_accrual", contra=CONTRA)
        cursor.execute(f"DROP TABLE IF EXISTS {WORK}")
    return {"interest": result}


def _penalty(fund: Fund, as_of: date, *, source: str | None, arrears: str | None = None) -> dict:
    rate = sql.overdue_interest_rate(fund, as_of)
    with connection.cursor() as cursor:
        _work_table(cursor)
        accrual = sql.penalty_accrual_select(fund_id=fund.pk, as_of=as_of, interest_rate=rate, source=source, arrears=arrears,
                                             every_days=settings.PENALTY_MEMO_EVERY_DAYS)
        cursor.execute(f"INSERT INTO {WORK} (loan_id, installment_id, account, amount) {accrual}")
        result = _post_work(cursor, fund=fund, as_of=as_of, kind="cob_penalty", ledger_kind="penalty_accrual", contra=CONTRA)
        cursor.execute(f"DROP TABLE IF EXISTS {WORK}")
    return result


def _fault_injection_pause(stage: str) -> None:
    """Crash tests with a real worker: REPAYMENTS_COB_PAUSE_AFTER="aging:30" sleeps 30 s after
    that stage has committed, so the test can kill the worker there. Unset in every deployment."""
    import os

    setting = os.environ.get("REPAYMENTS_COB_PAUSE_AFTER", "")
    if setting.partition(":")[0] == stage:
        import time

        time.sleep(float(setting.partition(":")[2] or 30))


STAGE_FUNCTIONS = {"aging": stage_aging, "interest": stage_interest}


def tune_session_for_batch() -> None:
    """Portfolio-wide statements: JIT compilation costs seconds per plan and buys nothing here
    (measured on classification at 100,000 loans: 7.5 s of 50 s), and hash aggregates over every
    installment need more than the interactive work_mem. Transaction-local, PostgreSQL only."""
    if connection.vendor == "postgresql":
        work_mem = settings.COB_WORK_MEM
        if not re.fullmatch(r"[0-9]+(kB|MB|GB)", work_mem):
            raise ValueError(f"COB_WORK_MEM must look like 256MB, not {work_mem!r}")
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(f"SET LOCAL work_mem = '{work_mem}'")
            cursor.execute(f"SET LOCAL max_parallel_workers_per_gather = {int(settings.BATCH_PARALLEL_WORKERS)}")


def close_of_business(*, fund: Fund, as_of: date, progress: Callable[[str, int], None] | None = None, rerun: bool = False) -> dict:
    """Run (or resume) close of business for `fund` on `as_of`. Idempotent: a finished day is not
    run again unless `rerun` (which, posting deltas only, changes nothing unless rows changed)."""
    if as_of > timezone.localdate():
        from loanfund.errors import DomainError

        raise DomainError("future_date", "Close of business runs for today or a past date.", attr="as_of", status=400)
    run, _ = CloseOfBusinessRun.objects.get_or_create(fund=fund, as_of=as_of)
    if run.stage == "done" and not rerun:
        return {"as_of": as_of.isoformat(), "stage": "done", "already_done": True, **run.result}
    # A run stopped by the three-stage version (aging, interest, penalty) resumes after the stage it
    # reached; a penalty it did not post is posted by the next day's run (penalties are cumulative).
    reached = {"penalty": "interest"}.get(run.stage, run.stage)
    start = 0 if rerun or reached in ("started", "done") else STAGES.index(reached) + 1
    results = dict(run.result or {})
    for index, stage in enumerate(STAGES[start:], start=start):
        with transaction.atomic():
            locked = CloseOfBusinessRun.objects.select_for_update().get(pk=run.pk)
            tune_session_for_batch()
            locked_reached = {"penalty": "interest"}.get(locked.stage, locked.stage)
            if not rerun and locked_reached not in ("started", "done") and STAGES.index(locked_reached) >= index:
                continue  # another worker did this stage meanwhile
            results.update(STAGE_FUNCTIONS[stage](fund, as_of))
            CloseOfBusinessRun.objects.filter(pk=run.pk).update(stage=stage, result=results)
        if progress:
            progress(stage, int(100 * (index + 1) / (len(STAGES) + 1)))
        if after_stage_hook:
            after_stage_hook(stage)
        _fault_injection_pause(stage)
    CloseOfBusinessRun.objects.filter(pk=run.pk).update(stage="done", result=results, finished_at=timezone.now())
    return {"as_of": as_of.isoformat(), "stage": "done", **results}
