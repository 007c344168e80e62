"""Month-end classification and provisioning: one INSERT … SELECT and one ledger entry per period.

`period_classify` writes the snapshot of every open loan as of the period end (group by the fund's
dated thresholds, provision at the fund's dated rates, rounded half-up to the đồng per loan), then
posts the difference between the required provision and the loan-loss provision already on the
books at that date: Dr provision expense / Cr loan-loss provision when it grows, the reverse when it
shrinks. Running it twice for a period posts once (the second run finds nothing to post).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from compliance.classification import Thresholds, group_sql, sql_params
from compliance.models import ClassificationSnapshot, ProvisionRun
from compliance.periods import previous_month_end
from compliance.portfolio_sql import portfolio_as_of
from loanfund import chart
from loanfund.models import Fund
from loanfund.selectors.fund import fund_settings_as_of
from loanfund.selectors.ledger import account_balance
from loanfund.services.ledger import credit, debit, journal_entry_post

_SNAPSHOT_INSERT = """
INSERT INTO compliance_classificationsnapshot
    (run_id, fund_id, period_end, loan_id, member_id, branch_id, product_id, household_status, "group",
     days_past_due, restructure_count, principal_outstanding, principal_outstanding_currency,
     savings_deducted, savings_deducted_currency, provision_rate, required_provision, required_provision_currency)
SELECT %(run)s, %(fund)s, %(as_of)s, c.loan_id, c.member_id, c.branch_id, c.product_id, c.household_status, c.grp,
       c.days_past_due, c.restructure_count, c.principal_outstanding, 'VND',
       c.deducted, 'VND', c.rate, ROUND((c.principal_outstanding - c.deducted) * c.rate, 0), 'VND'
  FROM (
    SELECT g.*,
           CASE WHEN %(deduct)s THEN {least}(g.savings_held, g.principal_outstanding) ELSE 0 END AS deducted,
           CAST(CASE g.grp WHEN 1 THEN %(r1)s WHEN 2 THEN %(r2)s WHEN 3 THEN %(r3)s WHEN 4 THEN %(r4)s ELSE %(r5)s END AS NUMERIC) AS rate
      FROM (SELECT p.*, {group} AS grp FROM ({portfolio}) p) g
  ) c
"""


def _snapshot_sql(vendor: str) -> str:
    return _SNAPSHOT_INSERT.format(group=group_sql("p.days_past_due", "p.restructure_count", vendor), portfolio=portfolio_as_of(vendor),
                                   least="LEAST" if vendor == "postgresql" else "MIN")


def _totals(run: ProvisionRun, rates: dict[int, Decimal]) -> dict:
    with connection.cursor() as cur:
        cur.execute(
            'SELECT "group", COUNT(*), COALESCE(SUM(principal_outstanding), 0), COALESCE(SUM(required_provision), 0) '
            'FROM compliance_classificationsnapshot WHERE run_id = %s GROUP BY "group"', [run.pk])
        found = {g: (n, Decimal(p), Decimal(v)) for g, n, p, v in cur.fetchall()}
    return {
        str(g): {"loans": found.get(g, (0, 0, 0))[0], "principal": str(found.get(g, (0, Decimal(0), 0))[1]),
                 "rate": str(rates[g]), "provision": str(found.get(g, (0, 0, Decimal(0)))[2])}
        for g in (1, 2, 3, 4, 5)
    }


def provision_rates(settings_row) -> dict[int, Decimal]:
    return {g: Decimal(getattr(settings_row, f"provision_rate_group{g}")) for g in (1, 2, 3, 4, 5)}


def latest_run(*, fund: Fund, period_end: date) -> ProvisionRun | None:
    return ProvisionRun.objects.filter(fund=fund, period_end=period_end).order_by("-version").first()


def _high_water(fund: Fund) -> tuple[int, int, int]:
    from django.db.models import Max

    from loanfund.models import FundSettings, JournalEntry
    from repayments.models import Restructure

    return (JournalEntry.objects.filter(fund=fund).aggregate(m=Max("id"))["m"] or 0,
            Restructure.objects.filter(loan__fund=fund).aggregate(m=Max("id"))["m"] or 0,
            FundSettings.objects.filter(fund=fund).aggregate(m=Max("id"))["m"] or 0)


def run_is_fresh(run: ProvisionRun) -> bool:
    """Nothing that changes the period's classification was written since the run: no journal entry
    dated on or before the period end (every money movement is one), no restructuring, no settings
    change. Primary-key range checks: cheap however large the portfolio."""
    from loanfund.models import FundSettings, JournalEntry
    from repayments.models import Restructure

    return not (
        JournalEntry.objects.filter(fund_id=run.fund_id, id__gt=run.ledger_high_water, entry_date__lte=run.period_end).exists()
        or Restructure.objects.filter(loan__fund_id=run.fund_id, id__gt=run.restructure_high_water,
                                      restructured_on__lte=run.period_end).exists()
        or FundSettings.objects.filter(fund_id=run.fund_id, id__gt=run.settings_high_water).exists()
    )


@transaction.atomic
def period_classify(*, fund: Fund, period_end: date, classified_by=None, reclassify_frozen: bool = False,
                    refresh: bool = False) -> ProvisionRun:
    """Classify and provision `fund` as of `period_end`; returns the run (new, refreshed or reused).

    A run with nothing new since it was made is reused (unless `refresh`), so the report of a period
    that the 1st-of-month job already classified does not classify it again. A frozen run (a
    finalised report used it) is returned as is, unless `reclassify_frozen` asks for a corrected
    version, which supersedes it.
    """
    Fund.objects.select_for_update().get(pk=fund.pk)  # one classification of a fund at a time
    run = latest_run(fund=fund, period_end=period_end)
    if run is not None and not run.frozen and not refresh and run.classified_at and run_is_fresh(run):
        return run
    if run is not None and run.frozen:
        if not reclassify_frozen:
            return run
        run = ProvisionRun.objects.create(fund=fund, period_end=period_end, version=run.version + 1, supersedes=run,
                                          created_by=classified_by)
    elif run is None:
        run = ProvisionRun.objects.create(fund=fund, period_end=period_end, created_by=classified_by)
    else:
        ClassificationSnapshot.objects.filter(run=run).delete()

    settings_row = fund_settings_as_of(fund=fund, on=period_end)
    rates = provision_rates(settings_row)
    params = {
        "run": run.pk, "fund": fund.pk, "as_of": period_end, "deduct": bool(settings_row.provision_deducts_savings),
        **sql_params(Thresholds.of(settings_row)), **{f"r{g}": rate for g, rate in rates.items()},
    }
    with connection.cursor() as cur:
        # The planner's estimates over these aggregates are large enough to trigger JIT compilation,
        # which costs seconds and saves nothing here.
        if connection.vendor == "postgresql":
            from repayments.cob import tune_session_for_batch

            tune_session_for_batch()
        cur.execute(_snapshot_sql(connection.vendor), params)

    totals = _totals(run, rates)
    total_required = sum((Decimal(t["provision"]) for t in totals.values()), Decimal(0))
    previous = latest_run(fund=fund, period_end=previous_month_end(period_end))
    held = provision_held(fund=fund, as_of=period_end)
    change = total_required - held
    entry = None
    if change:
        lines = ([debit(chart.PROVISION_EXPENSE, change), credit(chart.LOAN_LOSS_PROVISION, change)] if change > 0
                 else [debit(chart.LOAN_LOSS_PROVISION, -change), credit(chart.PROVISION_EXPENSE, -change)])
        entry = journal_entry_post(
            fund=fund, entry_date=period_end, kind="provision", lines=lines, source_type="provision_run", source_id=run.pk,
            memo=f"Loan-loss provision as of {period_end.isoformat()}: required {total_required}, held {held}",
            created_by=classified_by,
        )
    run.totals_by_group = totals
    run.loans = sum(t["loans"] for t in totals.values())
    run.total_principal = sum((Decimal(t["principal"]) for t in totals.values()), Decimal(0))
    run.total_required = total_required
    run.previous_required = previous.total_required.amount if previous else Decimal(0)
    run.balance_before = held
    run.change = Decimal(run.change) + change  # everything this run has posted (a refresh adds its difference)
    if entry is not None and run.journal_entry_id is None:
        run.journal_entry = entry
    run.classified_at = timezone.now()
    run.ledger_high_water, run.restructure_high_water, run.settings_high_water = _high_water(fund)
    run.save()
    return run


def provision_held(*, fund: Fund, as_of: date) -> Decimal:
    """The loan-loss provision on the books (a credit-normal contra-asset) at the end of `as_of`."""
    return account_balance(fund=fund, code=chart.LOAN_LOSS_PROVISION, as_of=as_of)

