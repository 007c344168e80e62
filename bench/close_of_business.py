"""Close of business on a synthetic portfolio of N loans: seconds per stage, and the ratio to a
lower bound (one statement that only reads the same installment rows and aggregates the days past
due per loan).

    python -m tests.services -- python bench/close_of_business.py 100000

Uses the compliance bench's portfolio builder (clones of a serviced loan in SQL) until
bench/generate.py exists.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402


def main():
    from bench.compliance_month_end import AS_OF, build, scalar
    from repayments import cob

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    fund, _ = build(n)
    loans = scalar("SELECT COUNT(*) FROM repayments_loan")
    installments = scalar("SELECT COUNT(*) FROM repayments_installment")
    print(f"built N={n} in {time.perf_counter() - t0:.1f}s: {loans} loans, {installments} installments")
    day = AS_OF + timedelta(days=1)
    with connection.cursor() as cur:
        t = time.perf_counter()
        cur.execute("""SELECT COUNT(*) FROM (SELECT i.loan_id, MIN(i.due_on) FROM repayments_installment i
                       WHERE i.due_on <= %s GROUP BY i.loan_id) x""", [day])
        bound = time.perf_counter() - t
    print(f"lower bound (read installments, aggregate per loan): {bound:.2f}s")
    timings = {}
    last = [time.perf_counter()]

    def progress(stage, percent):
        now = time.perf_counter()
        timings[stage] = now - last[0]
        last[0] = now

    t = time.perf_counter()
    result = cob.close_of_business(fund=fund, as_of=day, progress=progress)
    total = time.perf_counter() - t
    for stage, seconds in timings.items():
        print(f"  {stage:<9} {seconds:7.2f}s  {result.get(stage)}")
    print(f"close of business N={n}: {total:.2f}s (bar: 300 s at 1,000,000), ratio to lower bound {total / bound:.1f} (bar: <= 10)")
    t = time.perf_counter()
    cob.close_of_business(fund=fund, as_of=day, rerun=True)
    print(f"re-run of the same day (posts nothing): {time.perf_counter() - t:.2f}s")
    timings.clear()
    last[0] = time.perf_counter()
    t = time.perf_counter()
    result = cob.close_of_business(fund=fund, as_of=day + timedelta(days=1), progress=progress)
    total = time.perf_counter() - t
    for stage, seconds in timings.items():
        print(f"  {stage:<9} {seconds:7.2f}s  {result.get(stage)}")
    print(f"next day (steady state) N={n}: {total:.2f}s, ratio to lower bound {total / bound:.1f}")


if __name__ == "__main__":
    main()
