"""A synthetic union-fund portfolio of N open loans, loaded into PostgreSQL with COPY.

    python bench/generate.py 100000 [--fund bench] [--workers 2] [--seed 7]

The portfolio looks like the funds' own (DOMAIN.md): ~70 % weekly, the rest biweekly or monthly;
2-50 M đồng averaging ~16 M; 12-36 month terms; flat, annuity and equal-principal products; members
spread over 300 grassroots unions; ~8 % in arrears with a long tail of days past due, ~2 %
restructured, ~1 % written off. Schedules come from the pure `repayments.schedule` functions
(the same code the services call), and every row is what servicing would have written had it
disbursed, collected and closed every business day up to yesterday (docs/servicing.md):

* paid installments: the member's payroll deduction of each month settles that month's
  installments on the month's first due date (one `Repayment` per loan and month; allocation rows
  per installment and component; Dr bank / Cr 1311 principal, Cr 5111 interest (paid by its due
  date, so close of business never accrued it), Cr 2111 savings);
* unpaid installments of loans in arrears: interest accrued on the due date (1331 for the first,
  9112 once the loan is overdue), principal moved 1311 -> 1312 the day after the first missed
  date, penalty accrued through yesterday on cumulative days (one subledger line per installment: every
  loan caught up, as after a month's last day; close of business then posts a seventh of them a day);
* restructurings (old schedule superseded, `rescheduled` allocations, new schedule by
  `reamortize`) and write-offs (the servicing write-off entry: Dr 6311 / Cr 1312, 1331, 9112,
  9113; Dr 9111 memo claim) with their own journal entries.

Journal entries are one per disbursement and write-off (they are linked one-to-one) and, as close
of business does, one per kind and business day for collections and accruals, with the per-loan
subledger rows beneath them. Loading runs with `session_replication_role = replica` (no FK or
balance triggers per row) and rebuilds the secondary indexes afterwards; `manage.py reconcile`
then proves the books balance and the subledger equals the general ledger (run at the end unless
--no-reconcile). Not generated: django-simple-history rows for the bulk-loaded records.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

from bench.portfolio import (  # noqa: E402  (pure: no Django needed in the workers)
    BATCH_KINDS,
    BIG_TABLES,
    BRANCHES,
    DAY_SLOTS,
    PERIODS,
    PRODUCTS,
    VND,
    LoanWriter,
    Out,
    _disclosure_cache,
    _member_row_factory,
)

# ------------------------------------------------------------------------------------------------
# Workers: generate a chunk and COPY it
# ------------------------------------------------------------------------------------------------

_CTX: dict = {}


def _worker_init(ctx: dict) -> None:
    import psycopg

    _CTX.update(ctx)
    _CTX["member_row"] = _member_row_factory(ctx)
    _CTX["disclosure"] = _disclosure_cache()
    _CTX["conn"] = psycopg.connect(ctx["dsn"], autocommit=False)
    with _CTX["conn"].cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("SET synchronous_commit = off")
    _CTX["conn"].commit()


TABLE_KEYS = ("member", "app", "je", "loan", "inst", "repayment", "alloc", "ledger", "jl", "restructure", "writeoff")


def _copy(cur, spec, rows) -> None:
    table, columns, tail = spec
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row + tail)


def generate_chunk(bounds: tuple[int, int]) -> tuple[int, dict, dict]:
    start, stop = bounds
    ctx = _CTX
    out = Out()
    writer = LoanWriter(ctx, out)
    for idx in range(start, stop):
        writer.loan(idx, random.Random(ctx["seed"] * 1_000_003 + idx))
    conn = ctx["conn"]
    with conn.cursor() as cur:
        for key in TABLE_KEYS:
            if out.rows[key]:
                _copy(cur, ctx["specs"][key], out.rows[key])
    conn.commit()
    batches = {key: dict(v) for key, v in out.batches.items()}
    return stop - start, batches, dict(out.counts)


# ------------------------------------------------------------------------------------------------
# The main process: fund, reference data, indexes, journal batches, reconcile
# ------------------------------------------------------------------------------------------------


def _default_for(field, now):
    from djmoney.money import Money

    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    if field.column.endswith("_currency"):
        return VND
    if field.has_default():
        value = field.get_default()
        if isinstance(value, Money):
            return value.amount
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return value
    if field.null:
        return None
    if field.get_internal_type() in ("CharField", "TextField", "SlugField"):
        return ""
    raise SystemExit(f"bench/generate.py does not know what to write in {field.model._meta.db_table}.{field.column}: update it.")


def table_spec(model, given: tuple[str, ...], now) -> tuple[str, list[str], tuple]:
    """COPY target: the columns we give, then every other column with its model default."""
    columns, tail = list(given), []
    for field in model._meta.concrete_fields:
        if field.column in given or field.primary_key:
            continue
        columns.append(field.column)
        tail.append(_default_for(field, now))
    return model._meta.db_table, columns, tuple(tail)


def _specs(now) -> dict:
    from borrowers.models import Member
    from loanfund.models import JournalEntry, JournalLine, LoanApplication
    from repayments.models import Allocation, Installment, Loan, LoanLedgerLine, Repayment, Restructure, WriteOff

    return {
        "member": table_spec(Member, ("id", "fund_id", "branch_id", "national_id", "full_name", "date_of_birth", "gender", "monthly_income",
                                      "monthly_income_currency", "household_size", "household_status", "joined_union_on"), now),
        "app": table_spec(LoanApplication, ("id", "fund_id", "member_id", "product_version_id", "amount", "amount_currency", "installments",
                                            "status", "created_by_id", "first_due_on"), now),
        "je": table_spec(JournalEntry, ("id", "fund_id", "entry_date", "kind", "memo", "source_type", "source_id"), now),
        "jl": table_spec(JournalLine, ("entry_id", "account_id", "side", "amount", "amount_currency"), now),
        "loan": table_spec(Loan, ("id", "fund_id", "member_id", "application_id", "product_version_id", "number", "principal_disbursed",
                                  "principal_disbursed_currency", "upfront_fee", "upfront_fee_currency", "disbursed_on", "disbursement_method",
                                  "annual_rate", "penalty_rate", "installments_count", "schedule_version", "apr", "eir", "status",
                                  "days_past_due", "restructure_count", "closed_on", "written_off_on", "disbursement_entry_id",
                                  "disbursed_by_id"), now),
        "inst": table_spec(Installment, ("id", "loan_id", "schedule_version", "number", "due_on", "principal", "principal_currency", "interest",
                                         "interest_currency", "savings", "savings_currency", "superseded_on", "settled_on"), now),
        "repayment": table_spec(Repayment, ("id", "fund_id", "loan_id", "amount", "amount_currency", "paid_on", "reference", "channel",
                                                  "created_by_id"), now),
        "alloc": table_spec(Allocation, ("fund_id", "loan_id", "repayment_id", "installment_id", "component", "kind", "amount", "amount_currency",
                                         "effective_on", "journal_entry_id"), now),
        "ledger": table_spec(LoanLedgerLine, ("fund_id", "loan_id", "installment_id", "account", "kind", "entry_date", "amount", "amount_currency",
                                              "journal_entry_id"), now),
        "restructure": table_spec(Restructure, ("loan_id", "restructured_on", "reason", "principal", "principal_currency", "installments",
                                                "annual_rate", "schedule_version", "approved_by_id"), now),
        "writeoff": table_spec(WriteOff, ("loan_id", "written_off_on", "reason", "principal", "principal_currency", "interest",
                                          "interest_currency", "penalty", "penalty_currency", "from_provision", "from_provision_currency",
                                          "to_expense", "to_expense_currency", "journal_entry_id", "approved_by_id"), now),
    }


def _next_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
    return cursor.fetchone()[0]


def _drop_secondary_indexes(cursor) -> None:
    """Secondary (non-constraint) indexes are rebuilt once after the load: far cheaper than
    maintaining them row by row. Their definitions are kept in a table first, so an interrupted
    run restores them on the next start."""
    cursor.execute("CREATE TABLE IF NOT EXISTS bench_dropped_index (name text PRIMARY KEY, definition text NOT NULL)")
    cursor.execute("""
        INSERT INTO bench_dropped_index (name, definition)
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        ON CONFLICT (name) DO NOTHING""", [list(BIG_TABLES)])
    cursor.execute("SELECT name FROM bench_dropped_index")
    for (name,) in cursor.fetchall():
        cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


def restore_indexes(cursor, progress=None) -> int:
    cursor.execute("SELECT to_regclass('bench_dropped_index') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return 0
    cursor.execute("SELECT name, definition FROM bench_dropped_index ORDER BY name")
    rows = cursor.fetchall()
    cursor.execute("SET maintenance_work_mem = '1GB'")
    for name, definition in rows:
        cursor.execute("SELECT to_regclass(%s) IS NULL", [f'public."{name}"'])
        if cursor.fetchone()[0]:
            cursor.execute(definition)
        if progress:
            progress(name)
    cursor.execute("DROP TABLE bench_dropped_index")
    return len(rows)


def _reference_data(fund_code: str, today: date):
    """Fund, staff user, grassroots unions and products (few rows: ORM)."""
    from django.contrib.auth import get_user_model

    from borrowers.models import UnionBranch
    from loanfund import roles
    from loanfund.models import Fund, LoanProduct, LoanProductVersion
    from loanfund.services.fund import fund_create, staff_user_create

    if Fund.objects.filter(code=fund_code).exists():
        raise SystemExit(f"Fund {fund_code!r} exists already: generate into a fresh database or pass another --fund.")
    fund = fund_create(code=fund_code, name=f"Synthetic fund {fund_code}", province="Hà Nội")
    user = staff_user_create(fund=fund, username=f"{fund_code}-officer", password="bench-officer-pw",
                             role_names=[roles.OFFICER, roles.APPROVER, roles.ACCOUNTANT, roles.DIRECTOR])
    if user is None:
        user = get_user_model().objects.get(username=f"{fund_code}-officer")
    UnionBranch.objects.bulk_create(
        UnionBranch(fund=fund, code=f"CD{k:04d}", name=f"Công đoàn cơ sở {k}", employer=f"Công ty {k}") for k in range(1, BRANCHES + 1)
    )
    branch_ids = list(UnionBranch.objects.filter(fund=fund).order_by("id").values_list("id", flat=True))
    products = []
    for code, name, frequency, method, rate, penalty, savings, fee, multiple, weight in PRODUCTS:
        product = LoanProduct.objects.create(fund=fund, code=code, name=name)
        per_year = PERIODS[frequency]
        version = LoanProductVersion.objects.create(
            product=product, version=1, min_amount=Decimal(2_000_000), max_amount=Decimal(50_000_000),
            min_installments=per_year, max_installments=per_year * 3, frequency=frequency, interest_method=method,
            annual_rate=Decimal(rate), penalty_rate=Decimal(penalty), rounding_multiple=multiple, upfront_fee_rate=Decimal(fee),
            savings_rate=Decimal(savings), created_by=user)
        products.append({"code": code, "frequency": frequency, "method": method, "annual_rate": Decimal(rate), "penalty_rate": Decimal(penalty),
                         "savings_rate": Decimal(savings), "fee_rate": Decimal(fee), "multiple": multiple, "weight": weight,
                         "version_id": version.pk})
    return fund, user, branch_ids, products


def _write_batches(cursor, *, fund_id: int, je_base: int, n: int, epoch: int, accounts: dict, batches: dict, net_disbursed: int,
                   first_day: date, now) -> int:
    """The close-of-business style entries (one per kind and day) and the capital that funded the loans."""
    from loanfund.models import JournalEntry, JournalLine

    je_spec = table_spec(JournalEntry, ("id", "fund_id", "entry_date", "kind", "memo", "source_type", "source_id"), now)
    jl_spec = table_spec(JournalLine, ("entry_id", "account_id", "side", "amount", "amount_currency"), now)
    entries, lines = [], []
    for (kind_index, ordinal), totals in sorted(batches.items()):
        kind, day = BATCH_KINDS[kind_index], date.fromordinal(ordinal)
        rows = [(account, "D" if total > 0 else "C", abs(total)) for account, total in sorted(totals.items()) if total]
        if not rows:
            continue
        je = je_base + 2 * n + kind_index * DAY_SLOTS + (ordinal - epoch)
        entries.append((je, fund_id, day, kind, f"Close of business {day}: {kind} (synthetic portfolio)", "close_of_business", day.isoformat()))
        lines += [(je, accounts[account], side, amount, VND) for account, side, amount in rows]
    capital_je = je_base + 2 * n + len(BATCH_KINDS) * DAY_SLOTS
    entries.append((capital_je, fund_id, first_day, "capital", "Union allocation (synthetic portfolio)", "bench", "capital"))
    lines += [(capital_je, accounts["1121"], "D", Decimal(net_disbursed), VND), (capital_je, accounts["3111"], "C", Decimal(net_disbursed), VND)]
    _copy(cursor, je_spec, entries)
    _copy(cursor, jl_spec, lines)
    return len(entries)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of loans")
    parser.add_argument("--fund", default="bench", help="code of the fund to create (default: bench)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--no-reconcile", action="store_true")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from loanfund.models import Account

    if connection.vendor != "postgresql":
        raise SystemExit("bench/generate.py loads PostgreSQL: set DATABASE_URL=postgres://...")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    now = datetime.now(dt_timezone.utc)
    with connection.cursor() as cursor:
        restore_indexes(cursor)
    with transaction.atomic():
        fund, user, branch_ids, products = _reference_data(args.fund, today)
    accounts = dict(Account.objects.filter(fund=fund).values_list("code", "id"))
    from loanfund.selectors.fund import fund_settings_as_of

    settings_row = fund_settings_as_of(fund=fund, on=today)
    penalty = {p["code"]: min(p["penalty_rate"], Decimal(settings_row.max_penalty_multiple) * p["annual_rate"]) for p in products}
    with connection.cursor() as cursor:
        ids = {t: _next_id(cursor, t) for t in ("repayments_loan", "borrowers_member", "loanfund_loanapplication", "repayments_installment",
                                                "repayments_repayment", "loanfund_journalentry")}
        if args.n >= 20000:
            _drop_secondary_indexes(cursor)
    ctx = {
        "dsn": _dsn(connection), "today": today, "fund_id": fund.pk, "user_id": user.pk, "n": args.n, "seed": args.seed,
        "loan_base": ids["repayments_loan"], "member_base": ids["borrowers_member"], "app_base": ids["loanfund_loanapplication"],
        "inst_base": ids["repayments_installment"], "repay_base": ids["repayments_repayment"], "je_base": ids["loanfund_journalentry"],
        "epoch": today.toordinal() - DAY_SLOTS + 10, "accounts": accounts, "branch_ids": branch_ids, "products": products,
        "penalty": penalty, "specs": _specs(now), "nid_prefix": f"{fund.pk % 1000:03d}",
    }
    connection.close()
    chunks = [(a, min(a + args.chunk, args.n)) for a in range(0, args.n, args.chunk)]
    batches: dict = defaultdict(lambda: defaultdict(Decimal))
    counts: dict = defaultdict(int)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                  disable=args.quiet) as progress:
        task = progress.add_task("loans", total=args.n)
        with get_context("fork").Pool(args.workers, initializer=_worker_init, initargs=(ctx,)) as pool:
            for done, chunk_batches, chunk_counts in pool.imap_unordered(generate_chunk, chunks):
                for key, totals in chunk_batches.items():
                    for account, amount in totals.items():
                        batches[key][account] += amount
                for key, value in chunk_counts.items():
                    counts[key] += value
                progress.advance(task, done)
        loaded = time.perf_counter()
        with connection.cursor() as cursor:
            pending = 0
            if _has_dropped(cursor):
                cursor.execute("SELECT COUNT(*) FROM bench_dropped_index")
                pending = cursor.fetchone()[0]
            index_task = progress.add_task("indexes", total=pending or 1)
            restore_indexes(cursor, progress=lambda name: progress.advance(index_task))
            progress.update(index_task, completed=pending or 1)
            indexed = time.perf_counter()
            with transaction.atomic():
                _write_batches(cursor, fund_id=fund.pk, je_base=ctx["je_base"], n=args.n, epoch=ctx["epoch"], accounts=accounts,
                               batches=batches, net_disbursed=counts["net_disbursed"], first_day=today - timedelta(days=2000), now=now)
            for table in ("repayments_loan", "borrowers_member", "loanfund_loanapplication", "repayments_installment", "repayments_repayment",
                          "loanfund_journalentry", "loanfund_journalline", "repayments_allocation", "repayments_loanledgerline",
                          "repayments_restructure", "repayments_writeoff"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT GREATEST(MAX(id), 1) FROM {table}))")
            from repayments.settlement import first_paid_backfill

            first_paid_backfill(fund.pk)  # the settlement projection's first allocation day of the unsettled installments
            # Visibility map and statistics, as after any bulk load (index-only scans, good plans).
            cursor.execute("VACUUM (ANALYZE)")
    from repayments.models import CloseOfBusinessRun

    CloseOfBusinessRun.objects.update_or_create(fund=fund, as_of=today - timedelta(days=1),
                                                defaults={"stage": "done", "result": {"synthetic": True}, "finished_at": timezone.now()})
    built = time.perf_counter()
    summary = {"loans": args.n, **{k: counts[k] for k in ("current", "arrears", "restructured", "written_off", "repayments")},
               "generate_and_copy_s": round(loaded - started, 1), "indexes_s": round(indexed - loaded, 1),
               "journal_and_analyze_s": round(built - indexed, 1)}
    if not args.no_reconcile:
        from compliance.reconciliation import reconcile

        differences = reconcile([fund])
        summary["reconcile_s"] = round(time.perf_counter() - built, 1)
        summary["differences"] = len(differences)
        for difference in differences[:20]:
            print(difference)
    summary["total_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(summary))
    return 1 if summary.get("differences") else 0


def _has_dropped(cursor) -> bool:
    cursor.execute("SELECT to_regclass('bench_dropped_index') IS NOT NULL")
    return cursor.fetchone()[0]


def _dsn(connection) -> str:
    s = connection.settings_dict
    parts = [f"dbname={s['NAME']}", f"host={s.get('HOST') or 'localhost'}"]
    if s.get("PORT"):
        parts.append(f"port={s['PORT']}")
    if s.get("USER"):
        parts.append(f"user={s['USER']}")
    if s.get("PASSWORD"):
        parts.append(f"password={s['PASSWORD']}")
    return " ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
