"""The fund core: the tenant, its staff, its dated settings, background jobs, idempotency."""

from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from loanfund.fields import money_field
from loanfund.history import HistoricalRecords


class Fund(models.Model):
    """A tenant: one union fund (a microfinance program, or a licensed MFI)."""

    class Kind(models.TextChoices):
        PROGRAM = "program", "Microfinance program (Decision 20/2017)"
        INSTITUTION = "institution", "Licensed microfinance institution"

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PROGRAM)
    province = models.CharField(max_length=100, blank=True)
    registration_number = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    def __str__(self):
        return self.name


class StaffProfile(models.Model):
    """Binds a staff user to exactly one fund. Roles are the user's groups."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff_profile")
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="staff")
    history = HistoricalRecords()

    def __str__(self):
        return f"{self.user} @ {self.fund.code}"


def _pct(value: str) -> Decimal:
    return Decimal(value)


class FundSettings(models.Model):
    """Regulatory and policy figures, dated: a new row takes effect on `effective_from`.

    Never a literal in code: regulations change (DOMAIN.md). Defaults are the figures in force
    when this was written (Decision 20/2017, Circular 14/2024, Decree 86/2024, Circular 37/2019).
    """

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="settings_history")
    effective_from = models.DateField()
    exposure_cap = money_field(default=Decimal(50_000_000))
    max_installment_to_income = models.DecimalField(max_digits=5, decimal_places=4, default=_pct("0.4000"))
    max_penalty_multiple = models.DecimalField(max_digits=5, decimal_places=4, default=_pct("1.5000"))
    max_interest_on_overdue_interest_rate = models.DecimalField(max_digits=6, decimal_places=4, default=_pct("0.1000"))
    interest_on_overdue_interest_enabled = models.BooleanField(default=False)
    arrears_tolerance_days = models.PositiveIntegerField(default=0, help_text="Max days past due on other loans for a new application.")
    application_validity_days = models.PositiveIntegerField(default=30)
    write_off_min_days_past_due = models.PositiveIntegerField(default=180)
    group2_from_days = models.PositiveIntegerField(default=10)
    group3_from_days = models.PositiveIntegerField(default=30)
    group4_from_days = models.PositiveIntegerField(default=90)
    group5_from_days = models.PositiveIntegerField(default=180)
    provision_rate_group1 = models.DecimalField(max_digits=5, decimal_places=4, default=_pct("0"))
    provision_rate_group2 = models.DecimalField(max_digits=5, decimal_places=4, default=_pct("0.02"))
    provision_rate_group3 = models.DecimalField(max_digits=5, decimal_places=4, default=_pct("0.25"))
    provision_rate_group4 = models.DecimalField(max_digits=5, decimal_places=4, default=_pct("0.50"))
    provision_rate_group5 = models.DecimalField(max_digits=5, decimal_places=4, default=_pct("1.00"))
    provision_deducts_savings = models.BooleanField(default=False)
    voluntary_savings_cap_ratio = models.DecimalField(max_digits=5, decimal_places=4, default=_pct("0.30"))
    return_savings_at_payoff = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fund", "effective_from"], name="fundsettings_one_per_day")]
        ordering = ["fund", "-effective_from"]
        verbose_name_plural = "fund settings"


class CapitalContribution(models.Model):
    """Capital received by the fund, by source (union allocation, donor, other)."""

    class Source(models.TextChoices):
        UNION_ALLOCATION = "union_allocation", "Union allocation"
        DONOR = "donor", "Donor"
        OTHER = "other", "Other"

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="capital_contributions")
    amount = money_field()
    source = models.CharField(max_length=30, choices=Source.choices)
    received_on = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    journal_entry = models.OneToOneField("loanfund.JournalEntry", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="capital_amount_positive")]


class Job(models.Model):
    """A background job (close of business, reports) with its status for `GET /jobs/{id}/`."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="jobs")
    kind = models.CharField(max_length=50)
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=100, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class IdempotencyRecord(models.Model):
    """The first response to a money-moving POST, replayed for the same Idempotency-Key."""

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fund", "key"], name="idempotency_key_unique_per_fund")]
