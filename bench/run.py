"""Benchmarks: each figure with its bar (issue 7). Runs against DATABASE_URL (PostgreSQL).

    python bench/run.py [--sections 1,2,3,4,5,6] [--fund bench] [--generate 10000] [--markdown]

`make bench` runs it on a throwaway PostgreSQL (`python -m tests.services -- python bench/run.py`,
arguments through BENCH_ARGS); a fund that does not exist yet is generated first with
`bench/generate.py` (--generate N loans). Sections:

1. schedule generation: schedules/s of `repayments.schedule.build_schedule` (36 installments) and
   the ratio to a numpy-financial (float) amortization of the same inputs;
2. repayment posting with its ledger entries: one at a time (`repayment_post`) and on collection sheets
   (`collection_sheet_post`, the way payroll deductions and group collections arrive): repayments/s,
   each posting rolled back after the checks its commit would run, on loans drawn anew each run;
3. close of business for today: seconds, the lower bound (one statement reading the same installment
   rows and aggregating days past due per loan) and the ratio; run in a transaction rolled back
   (timed with the constraint checks its commit would run), so it can be repeated on the same
   portfolio. Section 2 rolls its postings back too, so every run finds the portfolio as
   generated (a committed run paid off part of the arrears book that close of business works on);
4. month-end classification + provisioning + `monthly_portfolio` in XLSX, CSV and PDF: seconds and
   peak RSS of the process that does it (a child process);
5. `GET /api/v1/me/loans/{id}/` under 32 concurrent connections (wrk, --seconds each) against gunicorn with 2
   workers: requests/s, p50, p99, and the ratio to a trivial authenticated DRF endpoint, same run
   (each endpoint's load in --slices runs, the two taken in turn, merged), with the CPU each request
   cost the server and its PostgreSQL backends and the host's steal during the runs;
6. SQL queries per request of each loan and member endpoint at 12 vs 156 installments and 0 vs 50
   repayments (must not grow).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# As in production (config/settings/production.py): with DEBUG on, Django's debug cursor keeps
# every statement and formats it with its parameters (psycopg's client-side mogrify of each
# multi-row INSERT), a cost in §2 that a real fund never pays. §6 counts queries with
# CaptureQueriesContext, which turns the debug cursor on for itself.
os.environ.setdefault("DJANGO_DEBUG", "false")


@dataclass
class Figure:
    section: str
    name: str
    value: str
    bar: str = ""
    holds: bool | None = None


FIGURES: list[Figure] = []


def record(section, name, value, bar="", holds=None):
    FIGURES.append(Figure(section, name, value, bar, holds))
    mark = "" if holds is None else (" ✔" if holds else " ✘")
    print(f"  [{section}] {name}: {value}{('   bar: ' + bar) if bar else ''}{mark}", flush=True)


class Rollback(Exception):
    pass


def rolled_back(work, **arguments):
    """work(**arguments) in a transaction rolled back once the checks its COMMIT would run have run
    (timed with them): the benchmark leaves the portfolio as it found it. Returns work's result."""
    from django.db import connection, transaction

    try:
        with transaction.atomic():
            result = work(**arguments)
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            raise Rollback(result)
    except Rollback as done:
        return done.args[0]


# ------------------------------------------------------------------------------------------------
# 1. Schedule generation
# ------------------------------------------------------------------------------------------------


def section_schedule(args):
    import numpy as np
    import numpy_financial as npf

    from repayments.schedule import ScheduleTerms, build_schedule

    inputs = []
    for k in range(3000):
        method = ("flat", "annuity", "equal_principal")[k % 3]
        inputs.append(ScheduleTerms(principal=Decimal(2_000_000 + (k * 15_700) % 48_000_000), annual_rate=Decimal("0.072") + Decimal(k % 5) / 1000,
                                    installments=36, frequency="monthly", method=method, disbursed_on=date(2025, 1, 1) + timedelta(days=k % 28),
                                    multiple=1000, savings_rate=Decimal("0.0025")))
    build_schedule(inputs[0])
    # CPU time of this process: the machine is shared, and a schedule is pure CPU work.
    best = wall = 0.0
    for _ in range(3):
        start, start_wall = time.process_time(), time.perf_counter()
        for terms in inputs:
            build_schedule(terms)
        best = max(best, len(inputs) / (time.process_time() - start))
        wall = max(wall, len(inputs) / (time.perf_counter() - start_wall))
    floats = [(float(t.principal), float(t.annual_rate) / 12, t.installments) for t in inputs]
    per = np.arange(1, 37)
    npf_best = 0.0
    for _ in range(3):
        start = time.process_time()
        for principal, rate, n in floats:
            npf.ipmt(rate, per, n, -principal)
            npf.ppmt(rate, per, n, -principal)
        npf_best = max(npf_best, len(floats) / (time.process_time() - start))
    record("1", "schedules per CPU-second (build_schedule, 36 monthly installments, 3 methods)", f"{best:,.0f}", "≥ 20,000", best >= 20_000)
    record("1", "  same, per wall-clock second on this shared machine", f"{wall:,.0f}")
    record("1", "numpy-financial float amortization (ipmt + ppmt), schedules per CPU-second", f"{npf_best:,.0f}")
    record("1", "ratio Decimal / numpy-financial", f"{best / npf_best:.2f}")


# ------------------------------------------------------------------------------------------------
# 2. Repayment posting
# ------------------------------------------------------------------------------------------------


def section_repayments(args, fund):
    import random

    from django.db import DatabaseError, connection
    from django.utils import timezone

    from loanfund.errors import DomainError
    from repayments.models import Installment, Loan, Repayment
    from repayments.services import RepaymentLine, collection_sheet_post, repayment_post

    today = timezone.localdate()
    count = args.repayments
    if connection.vendor == "postgresql":
        try:  # read times for database_reads (a superuser setting: without it only the page counts)
            with connection.cursor() as cursor:
                cursor.execute("SET track_io_timing = on")
        except DatabaseError:  # not allowed for this role: page counts only
            pass
    open_loans = Loan.objects.filter(fund=fund, status__in=["in_arrears", "active"])
    # The worst case: loans long in arrears (catch-up and penalty work on every one), half posted
    # one by one and half on collection sheets. Then a collection sheet as a grassroots union
    # sends it: a random sample of the open loans (in the portfolio's own mix of current and in
    # arrears), which is what the bar is read on.
    # Every posting is rolled back (rolled_back): a committed run paid off a few thousand loans in
    # arrears, a large share of a 100,000-loan portfolio's arrears book, and later runs of close of
    # business then had less to do there than at 1,000,000. So that a run does not find the pages
    # of the loans the previous run posted, each run draws its own loans (--seed repeats a draw);
    # loans a committed run of an earlier version paid are left out.
    open_loans = open_loans.exclude(pk__in=Repayment.objects.filter(fund=fund, reference__startswith="BENCH-").values("loan_id"))
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    draw = random.Random(seed)
    longest = draw.sample(list(open_loans.order_by("-days_past_due", "id").values_list("id", flat=True)[:5 * count]), 3 * count)
    drawn = draw.sample(list(open_loans.exclude(pk__in=longest).values_list("id", flat=True)), 2 * count)
    record("2", "loans drawn with --seed", str(seed))
    # Each loan pays its next unsettled installment; a loan down to its last one is left out (that
    # installment's interest could be more than the payoff, and a whole sheet would be refused).
    amounts, unsettled = {}, {}
    for loan_id, principal, interest in (Installment.objects.filter(loan_id__in=longest + drawn, superseded_on__isnull=True,
                                                                    settled_on__isnull=True)
                                         .order_by("loan_id", "due_on").values_list("loan_id", "principal", "interest")):
        amounts.setdefault(loan_id, principal + interest)
        unsettled[loan_id] = unsettled.get(loan_id, 0) + 1
    worst = [loan_id for loan_id in longest if unsettled.get(loan_id, 0) >= 2][:2 * count]
    sample = [loan_id for loan_id in drawn if unsettled.get(loan_id, 0) >= 2][:count]
    user = fund_officer(fund)
    stamp = int(time.time())
    connection.queries_log.clear()
    start = time.perf_counter()
    posted, refused = 0, 0
    for k, loan_id in enumerate(worst[0::2]):
        try:
            rolled_back(repayment_post, fund=fund, loan_id=loan_id, amount=amounts[loan_id], paid_on=today, reference=f"BENCH-{stamp}-{k}",
                        channel="cash", posted_by=user)
            posted += 1
        except DomainError:
            refused += 1
    elapsed = time.perf_counter() - start
    rate = posted / elapsed if elapsed else 0
    record("2", f"repayments/s one at a time (repayment_post), {posted} loans long in arrears, one process", f"{rate:,.0f}")
    if refused:
        record("2", "repayments refused by the service (e.g. above payoff)", str(refused))

    def sheets(loans, label, bar):
        size = args.sheet_lines
        posted = 0
        connection.queries_log.clear()
        io_before = database_reads()
        start = time.perf_counter()
        for first in range(0, len(loans), size):
            lines = [RepaymentLine(loan_id, amounts[loan_id], today, f"BENCH-{label}-{stamp}-{first + k}", "payroll_deduction")
                     for k, loan_id in enumerate(loans[first:first + size])]
            posted += len(rolled_back(collection_sheet_post, fund=fund, lines=lines, posted_by=user))
        elapsed = time.perf_counter() - start
        rate = posted / elapsed if elapsed else 0
        text = f"repayments/s on collection sheets of {size} lines (collection_sheet_post), {posted} {label}, one process"
        record("2", text, f"{rate:,.0f}", "≥ 300" if bar else "", rate >= 300 if bar else None)
        io_after = database_reads()
        if io_before and io_after and posted:
            reads, read_ms = io_after[0] - io_before[0], io_after[1] - io_before[1]
            per_read = f"{read_ms / reads:.2f} ms each, {read_ms / 1000:.1f} s of the {elapsed:.1f} s" if reads and read_ms else "read time not tracked"
            record("2", "  pages read from outside shared buffers per line (database-wide); their read time", f"{reads / posted:.1f}; {per_read}")

    sheets(worst[1::2], "loans long in arrears", bar=False)
    in_arrears = Loan.objects.filter(pk__in=sample, days_past_due__gt=0).count()
    sheets(sample, f"open loans drawn at random ({in_arrears} in arrears)", bar=True)


# ------------------------------------------------------------------------------------------------
# 3. Close of business
# ------------------------------------------------------------------------------------------------


def database_reads() -> tuple[int, float] | None:
    """(blocks read, ms spent reading them) by the whole database so far: the disk's share of a
    run (ms only with track_io_timing on; the benchmark turns it on for its session if allowed)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # this session's counts, flushed once it is idle
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT blks_read, blk_read_time FROM pg_stat_database WHERE datname = current_database()")
        blocks, ms = cursor.fetchone()
    return int(blocks), float(ms)


def lower_bound_sql(fund_id: int, as_of: date, *, unsettled_only: bool = True) -> str:
    """One statement that reads the installment rows close of business reads (due by the day and,
    with the settlement projection, not settled as of it) and aggregates days past due per loan.
    `unsettled_only=False`: every installment due by the day (what a design without the projection
    must read; reported alongside)."""
    d = f"DATE '{as_of.isoformat()}'"
    unsettled = f"AND (i.settled_on IS NULL OR i.settled_on > {d})" if unsettled_only else ""
    return f"""
        SELECT COUNT(*), COALESCE(SUM(dpd), 0) FROM (
            SELECT i.loan_id, MAX({d} - i.due_on) AS dpd
            FROM repayments_installment i JOIN repayments_loan l ON l.id = i.loan_id
            WHERE l.fund_id = {int(fund_id)} AND l.status IN ('active', 'in_arrears', 'restructured')
              AND i.due_on <= {d} {unsettled}
            GROUP BY i.loan_id) x"""


def section_close_of_business(args, fund):
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    try:
        from repayments.cob import close_of_business
    except ImportError:
        record("3", "close of business", "not measured: repayments.cob is not on this branch yet")
        return
    today = timezone.localdate()
    n = portfolio_size(fund)
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")  # as close of business runs (repayments.cob)
        start = time.perf_counter()
        cursor.execute(lower_bound_sql(fund.pk, today))
        cursor.fetchall()
        bound = time.perf_counter() - start
        cursor.execute("RESET jit")
    def timed_run(every_days: int) -> tuple[float, dict]:
        """Close of business for today, rolled back, with the penalty memo of the loans of every
        `every_days`-th day (settings.PENALTY_MEMO_EVERY_DAYS; 1: every loan, as on a month's last day)."""
        # Each run here is rolled back, and leaves its subledger lines as dead index entries that
        # the next run's probes step over; a real day commits and autovacuum tidies after it.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM repayments_loanledgerline")
        kept = settings.PENALTY_MEMO_EVERY_DAYS
        settings.PENALTY_MEMO_EVERY_DAYS = every_days
        start = time.perf_counter()
        try:
            result = rolled_back(close_of_business, fund=fund, as_of=today, rerun=True)
        finally:
            settings.PENALTY_MEMO_EVERY_DAYS = kept
        return time.perf_counter() - start, result

    every_days = settings.PENALTY_MEMO_EVERY_DAYS
    elapsed, result = timed_run(every_days)
    month_end, month_end_result = timed_run(1) if every_days > 1 else (elapsed, result)
    posted = {stage: (result.get(stage) or {}).get("loan_lines", 0) for stage in ("aging", "interest", "penalty")}
    # The comparison reads every installment due by the day (most of the table at 1M): measured
    # after the runs, so that its reads do not evict what close of business reads before it is timed.
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        start = time.perf_counter()
        cursor.execute(lower_bound_sql(fund.pk, today, unsettled_only=False))
        cursor.fetchall()
        bound_all = time.perf_counter() - start
        cursor.execute("RESET jit")
    bar_s = 300 if n >= 1_000_000 else 300 * n / 1_000_000
    record("3", f"close of business, N = {n:,} (s)", f"{elapsed:.1f}", f"≤ {bar_s:.0f} s" + ("" if n >= 1_000_000 else " (300 s × N / 1M)"),
           elapsed <= bar_s)
    record("3", "lower bound: one statement aggregating days past due over the same installment rows (due, unsettled that day) (s)",
           f"{bound:.2f}")
    record("3", "ratio close of business / lower bound", f"{elapsed / bound:.1f}", "≤ 10", elapsed / bound <= 10)
    record("3", "for comparison: the same aggregate over every installment due by the day (s); ratio to it",
           f"{bound_all:.2f}; {elapsed / bound_all:.1f}")
    record("3", f"subledger lines posted (aging / interest / penalty: the loans of one day in {every_days})",
           " / ".join(str(posted[s]) for s in ("aging", "interest", "penalty")))
    if every_days > 1:
        lines = (month_end_result.get("penalty") or {}).get("loan_lines", 0)
        record("3", f"a month's last day: every loan's penalty memo ({lines} lines), run after the above (s); ratio to the lower bound",
               f"{month_end:.1f}; {month_end / bound:.1f}")
    save_timing(args, f"cob_{n}", elapsed)
    other = load_timing(args, f"cob_{1_000_000 if n < 1_000_000 else 100_000}")
    if other and n in (100_000, 1_000_000):
        growth = (elapsed / other) if n == 1_000_000 else (other / elapsed)
        record("3", "growth 100,000 -> 1,000,000 (time ratio)", f"{growth:.1f}", "≤ 12", growth <= 12)


# ------------------------------------------------------------------------------------------------
# 4. Month-end classification, provisioning and the monthly report
# ------------------------------------------------------------------------------------------------


def month_end_child(fund_code: str) -> None:
    """Runs in its own process so that its peak RSS is the figure."""
    import django

    django.setup()
    from django.utils import timezone

    from compliance.services.reports import report_generate, report_request
    from loanfund.models import Fund

    fund = Fund.objects.get(code=fund_code)
    first = timezone.localdate().replace(day=1)
    period = (first - timedelta(days=1)).strftime("%Y-%m")
    user = fund_officer(fund)
    start = time.perf_counter()
    report = report_request(fund=fund, kind="monthly_portfolio", period=period, requested_by=user, enqueue=False)
    report = report_generate(report_id=report.pk)
    elapsed = time.perf_counter() - start
    files = {f.format: f.size for f in report.files.all()} if hasattr(report, "files") else {}
    print(json.dumps({"seconds": elapsed, "status": report.status, "error": report.error[:500], "period": period, "files": files}))


def section_month_end(args, fund):
    n = portfolio_size(fund)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--month-end-child", fund.code], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        record("4", "month-end", f"failed: {proc.stderr[-800:]}")
        return
    out = json.loads(lines[-1])
    if out["status"] != "ready":
        record("4", "month-end", f"report {out['status']}: {out['error']}")
        return
    bar_s = 120 if n >= 1_000_000 else 120 * n / 1_000_000
    record("4", f"classification + provisioning + monthly_portfolio xlsx/csv/pdf, N = {n:,}, period {out['period']} (s)",
           f"{out['seconds']:.1f}", f"≤ {bar_s:.0f} s" + ("" if n >= 1_000_000 else " (120 s × N / 1M)"), out["seconds"] <= bar_s)
    record("4", "peak RSS of that process (MiB)", f"{peak_mib:,.0f}", "≤ 1,024", peak_mib <= 1024)
    record("4", "process wall time incl. start-up (s); report file sizes (bytes)", f"{wall:.1f}; {out['files']}")


# ------------------------------------------------------------------------------------------------
# 5. Member balance endpoint under load
# ------------------------------------------------------------------------------------------------

def cpu_gauge() -> float:
    """CPU seconds of a fixed pure-Python loop: how fast this host's CPU is right now. The VM's host
    throttles it after sustained use (bench/RESULTS.md), which moves every per-request figure; read
    before and after section 5, it tells a slow CPU apart from a slow endpoint (it does not see
    memory or cache contention: session 9 saw slow runs with a rested gauge)."""
    started, total = time.process_time(), 0
    for i in range(3_000_000):
        total += i * i
    return time.process_time() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk_slice(url: str, token: str, seconds: int, connections: int = 32, threads: int = 2) -> dict:
    """One fixed-duration wrk run through bench/wrk_percentiles.lua: its requests, duration (s),
    non-2xx/3xx responses and its latency at every 0.1 percentile (ms), for merge_slices."""
    with tempfile.NamedTemporaryFile(prefix="wrk-", suffix=".txt") as out:
        subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(ROOT / "bench" / "wrk_percentiles.lua"),
                        "-H", f"Authorization: Bearer {token}", url], capture_output=True, text=True, timeout=seconds + 60,
                       env={**os.environ, "WRK_OUT": out.name}, check=True)
        values = Path(out.name).read_text().split()
    requests, duration_us, errors = (int(v) for v in values[:3])
    return {"requests": requests, "seconds": duration_us / 1e6, "errors": errors, "grid": [int(v) / 1000 for v in values[3:]]}


def merge_slices(slices: list[dict]) -> dict:
    """requests/s, p50 and p99 of several wrk_slice runs of one endpoint taken together: each
    run's 1,000 percentile points carry a thousandth of its requests, so a run with more requests
    weighs more, and a single run gives wrk's own percentiles."""
    requests = sum(s["requests"] for s in slices)
    points = sorted((value, s["requests"] / len(s["grid"])) for s in slices for value in s["grid"])

    def percentile(q):
        reached = 0.0
        for value, weight in points:
            reached += weight
            if reached >= q * requests - 1e-9:
                return value
        return points[-1][0] if points else float("nan")

    seconds = sum(s["seconds"] for s in slices)
    return {"rps": requests / seconds, "seconds": seconds, "p50": percentile(0.50), "p99": percentile(0.99), "requests": requests,
            "errors": sum(s["errors"] for s in slices), "per_slice": [s["requests"] / s["seconds"] for s in slices]}


CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def cpu_snapshot(server_group: int | None = None, backends: frozenset[int] = frozenset()) -> dict:
    """The machine's CPU time by kind (the first line of /proc/stat) and the CPU time (s) used so far
    by the server's process group and by its PostgreSQL backends (`backends`: their pids, when the
    database runs on this machine). Empty where /proc is not Linux's: the figures are left out."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        line = Path("/proc/stat").read_text().splitlines()[0].split()
        machine = dict(zip(CPU_FIELDS, (int(v) / tick for v in line[1:1 + len(CPU_FIELDS)]), strict=True))
    except (OSError, ValueError):
        return {}
    taken = {"machine": machine, "server": 0.0, "postgres": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        fields = raw[raw.rindex(")") + 2:].split()  # after the command's name, which may hold spaces
        used = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        if server_group is not None and int(fields[2]) == server_group:
            taken["server"] += used
        elif int(entry.name) in backends:
            taken["postgres"] += used
    return taken


SERVER_APPLICATION_NAME = "loanfund-bench-server"


def server_backends() -> frozenset[int]:
    """The pids of the PostgreSQL backends serving §5's server (its workers' persistent connections,
    open once the warm-up has run)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [SERVER_APPLICATION_NAME])
        return frozenset(pid for pid, in cursor.fetchall())


def cpu_used(before: dict, after: dict) -> dict:
    """What happened between two cpu_snapshot's: the server's and PostgreSQL's CPU seconds, and the
    share of the machine's time the hypervisor gave to others (steal) or nobody used (idle)."""
    if not before or not after:
        return {}
    spent = {kind: after["machine"][kind] - before["machine"][kind] for kind in CPU_FIELDS}
    total = sum(spent.values()) or 1.0
    return {"server": after["server"] - before["server"], "postgres": after["postgres"] - before["postgres"],
            "steal": spent["steal"] / total, "idle": (spent["idle"] + spent["iowait"]) / total}


def interleaved(urls: dict[str, str], token: str, seconds: int, slices: int, server_group: int | None = None,
                backends: frozenset[int] = frozenset()) -> dict[str, dict]:
    """`seconds` of load on each endpoint, in `slices` runs per endpoint taken in turn (ABBA...), so
    that both see the same host: a virtual machine's CPU can be throttled for a while, and two
    consecutive 10-second runs then compare two different machines. Each endpoint's result also
    has the CPU its runs cost (cpu_used, summed), so a rate can be told apart from the host's."""
    names, runs, used = list(urls), {name: [] for name in urls}, {name: [] for name in urls}
    each = max(1, round(seconds / slices))
    for k in range(slices):
        for name in (names if k % 2 == 0 else names[::-1]):
            before = cpu_snapshot(server_group, backends)
            runs[name].append(wrk_slice(urls[name], token, each))
            used[name].append(cpu_used(before, cpu_snapshot(server_group, backends)))
    return {name: {**merge_slices(taken), "cpu": cpu_per_request(used[name], sum(s["requests"] for s in taken))}
            for name, taken in runs.items()}


def cpu_per_request(used: list[dict], requests: int) -> dict:
    """Several runs' cpu_used taken together: the server's and PostgreSQL's CPU milliseconds per
    request, and the steal and idle shares over all of them (each run weighs by its length alone,
    which is the same for every run)."""
    if not used or not all(used) or not requests:
        return {}
    return {"server_ms": 1e3 * sum(u["server"] for u in used) / requests, "postgres_ms": 1e3 * sum(u["postgres"] for u in used) / requests,
            "steal": sum(u["steal"] for u in used) / len(used), "idle": sum(u["idle"] for u in used) / len(used)}


def section_member_endpoint(args, fund):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from loanfund import roles
    from repayments.models import Loan

    if not shutil.which("wrk"):
        record("5", "member endpoint", "not measured: wrk is not installed (apt-get install wrk)")
        return
    if not shutil.which("gunicorn", path=str(Path(sys.executable).parent)):
        record("5", "member endpoint", "not measured: gunicorn is not installed")
        return
    loan = Loan.objects.filter(fund=fund, status="in_arrears", restructure_count=0).select_related("member").order_by("id").first() \
        or Loan.objects.filter(fund=fund).select_related("member").order_by("id").first()
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=f"{fund.code}-member")
    user.set_password("bench-member-pw")
    user.save()
    user.groups.add(Group.objects.get_or_create(name=roles.MEMBER)[0])
    member = loan.member
    if member.user_id != user.pk:
        type(member).objects.filter(user=user).update(user=None)
        type(member).objects.filter(pk=member.pk).update(user=user)
    port = free_port()
    # PGAPPNAME (libpq) names the server's connections, so that their backends' CPU can be read.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DB_CONN_MAX_AGE": "600", "PGAPPNAME": SERVER_APPLICATION_NAME}
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--access-logfile", "/dev/null", "--error-logfile", "-", "--log-level", "warning"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        import urllib.request

        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except Exception:
                time.sleep(0.2)
        request = urllib.request.Request(f"{base}/api/v1/auth/token/", data=json.dumps({"username": user.username, "password": "bench-member-pw"}).encode(),
                                         headers={"Content-Type": "application/json"})
        token = json.loads(urllib.request.urlopen(request, timeout=10).read())["access"]
        endpoint = f"{base}/api/v1/me/loans/{loan.pk}/"
        check = urllib.request.Request(endpoint, headers={"Authorization": f"Bearer {token}"})
        try:
            urllib.request.urlopen(check, timeout=10).read()
        except Exception as exc:
            record("5", "member endpoint", f"not measured: GET /api/v1/me/loans/{{id}}/ answered {exc}")
            return
        wrk_slice(endpoint, token, 3)  # warm-up: both workers, connections, caches
        gauge_before = cpu_gauge()
        measured = interleaved({"ping": f"{base}/bench/ping/", "balance": endpoint}, token, args.seconds, args.slices, server_group=server.pid,
                               backends=server_backends())
        ping, balance = measured["ping"], measured["balance"]
        gauge_after = cpu_gauge()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    ratio = balance["rps"] / ping["rps"]
    record("5", f"GET /me/loans/{{id}}/ requests/s (32 connections, gunicorn -w 2, {balance['requests']} requests in {balance['seconds']:.0f} s, "
                f"{args.slices} runs taken in turn with the trivial endpoint's)", f"{balance['rps']:,.0f}")
    record("5", "  p50 latency (ms)", f"{balance['p50']:.1f}")
    record("5", "  p99 latency (ms)", f"{balance['p99']:.1f}", "≤ 50", balance["p99"] <= 50)
    record("5", "trivial authenticated DRF endpoint requests/s (same server, same run)", f"{ping['rps']:,.0f} (p50 {ping['p50']:.1f} ms, "
           f"p99 {ping['p99']:.1f} ms)")
    record("5", "throughput ratio balance / trivial", f"{ratio:.2f}", "≥ 0.50", ratio >= 0.5)
    record("5", "requests/s of each run, balance; trivial", " / ".join(f"{r:,.0f}" for r in balance["per_slice"]) + "; "
           + " / ".join(f"{r:,.0f}" for r in ping["per_slice"]))
    record("5", "CPU gauge before / after the load (s of a fixed Python loop; lower is faster)", f"{gauge_before:.2f} / {gauge_after:.2f}")
    if balance["cpu"] and ping["cpu"]:
        b, t = balance["cpu"], ping["cpu"]
        record("5", "CPU per request (ms), gunicorn + PostgreSQL: balance; trivial", f"{b['server_ms']:.2f} + {b['postgres_ms']:.2f}; "
                    f"{t['server_ms']:.2f} + {t['postgres_ms']:.2f}")
        record("5", "host during the load, balance; trivial runs: steal (CPU time the hypervisor gave to other machines); idle",
               f"{100 * b['steal']:.0f} %; {100 * t['steal']:.0f} %; idle {100 * b['idle']:.0f} %; {100 * t['idle']:.0f} %")
    if balance["errors"] or ping["errors"]:
        record("5", "non-2xx responses (balance / trivial)", f"{balance['errors']} / {ping['errors']}", "0", False)


# ------------------------------------------------------------------------------------------------
# 6. Queries per request
# ------------------------------------------------------------------------------------------------

STAFF_ENDPOINTS = ("/api/v1/loans/", "/api/v1/loans/{id}/", "/api/v1/loans/{id}/schedule/", "/api/v1/loans/{id}/transactions/",
                   "/api/v1/loans/{id}/payoff-quote/")
MEMBER_ENDPOINTS = ("/api/v1/me/", "/api/v1/me/loans/", "/api/v1/me/loans/{id}/", "/api/v1/me/loans/{id}/schedule/",
                    "/api/v1/me/loans/{id}/statement/")


def section_queries(args, fund):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken

    from loanfund import roles
    from repayments.models import Loan

    try:
        from repayments.services import repayment_post
    except ImportError:
        record("6", "queries per request", "not measured: repayments.services is not on this branch yet")
        return
    today = timezone.localdate()
    officer = fund_officer(fund)
    open_loans = Loan.objects.filter(fund=fund, status="active", repayments__isnull=True)
    small = open_loans.filter(installments_count=12).order_by("id").first()
    large = open_loans.filter(installments_count=156).order_by("id").first()
    if not small or not large:
        record("6", "queries per request", "not measured: no open loan with 12 / 156 installments and no repayment in this portfolio")
        return
    counts: dict[str, list[int]] = {}
    try:
        with transaction.atomic():
            User = get_user_model()
            members = {}
            for loan in (small, large):
                user = User.objects.create(username=f"bench-q-{loan.pk}-{time.time_ns()}")
                user.groups.add(Group.objects.get_or_create(name=roles.MEMBER)[0])
                type(loan.member).objects.filter(pk=loan.member_id).update(user=user)
                members[loan.pk] = user
            client = Client()

            def measure(loan, label):
                for who, paths in ((officer, STAFF_ENDPOINTS), (members[loan.pk], MEMBER_ENDPOINTS)):
                    token = str(RefreshToken.for_user(who).access_token)
                    for path in paths:
                        url = path.format(id=loan.pk) + (f"?as_of={today.isoformat()}" if "payoff" in path else "")
                        with CaptureQueriesContext(connection) as ctx:
                            response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
                        key = path
                        if response.status_code == 404 and "{id}" not in path:
                            key = f"{path} (404)"
                        counts.setdefault(key, []).append(len(ctx.captured_queries) if response.status_code < 400 else -response.status_code)

            measure(small, "12/0")
            measure(large, "156/0")
            for loan in (small, large):
                for k in range(50):
                    repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(10_000), paid_on=today, reference=f"BENCH-Q-{loan.pk}-{k}-{time.time_ns()}",
                                   channel="cash", posted_by=officer)
            measure(small, "12/50")
            measure(large, "156/50")
            raise Rollback
    except Rollback:
        pass
    for path, values in counts.items():
        if any(v < 0 for v in values):
            record("6", f"GET {path}: queries at 12/0, 156/0, 12/50, 156/50 installments/repayments", f"HTTP {-min(values)}")
            continue
        constant = len(set(values)) == 1
        record("6", f"GET {path}: queries at 12/0, 156/0, 12/50, 156/50 installments/repayments", " / ".join(map(str, values)), "constant",
               constant)


# ------------------------------------------------------------------------------------------------
# Helpers and main
# ------------------------------------------------------------------------------------------------


def fund_officer(fund):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=f"{fund.code}-officer").first()
    return user or get_user_model().objects.filter(staff_profile__fund=fund).order_by("id").first()


def portfolio_size(fund) -> int:
    from repayments.models import Loan

    return Loan.objects.filter(fund=fund).count()


def _timings_path(args) -> Path:
    return Path(args.timings)


def save_timing(args, key, value):
    path = _timings_path(args)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data))


def load_timing(args, key):
    path = _timings_path(args)
    return json.loads(path.read_text()).get(key) if path.exists() else None


def print_table(markdown: bool, title: str) -> None:
    if markdown:
        print(f"\n{title}\n\n| § | figure | value | bar | holds |\n| --- | --- | --- | --- | --- |")
        for f in FIGURES:
            holds = "" if f.holds is None else ("yes" if f.holds else "**no**")
            print(f"| {f.section} | {f.name} | {f.value} | {f.bar} | {holds} |")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("§", "figure", "value", "bar", "holds"):
        table.add_column(column)
    for f in FIGURES:
        table.add_row(f.section, f.name, f.value, f.bar, "" if f.holds is None else ("yes" if f.holds else "[red]no[/red]"))
    Console(width=200).print(table)


def main(argv=None) -> int:
    if argv is None and len(sys.argv) == 3 and sys.argv[1] == "--month-end-child":
        month_end_child(sys.argv[2])
        return 0
    parser = argparse.ArgumentParser(description="Benchmarks with their bars (issue 7).")
    parser.add_argument("--sections", default="1,2,3,4,5,6")
    parser.add_argument("--fund", default="bench")
    parser.add_argument("--generate", type=int, default=10_000, help="loans to generate when the fund does not exist (default 10,000)")
    parser.add_argument("--repayments", type=int, default=1000, help="repayments to post in section 2, one at a time and again on sheets")
    parser.add_argument("--sheet-lines", type=int, default=200, help="lines per collection sheet in section 2")
    parser.add_argument("--seed", type=int, default=None, help="section 2's draw of loans (default: a new draw each run)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load per endpoint in section 5")
    parser.add_argument("--slices", type=int, default=5, help="section 5 runs each endpoint's load in this many runs, the two in turn")
    parser.add_argument("--timings", default=str(Path(tempfile.gettempdir()) / "loanfund-bench-timings.json"),
                        help="where close-of-business times are kept to compare 100k with 1M")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}

    import django

    django.setup()
    from django.db import connection

    from loanfund.models import Fund

    fund = None
    if sections - {"1"}:
        if connection.vendor != "postgresql":
            raise SystemExit("The benchmarks run on PostgreSQL: set DATABASE_URL.")
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # a fresh database (make bench) or one a release behind
        fund = Fund.objects.filter(code=args.fund).first()
        if fund is None:
            print(f"Generating {args.generate:,} loans into fund {args.fund!r} ...", flush=True)
            subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), str(args.generate), "--fund", args.fund, "--quiet"], check=True,
                           cwd=ROOT)
            connection.close()
            fund = Fund.objects.get(code=args.fund)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version") if connection.vendor == "postgresql" else None
        version = cursor.fetchone()[0] if connection.vendor == "postgresql" else connection.vendor
    from django.utils import timezone

    load = os.getloadavg()[0]
    title = (f"loanfund benchmarks {timezone.localdate().isoformat()}, load average {load:.1f}, CPU gauge {cpu_gauge():.2f} s: "
             f"{os.cpu_count()} cores, PostgreSQL {version}") + (
        f", fund {fund.code} N = {portfolio_size(fund):,}" if fund else "")
    print(title, flush=True)
    runners = {"1": lambda: section_schedule(args), "2": lambda: section_repayments(args, fund), "3": lambda: section_close_of_business(args, fund),
               "4": lambda: section_month_end(args, fund), "5": lambda: section_member_endpoint(args, fund), "6": lambda: section_queries(args, fund)}
    # Close of business and the month-end before the posting benchmark: a repayment catches its loan's
    # penalty up to the day, so posting first would leave close of business less of the day's work.
    for key in ("1", "6", "3", "4", "2", "5"):
        if key in sections:
            runners[key]()
    print_table(args.markdown, title)
    return 0 if all(f.holds is not False for f in FIGURES) else 1


if __name__ == "__main__":
    sys.exit(main())
