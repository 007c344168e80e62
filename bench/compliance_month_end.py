"""Month-end classification + provisioning + the monthly_portfolio report (XLSX, CSV, PDF) on a
synthetic portfolio of N loans: seconds per stage and the process's peak RSS.

    python -m tests.services -- python bench/compliance_month_end.py 100000

A quick, self-contained stand-in until bench/generate.py exists: it builds the twelve-loan
Must-show portfolio through the real services, then clones loan L1 (12 monthly installments,
flat 12 %) N times in SQL — members spread over 300 grassroots unions, disbursement dates spread
over a year, each clone having paid 0..6 installments (so days past due have a long tail) — with
installments, allocations and the per-loan subledger lines a classification reads.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from datetime import date

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

AS_OF = date(2025, 6, 30)


def sql(statement: str, params=None) -> None:
    with connection.cursor() as cur:
        cur.execute(statement, params)


def scalar(statement: str, params=None):
    with connection.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchone()[0]


def columns(table: str) -> list[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id' "
                    "ORDER BY ordinal_position", [table])
        return [r[0] for r in cur.fetchall()]


def clone(table: str, where: str, n: int, overrides: dict[str, str], extra_from: str = "") -> int:
    """INSERT n copies of the row(s) matching `where`, with column expressions in `overrides` (g = 1..n).
    Returns the first new id (ids are contiguous: one statement, one sequence)."""
    cols = columns(table)
    select = ", ".join(overrides.get(c, f"t.{c}") for c in cols)
    first = scalar(f"SELECT last_value + 1 FROM {table}_id_seq")
    sql(f'INSERT INTO {table} ({", ".join(cols)}) SELECT {select} FROM {table} t, generate_series(1, {n}) g {extra_from} WHERE {where}')
    return first


def build(n: int):
    from loanfund import roles
    from loanfund.services.fund import capital_receive, fund_create, staff_user_create
    from tests.compliance.portfolio import build as build_portfolio

    fund = fund_create(code="bench", name="Quỹ bench")
    class Staff:  # noqa: E306
        pass
    staff = Staff()
    for role in roles.STAFF_ROLES:
        setattr(staff, role, staff_user_create(fund=fund, username=f"{role}-bench", password="x" * 12, role_names=[role]))
    capital_receive(fund=fund, amount=10**13, source="union_allocation", received_on=date(2024, 1, 1), received_by=staff.director)
    p = build_portfolio(fund, staff)
    t = p.loans["L1"]
    member, app, entry = t.member_id, t.application_id, t.disbursement_entry_id
    with transaction.atomic():
        # bulk copies of rows the services already validated: skip the per-row ledger triggers
        sql("SET LOCAL session_replication_role = replica")
        branch0 = clone("borrowers_unionbranch", f"t.id = {p.branches['CD-A'].pk}", 300, {"code": "'B' || g"})
        member0 = clone("borrowers_member", f"t.id = {member}", n,
                        {"national_id": "lpad((900000000000 + g)::text, 12, '0')", "branch_id": f"{branch0} + (g % 300)",
                         "user_id": "NULL"})
        entry0 = clone("loanfund_journalentry", f"t.id = {entry}", n, {"source_id": "'bench' || g"})
        sql(f"""INSERT INTO loanfund_journalline (entry_id, account_id, side, amount, amount_currency)
                SELECT {entry0} + g - 1, l.account_id, l.side, l.amount, l.amount_currency
                  FROM loanfund_journalline l, generate_series(1, {n}) g WHERE l.entry_id = {entry}""")
        app0 = clone("loanfund_loanapplication", f"t.id = {app}", n, {"member_id": f"{member0} + g - 1"})
        # disbursed 0..364 days before the template's date
        loan0 = clone("repayments_loan", f"t.id = {t.pk}", n, {
            "number": "'S' || g", "member_id": f"{member0} + g - 1", "application_id": f"{app0} + g - 1",
            "disbursement_entry_id": f"{entry0} + g - 1", "disbursed_on": "t.disbursed_on - (g % 365)"})
        sql(f"""INSERT INTO repayments_installment (loan_id, schedule_version, number, due_on, principal, principal_currency,
                                                    interest, interest_currency, savings, savings_currency, superseded_on)
                SELECT {loan0} + g - 1, i.schedule_version, i.number, i.due_on - (g % 365), i.principal, 'VND', i.interest, 'VND',
                       i.savings, 'VND', NULL
                  FROM repayments_installment i, generate_series(1, {n}) g WHERE i.loan_id = {t.pk}""")
        if os.environ.get("LONG_TERMS"):  # 24 installments a loan (the field's average term is longer than 12)
            sql(f"""INSERT INTO repayments_installment (loan_id, schedule_version, number, due_on, principal, principal_currency,
                                                        interest, interest_currency, savings, savings_currency, superseded_on)
                    SELECT loan_id, schedule_version, number + 12, due_on + 365, principal, 'VND', interest, 'VND', savings, 'VND', NULL
                      FROM repayments_installment WHERE loan_id >= {loan0}""")
        # clone k paid installments' principal and interest (k = g % 7), dated on their due dates
        sql(f"""INSERT INTO repayments_allocation (fund_id, loan_id, installment_id, component, kind, amount, amount_currency,
                                                   effective_on, created_at)
                SELECT {fund.pk}, i.loan_id, i.id, c.component, 'payment',
                       CASE c.component WHEN 'principal' THEN i.principal ELSE i.interest END, 'VND', i.due_on, now()
                  FROM repayments_installment i
                  JOIN (VALUES ('principal'), ('interest')) c(component) ON true
                 WHERE i.loan_id >= {loan0} AND i.number <= (i.loan_id - {loan0} + 1) % 7""")
        sql(f"""INSERT INTO repayments_loanledgerline (fund_id, loan_id, installment_id, account, kind, entry_date, amount,
                                                       amount_currency, journal_entry_id)
                SELECT {fund.pk}, l.id, NULL::bigint, '1311', 'disbursement', l.disbursed_on, l.principal_disbursed, 'VND', l.disbursement_entry_id
                  FROM repayments_loan l WHERE l.id >= {loan0}
                UNION ALL
                SELECT {fund.pk}, a.loan_id, NULL::bigint, '1311', 'repayment', a.effective_on, -a.amount, 'VND', {entry}
                  FROM repayments_allocation a WHERE a.loan_id >= {loan0} AND a.component = 'principal'""")
    from repayments.settlement import fund_installments_settle

    fund_installments_settle(fund.pk)  # the clones' settlement projection, from their allocations
    sql("ANALYZE")
    return fund, staff


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    fund, staff = build(n)
    counts = {t: scalar(f"SELECT COUNT(*) FROM {t}") for t in ("repayments_loan", "repayments_installment", "repayments_allocation",
                                                               "repayments_loanledgerline")}
    print(f"built N={n} in {time.perf_counter() - t0:.1f}s: {counts}")
    from compliance.services.provisioning import period_classify
    from compliance.services.reports import report_generate, report_request

    if os.environ.get("EXPLAIN"):
        from compliance.classification import Thresholds, group_sql, sql_params
        from compliance.portfolio_sql import portfolio_as_of
        from loanfund.selectors.fund import fund_settings_as_of

        params = {"fund": fund.pk, "as_of": AS_OF, **sql_params(Thresholds.of(fund_settings_as_of(fund=fund, on=AS_OF)))}
        with connection.cursor() as cur:
            cur.execute("SET jit = off")
            cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) SELECT p.*, {group_sql('p.days_past_due', 'p.restructure_count')} FROM ({portfolio_as_of()}) p",
                        params)
            print("\n".join(r[0] for r in cur.fetchall()))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t1 = time.perf_counter()
    run = period_classify(fund=fund, period_end=AS_OF)
    t2 = time.perf_counter()
    report = report_request(fund=fund, kind="monthly_portfolio", period="2025-06", requested_by=staff.accountant, enqueue=False)
    stages = {}
    last = [time.perf_counter()]

    def progress(stage, pct):
        now = time.perf_counter()
        stages[stage] = now - last[0]
        last[0] = now

    report = report_generate(report_id=report.pk, on_progress=progress)
    t3 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"classification + provisioning: {t2 - t1:.1f}s ({run.loans} loans classified, required {run.total_required.amount})")
    print(f"monthly_portfolio report ({report.status}): {t3 - t2:.1f}s; time before each stage mark: "
          + ", ".join(f"{k} {v:.1f}s" for k, v in stages.items()))
    print(f"total month-end: {t3 - t1:.1f}s; peak RSS {rss / 1024:.0f} MiB (before the month-end {rss0 / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
