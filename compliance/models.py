"""Compliance records: month-end classification snapshots, provisioning runs, reports and their files.

A finalised report never changes: the services refuse it (409 `report_finalised`), the admin is
read-only, and on PostgreSQL triggers (migration 0002) refuse any UPDATE or DELETE of a finalised
report, of its files, of a frozen provisioning run and of that run's snapshot rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from loanfund.fields import money_field
from loanfund.history import HistoricalRecords


class ReportFinalisedError(Exception):
    """Raised by the model guards when code tries to change a finalised report or a frozen run."""


class ProvisionRun(models.Model):
    """Classification + provisioning of one fund as of one month-end.

    Re-running a period recomputes its snapshot in place and posts only the difference between the
    required provision and the loan-loss provision already on the books (so a second run of an
    unchanged period posts nothing). Once a finalised report uses the run it is `frozen`: a later
    correction is a new run `version` that records what it `supersedes`.
    """

    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="provision_runs")
    period_end = models.DateField()
    version = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by")
    # {"1": {"loans": 3, "principal": "30000000", "rate": "0", "provision": "0"}, ...}: strings, never floats
    totals_by_group = models.JSONField(default=dict)
    loans = models.PositiveIntegerField(default=0)
    total_principal = money_field(default=0)
    total_required = money_field(default=0)
    previous_required = money_field(default=0, help_text="Required provision of the previous month-end's run.")
    balance_before = money_field(default=0, help_text="Loan-loss provision on the books at the period end before this run posted.")
    change = models.DecimalField(max_digits=18, decimal_places=0, default=0,
                                 help_text="Posted change: positive Dr provision expense / Cr loan-loss provision, negative the reverse.")
    journal_entry = models.OneToOneField("loanfund.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    frozen = models.BooleanField(default=False)
    # High-water marks at classification: a later journal entry or restructuring dated on or before
    # the period end, or a settings change, makes the run stale; otherwise a re-run reuses it.
    ledger_high_water = models.BigIntegerField(default=0)
    restructure_high_water = models.BigIntegerField(default=0)
    settings_high_water = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    classified_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fund", "period_end", "version"], name="provisionrun_version_unique")]
        ordering = ["fund", "-period_end", "-version"]

    def __str__(self):
        return f"{self.fund.code} {self.period_end} v{self.version}"

    def save(self, *args, **kwargs):
        if self.pk and ProvisionRun.objects.filter(pk=self.pk, frozen=True).exists():
            raise ReportFinalisedError(f"Provisioning run {self.pk} is frozen by a finalised report.")
        super().save(*args, **kwargs)


class ClassificationSnapshot(models.Model):
    """One loan's classification at a month-end, written set-based by one INSERT … SELECT.

    Carries the loan's product, grassroots union and household status as they were, so the month's
    breakdowns are GROUP BYs over this table. `loan_id` is a plain column, not a foreign key: a
    snapshot is a historical copy. No per-row history (millions of rows); the run has one.
    """

    run = models.ForeignKey(ProvisionRun, on_delete=models.PROTECT, related_name="snapshots")
    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="+")
    period_end = models.DateField()
    loan_id = models.BigIntegerField()
    member_id = models.BigIntegerField()
    branch_id = models.BigIntegerField()
    product_id = models.BigIntegerField()
    household_status = models.CharField(max_length=30)
    group = models.PositiveSmallIntegerField()
    days_past_due = models.PositiveIntegerField()
    restructure_count = models.PositiveIntegerField()
    principal_outstanding = money_field()
    savings_deducted = money_field(default=0)
    provision_rate = models.DecimalField(max_digits=5, decimal_places=4)
    required_provision = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "loan_id"], name="snapshot_one_per_loan_per_run"),
            models.CheckConstraint(condition=models.Q(group__gte=1, group__lte=5), name="snapshot_group_1_to_5"),
        ]
        indexes = [models.Index(fields=["fund", "period_end"], name="snapshot_fund_period_idx")]


class LedgerMonth(models.Model):
    """Debits and credits of one account in one calendar month (a cache of the journal lines).

    Balances at a month-end and movements over a period become sums over a few hundred rows instead
    of a scan of every journal line since inception. `compliance.services.ledger_months.refresh`
    keeps it current: months touched by journal entries written since the last refresh (found by a
    primary-key range) are recomputed; months after the cached range are added.
    """

    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="first day of the month")
    account_code = models.CharField(max_length=20)
    debit = money_field(default=0)
    credit = money_field(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fund", "month", "account_code", "debit_currency"], name="ledgermonth_unique")]
        indexes = [models.Index(fields=["fund", "month"], name="ledgermonth_fund_month_idx")]


class LedgerMonthState(models.Model):
    fund = models.OneToOneField("loanfund.Fund", on_delete=models.PROTECT, related_name="+")
    through = models.DateField(null=True, blank=True, help_text="first day of the last cached month")
    high_water = models.BigIntegerField(default=0, help_text="journal entries with a higher id were not seen yet")
    refreshed_at = models.DateTimeField(auto_now=True)


class ComplianceReport(models.Model):
    class Kind(models.TextChoices):
        MONTHLY_PORTFOLIO = "monthly_portfolio", "Monthly portfolio report"
        CLASSIFICATION_PROVISIONING = "classification_provisioning", "Classification and provisioning"
        SBV_OPERATIONS = "sbv_operations", "Operations report to the State Bank (quarterly / annual)"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        READY = "ready"
        FAILED = "failed"
        FINALISED = "finalised"

    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="compliance_reports")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    period = models.CharField(max_length=10, help_text='"2025-03", "2025-Q1" or "2025"')
    period_start = models.DateField()
    period_end = models.DateField()
    version = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by")
    supersede_reason = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=100, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    # Bumped each time the report is (re)queued; a redelivered task for an older generation is a no-op.
    generation = models.PositiveIntegerField(default=1)
    error = models.TextField(blank=True)
    provision_run = models.ForeignKey(ProvisionRun, null=True, blank=True, on_delete=models.PROTECT, related_name="reports")
    snapshot_date = models.DateField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    generated_at = models.DateTimeField(null=True, blank=True)
    finalised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    finalised_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fund", "kind", "period", "version"], name="report_version_unique")]
        ordering = ["fund", "-period_end", "kind", "-version"]

    def __str__(self):
        return f"{self.fund.code} {self.kind} {self.period} v{self.version}"

    @property
    def is_finalised(self) -> bool:
        return self.status == self.Status.FINALISED

    def save(self, *args, **kwargs):
        # Guard, not flow: the stored row decides (a stale in-memory copy cannot overwrite it).
        if self.pk and ComplianceReport.objects.filter(pk=self.pk, status=self.Status.FINALISED).exists():
            raise ReportFinalisedError(f"Report {self.pk} is finalised and never changes.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if ComplianceReport.objects.filter(pk=self.pk, status=self.Status.FINALISED).exists():
            raise ReportFinalisedError(f"Report {self.pk} is finalised and never changes.")
        return super().delete(*args, **kwargs)


# For the OpenAPI enum names (SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
REPORT_KINDS = ComplianceReport.Kind.choices
REPORT_STATUSES = ComplianceReport.Status.choices


def report_file_path(instance: ReportFile, filename: str) -> str:
    r = instance.report
    return f"reports/{r.fund.code}/{r.kind}/{r.period}/v{r.version}/{filename}"


class ReportFile(models.Model):
    class Format(models.TextChoices):
        XLSX = "xlsx"
        CSV = "csv"
        PDF = "pdf"

    report = models.ForeignKey(ComplianceReport, on_delete=models.PROTECT, related_name="files")
    format = models.CharField(max_length=4, choices=Format.choices)
    file = models.FileField(upload_to=report_file_path, max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["report", "format"], name="report_file_one_per_format")]
        ordering = ["report", "format"]

    def __str__(self):
        return f"{self.report} {self.format}"

    def save(self, *args, **kwargs):
        if ComplianceReport.objects.filter(pk=self.report_id, status=ComplianceReport.Status.FINALISED).exists():
            raise ReportFinalisedError(f"Report {self.report_id} is finalised: its files never change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if ComplianceReport.objects.filter(pk=self.report_id, status=ComplianceReport.Status.FINALISED).exists():
            raise ReportFinalisedError(f"Report {self.report_id} is finalised: its files never change.")
        return super().delete(*args, **kwargs)
