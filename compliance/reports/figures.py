"""Every reported figure, as SQL aggregates: GROUP BYs over the month-end snapshot, the ledger and
servicing's dated rows. Never a Python loop over loans; Python only divides a handful of totals.

Definitions (DOMAIN.md, SEEP/MIX):
- gross loan portfolio: principal outstanding of open loans (written-off loans are outside it);
- PARn: principal outstanding of loans more than n days past due PLUS every restructured loan,
  ÷ gross portfolio (PAR1 / PAR30 / PAR90 use "more than 1 / 30 / 90 days");
- NPL ratio: principal in groups 3–5 ÷ gross portfolio;
- average gross portfolio: mean of the opening balance and each month-end balance in the period
  (GL loans receivable);
- write-off ratio: principal written off in the period ÷ average gross portfolio;
- portfolio yield: interest, penalty interest and fee income of the period ÷ average gross
  portfolio (not annualised; the annualised figure multiplies by 12 ÷ months);
- OSS: financial revenue (interest, penalty, fees) ÷ (financial expense + provision expense +
  operating expense), all from the ledger for the period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection

from compliance.models import ProvisionRun
from compliance.periods import Period
from loanfund import chart
from loanfund.models import Fund
from loanfund.money import percent, to_dong

ZERO = Decimal(0)


def pct(numerator, denominator) -> Decimal | None:
    """numerator ÷ denominator as a percentage, half-up to two decimals; None when undefined."""
    if not denominator:
        return None
    return percent(Decimal(numerator) / Decimal(denominator))


def dong(value) -> Decimal:
    return to_dong(value)


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _dicts(sql: str, params) -> list[dict]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def ledger_balances(*, fund: Fund, dates: list[date], start: date, end: date) -> tuple[list[dict[str, Decimal]], dict[str, Decimal]]:
    """Balances (in each account's normal direction) at each of `dates` (month-ends), and each
    account's movement over the whole months [start, end], from the monthly totals cache."""
    from compliance.services.ledger_months import balances_and_movement
    from loanfund.models import Account

    raw_balances, raw_movement = balances_and_movement(fund=fund, dates=dates, start=start, end=end)
    sides = dict(Account.objects.filter(fund=fund).values_list("code", "normal_side"))

    def normal(book: dict[str, Decimal]) -> dict[str, Decimal]:
        return {code: (value if sides.get(code) == "D" else -value) for code, value in book.items()}

    return [normal(b) for b in raw_balances], normal(raw_movement)


def _sum(book: dict[str, Decimal], *codes: str) -> Decimal:
    return sum((book.get(c, ZERO) for c in codes), ZERO)


@dataclass
class Figures:
    """Everything a report of one period may print, keyed by the names templates use."""

    values: dict[str, Decimal | int | str | None] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    def put(self, key: str, value, kind: str) -> None:
        self.values[key] = value
        self.kinds[key] = kind

    def __getitem__(self, key):
        return self.values[key]


def snapshot_totals(run: ProvisionRun) -> dict:
    [row] = _dicts("""
        SELECT COUNT(*) AS loans, COUNT(DISTINCT member_id) AS borrowers,
               COALESCE(SUM(principal_outstanding), 0) AS gross,
               COALESCE(SUM(principal_outstanding) FILTER (WHERE days_past_due > 1 OR restructure_count > 0), 0) AS par1,
               COALESCE(SUM(principal_outstanding) FILTER (WHERE days_past_due > 30 OR restructure_count > 0), 0) AS par30,
               COALESCE(SUM(principal_outstanding) FILTER (WHERE days_past_due > 90 OR restructure_count > 0), 0) AS par90,
               COALESCE(SUM(principal_outstanding) FILTER (WHERE days_past_due > 0), 0) AS overdue,
               COUNT(*) FILTER (WHERE days_past_due > 0) AS overdue_loans,
               COALESCE(SUM(principal_outstanding) FILTER (WHERE "group" >= 3), 0) AS npl,
               COUNT(*) FILTER (WHERE "group" >= 3) AS npl_loans,
               COUNT(*) FILTER (WHERE restructure_count > 0) AS restructured_loans,
               COALESCE(SUM(required_provision), 0) AS provision
          FROM compliance_classificationsnapshot WHERE run_id = %s""", [run.pk])
    return row


# A period's collections by component: an index-only scan of allocation_fund_date_cover_idx (a
# month is one slice of it; the heap rows of its allocations can be anywhere in the table).
COLLECTIONS_SQL = """
        SELECT component, COALESCE(SUM(amount), 0) FROM repayments_allocation
         WHERE fund_id = %(fund)s AND effective_on BETWEEN %(start)s AND %(end)s
           AND kind IN ('payment', 'reversal', 'recovery')
         GROUP BY component"""


def period_flows(*, fund: Fund, period: Period) -> dict:
    """Disbursements, collections and write-offs inside the period, from servicing's dated rows."""
    params = {"fund": fund.pk, "start": period.start, "end": period.end}
    [disbursed] = _dicts("""
        SELECT COUNT(*) AS n, COALESCE(SUM(principal_disbursed), 0) AS amount, COUNT(DISTINCT member_id) AS borrowers
          FROM repayments_loan WHERE fund_id = %(fund)s AND disbursed_on BETWEEN %(start)s AND %(end)s""", params)
    collected = dict(_rows(COLLECTIONS_SQL, params))
    [written] = _dicts("""
        SELECT COUNT(*) AS n, COALESCE(SUM(w.principal), 0) AS principal, COALESCE(SUM(w.from_provision), 0) AS from_provision
          FROM repayments_writeoff w JOIN repayments_loan l ON l.id = w.loan_id
         WHERE l.fund_id = %(fund)s AND w.written_off_on BETWEEN %(start)s AND %(end)s""", params)
    return {"disbursed": disbursed, "collected": {k: Decimal(v) for k, v in collected.items()}, "written_off": written}


def compute_figures(*, fund: Fund, period: Period, run: ProvisionRun, settings_row) -> Figures:
    f = Figures()
    snap = snapshot_totals(run)
    opening = period.start - timedelta(days=1)
    dates = [opening, *period.month_ends]
    balances, movement = ledger_balances(fund=fund, dates=dates, start=period.start, end=period.end)
    closing = balances[-1]
    portfolio_points = [_sum(b, chart.LOANS_CURRENT, chart.LOANS_OVERDUE) for b in balances]
    average_gross = dong(sum(portfolio_points, ZERO) / len(portfolio_points))
    flows = period_flows(fund=fund, period=period)
    gross = Decimal(snap["gross"])

    f.put("portfolio.gross", gross, "money")
    f.put("portfolio.gross_opening", portfolio_points[0], "money")
    f.put("portfolio.average_gross", average_gross, "money")
    f.put("portfolio.active_loans", snap["loans"], "count")
    f.put("portfolio.active_borrowers", snap["borrowers"], "count")
    f.put("portfolio.average_outstanding_per_borrower", dong(gross / snap["borrowers"]) if snap["borrowers"] else ZERO, "money")
    f.put("portfolio.overdue_principal", Decimal(snap["overdue"]), "money")
    f.put("portfolio.overdue_loans", snap["overdue_loans"], "count")
    f.put("portfolio.npl_principal", Decimal(snap["npl"]), "money")
    f.put("portfolio.npl_loans", snap["npl_loans"], "count")
    f.put("portfolio.restructured_loans", snap["restructured_loans"], "count")
    for n in (1, 30, 90):
        f.put(f"portfolio.par{n}_principal", Decimal(snap[f"par{n}"]), "money")
        f.put(f"portfolio.par{n}", pct(snap[f"par{n}"], gross), "percent")
    f.put("portfolio.npl_ratio", pct(snap["npl"], gross), "percent")
    f.put("provision.required", Decimal(snap["provision"]), "money")
    f.put("provision.held", closing.get(chart.LOAN_LOSS_PROVISION, ZERO), "money")

    f.put("disbursements.count", flows["disbursed"]["n"], "count")
    f.put("disbursements.amount", Decimal(flows["disbursed"]["amount"]), "money")
    collected = flows["collected"]
    for component in ("principal", "interest", "penalty", "fees", "savings", "recovery"):
        f.put(f"collections.{component}", collected.get(component, ZERO), "money")
    f.put("collections.total", sum(collected.values(), ZERO), "money")
    f.put("write_offs.count", flows["written_off"]["n"], "count")
    f.put("write_offs.principal", Decimal(flows["written_off"]["principal"]), "money")
    f.put("write_offs.ratio", pct(flows["written_off"]["principal"], average_gross), "percent")

    revenue = _sum(movement, chart.INTEREST_INCOME, chart.PENALTY_INCOME, chart.FEE_INCOME)
    expenses = _sum(movement, chart.FINANCIAL_EXPENSE, chart.PROVISION_EXPENSE, chart.OPERATING_EXPENSE)
    f.put("income.financial_revenue", revenue, "money")
    f.put("portfolio.yield", pct(revenue, average_gross), "percent")
    f.put("portfolio.yield_annualised", pct(revenue * 12 / period.months, average_gross), "percent")
    f.put("expense.total", expenses, "money")
    f.put("oss", pct(revenue, expenses), "percent")
    income_total = _sum(movement, *[c for c, kind, *_ in chart.ACCOUNTS if kind == chart.INCOME])
    expense_total = _sum(movement, *[c for c, kind, *_ in chart.ACCOUNTS if kind == chart.EXPENSE])
    f.put("income.total", income_total, "money")
    f.put("expense.all", expense_total, "money")
    f.put("surplus", income_total - expense_total, "money")

    capital = _sum(closing, chart.CAPITAL_UNION, chart.CAPITAL_DONOR, chart.CAPITAL_OTHER)
    f.put("capital.allocated", capital, "money")
    f.put("capital.total", capital + closing.get(chart.RETAINED_SURPLUS, ZERO), "money")
    f.put("savings.compulsory", closing.get(chart.COMPULSORY_SAVINGS, ZERO), "money")
    f.put("savings.voluntary", closing.get(chart.VOLUNTARY_SAVINGS, ZERO), "money")
    cap_ratio = Decimal(settings_row.voluntary_savings_cap_ratio)
    f.put("savings.voluntary_ratio", pct(closing.get(chart.VOLUNTARY_SAVINGS, ZERO), capital), "percent")
    f.put("savings.voluntary_cap", percent(cap_ratio), "percent")
    over = closing.get(chart.VOLUNTARY_SAVINGS, ZERO) > capital * cap_ratio
    f.put("savings.voluntary_flag", "VƯỢT / EXCEEDS" if over else "Đạt / Within", "text")

    for code, *_ in chart.ACCOUNTS:
        f.put(f"account.{code}", closing.get(code, ZERO), "money")
        f.put(f"movement.{code}", movement.get(code, ZERO), "money")
    return f


def exposure_breaches(*, run: ProvisionRun, cap: Decimal) -> list[dict]:
    """Every member whose outstanding principal at the period end is over the cap, named."""
    return _dicts("""
        SELECT m.national_id, m.full_name, b.code AS branch, s.outstanding, CAST(%(cap)s AS NUMERIC) AS cap,
               s.outstanding - CAST(%(cap)s AS NUMERIC) AS excess
          FROM (SELECT member_id, SUM(principal_outstanding) AS outstanding
                  FROM compliance_classificationsnapshot WHERE run_id = %(run)s
                 GROUP BY member_id HAVING SUM(principal_outstanding) > %(cap)s) s
          JOIN borrowers_member m ON m.id = s.member_id
          JOIN borrowers_unionbranch b ON b.id = m.branch_id
         ORDER BY s.outstanding DESC, m.national_id""", {"run": run.pk, "cap": cap})


_BREAKDOWN = """
    SELECT {key} AS key, COUNT(*) AS loans, COUNT(DISTINCT s.member_id) AS borrowers,
           SUM(s.principal_outstanding) AS principal,
           COALESCE(SUM(s.principal_outstanding) FILTER (WHERE s.days_past_due > 30 OR s.restructure_count > 0), 0) AS par30
      FROM compliance_classificationsnapshot s
     WHERE s.run_id = %(run)s
     GROUP BY {key}"""


def breakdown(*, run: ProvisionRun, by: str) -> list[dict]:
    """Portfolio by product, grassroots union or household status (GROUP BY over the snapshot)."""
    if by == "product":
        sql = f"""SELECT p.code, p.name, x.* FROM ({_BREAKDOWN.format(key='s.product_id')}) x
                  JOIN loanfund_loanproduct p ON p.id = x.key ORDER BY p.code"""
    elif by == "branch":
        sql = f"""SELECT b.code, b.name, x.* FROM ({_BREAKDOWN.format(key='s.branch_id')}) x
                  JOIN borrowers_unionbranch b ON b.id = x.key ORDER BY b.code"""
    elif by == "household_status":
        sql = f"SELECT x.key AS code, x.* FROM ({_BREAKDOWN.format(key='s.household_status')}) x ORDER BY x.key"
    else:  # pragma: no cover - programming error
        raise ValueError(by)
    return _dicts(sql, {"run": run.pk})


def aging(*, run: ProvisionRun, bounds: list[int]) -> list[dict]:
    """Loans and principal by days past due: 0, then [1, b1), [b1, b2), ... [bn, ∞)."""
    edges = [1, *bounds]
    cases = " ".join(f"WHEN days_past_due >= %(e{i})s THEN {i + 1}" for i in reversed(range(len(edges))))
    params = {f"e{i}": e for i, e in enumerate(edges)} | {"run": run.pk}
    found = {b: (n, Decimal(p)) for b, n, p in _rows(f"""
        SELECT CASE {cases} ELSE 0 END AS bucket, COUNT(*), COALESCE(SUM(principal_outstanding), 0)
          FROM compliance_classificationsnapshot WHERE run_id = %(run)s GROUP BY 1""", params)}
    rows = []
    for bucket in range(len(edges) + 1):
        if bucket == 0:
            label = ("Trong hạn (0 ngày)", "Current (0 days)")
        elif bucket == len(edges):
            label = (f"Từ {edges[-1]} ngày trở lên", f"{edges[-1]} days and more")
        else:
            label = (f"{edges[bucket - 1]}–{edges[bucket] - 1} ngày", f"{edges[bucket - 1]}–{edges[bucket] - 1} days")
        n, principal = found.get(bucket, (0, ZERO))
        rows.append({"bucket": bucket, "label_vi": label[0], "label_en": label[1], "loans": n, "principal": principal})
    return rows


def group_rows(run: ProvisionRun, previous: ProvisionRun | None) -> list[dict]:
    rows = []
    for g in ("1", "2", "3", "4", "5"):
        now = run.totals_by_group.get(g, {})
        before = previous.totals_by_group.get(g, {}) if previous else {}
        provision = Decimal(now.get("provision", 0))
        prev = Decimal(before.get("provision", 0))
        rows.append({"group": int(g), "loans": now.get("loans", 0), "principal": Decimal(now.get("principal", 0)),
                     "rate": percent(Decimal(now.get("rate", 0))), "provision": provision,
                     "previous_provision": prev, "change": provision - prev})
    return rows


def add_provision_movement(figures: Figures, *, fund: Fund, period: Period) -> None:
    """Opening provision held, what the provisioning runs charged and released, what write-offs
    used, from the ledger lines on the loan-loss provision account in the period."""
    balances, _ = ledger_balances(fund=fund, dates=[period.start - timedelta(days=1)], start=period.start, end=period.end)
    figures.put("provision.held_opening", balances[0].get(chart.LOAN_LOSS_PROVISION, ZERO), "money")
    found = {(is_run, side): Decimal(amount) for is_run, side, amount in _rows("""
        SELECT e.kind = 'provision', l.side, SUM(l.amount)
          FROM loanfund_journalline l
          JOIN loanfund_journalentry e ON e.id = l.entry_id
          JOIN loanfund_account a ON a.id = l.account_id
         WHERE e.fund_id = %(fund)s AND a.code = %(code)s AND e.entry_date BETWEEN %(start)s AND %(end)s
         GROUP BY 1, 2""", {"fund": fund.pk, "code": chart.LOAN_LOSS_PROVISION, "start": period.start, "end": period.end})}
    figures.put("provision.charged", found.get((True, "C"), ZERO), "money")
    figures.put("provision.released", found.get((True, "D"), ZERO), "money")
    figures.put("provision.used", found.get((False, "D"), ZERO) - found.get((False, "C"), ZERO), "money")
