"""Origination: loan products (versioned), applications, their appraisal and approval.

Kept apart from the fund core (fund.py, ledger.py) so that `borrowers` depends on the core only.
Business flow lives in loanfund/origination/services.py; here only state and invariants.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models

from loanfund.fields import money_field
from loanfund.history import HistoricalRecords


def _default_allocation_order():
    return ["penalty", "interest", "principal"]


def _all_household_statuses():
    return ["poor", "near_poor", "newly_escaped_poverty", "low_income", "other"]


class LoanProduct(models.Model):
    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="products")
    code = models.SlugField(max_length=32)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fund", "code"], name="product_code_unique_per_fund")]
        ordering = ["fund", "code"]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def current_version(self) -> "LoanProductVersion | None":
        """The newest version: the terms new applications are priced on."""
        cached = getattr(self, "_prefetched_objects_cache", {}).get("versions")
        if cached is not None:
            return max(cached, key=lambda v: v.version, default=None)
        return self.versions.order_by("-version").first()


class ImmutableVersionError(Exception):
    pass


class LoanProductVersion(models.Model):
    """The priced terms of a product. Immutable: editing a product creates a new version, so an
    application or loan priced on one version never changes."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        BIWEEKLY = "biweekly", "Every 2 weeks"
        FOURWEEKLY = "fourweekly", "Every 4 weeks"
        MONTHLY = "monthly", "Monthly"

    class InterestMethod(models.TextChoices):
        FLAT = "flat", "Flat on original principal"
        ANNUITY = "annuity", "Declining balance, equal installments"
        EQUAL_PRINCIPAL = "equal_principal", "Declining balance, equal principal"

    class PrepaymentPolicy(models.TextChoices):
        REDUCE_TERM = "reduce_term", "Reduce the number of installments"
        REDUCE_INSTALLMENT = "reduce_installment", "Reduce the installment"

    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    min_amount = money_field()
    max_amount = money_field()
    min_installments = models.PositiveIntegerField()
    max_installments = models.PositiveIntegerField()
    frequency = models.CharField(max_length=20, choices=Frequency.choices)
    interest_method = models.CharField(max_length=20, choices=InterestMethod.choices)
    annual_rate = models.DecimalField(max_digits=7, decimal_places=6, help_text="Fraction per year: 0.072 = 7.2 %/year.")
    penalty_rate = models.DecimalField(max_digits=7, decimal_places=6, default=Decimal(0),
                                       help_text="Fraction per year on overdue principal.")
    grace_installments = models.PositiveIntegerField(default=0)
    rounding_multiple = models.PositiveIntegerField(default=1, choices=[(1, "1"), (100, "100"), (1000, "1000")])
    upfront_fee_rate = models.DecimalField(max_digits=7, decimal_places=6, default=Decimal(0), help_text="Fraction of the principal.")
    savings_rate = models.DecimalField(max_digits=7, decimal_places=6, default=Decimal(0),
                                       help_text="Compulsory savings per installment, fraction of the principal.")
    allocation_order = models.JSONField(default=_default_allocation_order)
    prepayment_policy = models.CharField(max_length=20, choices=PrepaymentPolicy.choices, default=PrepaymentPolicy.REDUCE_TERM)
    eligible_household_statuses = models.JSONField(default=_all_household_statuses)
    min_membership_months = models.PositiveIntegerField(default=0)
    min_age = models.PositiveSmallIntegerField(default=18, help_text="Minimum age of the borrower on the application date.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="product_version_unique"),
            models.CheckConstraint(condition=models.Q(min_amount__gt=0) & models.Q(max_amount__gte=models.F("min_amount")),
                                   name="product_amount_range_valid"),
            models.CheckConstraint(condition=models.Q(min_installments__gte=1) & models.Q(max_installments__gte=models.F("min_installments")),
                                   name="product_installment_range_valid"),
            models.CheckConstraint(condition=models.Q(grace_installments__lt=models.F("min_installments")), name="product_grace_below_term"),
            models.CheckConstraint(condition=models.Q(rounding_multiple__in=[1, 100, 1000]), name="product_rounding_multiple_valid"),
            models.CheckConstraint(condition=models.Q(annual_rate__gte=0) & models.Q(penalty_rate__gte=0)
                                   & models.Q(upfront_fee_rate__gte=0) & models.Q(upfront_fee_rate__lt=1)
                                   & models.Q(savings_rate__gte=0), name="product_rates_valid"),
        ]
        ordering = ["product", "-version"]

    def __str__(self):
        return f"{self.product.code} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableVersionError("A product version never changes: edit the product to create a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableVersionError("A product version is never deleted.")


class ApproverLimit(models.Model):
    """The largest amount an approver may approve, dated (a new row takes effect on its date; the
    table is the history). With no row an approver has no personal limit (the fund's cap applies)."""

    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="approver_limits")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approver_limits")
    max_amount = money_field()
    effective_from = models.DateField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fund", "user", "effective_from"], name="approver_limit_one_per_day"),
            models.CheckConstraint(condition=models.Q(max_amount__gt=0), name="approver_limit_positive"),
        ]
        ordering = ["fund", "user", "-effective_from"]


class LoanApplication(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        APPRAISED = "appraised", "Appraised"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"
        DISBURSED = "disbursed", "Disbursed"

    OPEN_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.APPRAISED, Status.APPROVED)

    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="applications")
    member = models.ForeignKey("borrowers.Member", on_delete=models.PROTECT, related_name="applications")
    product_version = models.ForeignKey(LoanProductVersion, on_delete=models.PROTECT, related_name="applications")
    amount = money_field()
    installments = models.PositiveIntegerField()
    purpose = models.CharField(max_length=500, blank=True)
    first_due_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    approved_until = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="application_amount_positive"),
            models.CheckConstraint(condition=models.Q(installments__gte=1), name="application_installments_positive"),
            models.CheckConstraint(condition=~models.Q(status="approved") | models.Q(approved_until__isnull=False),
                                   name="application_approved_has_validity"),
        ]
        indexes = [
            models.Index(fields=["fund", "status"], name="application_fund_status_idx"),
            models.Index(fields=["member", "status"], name="application_member_status_idx"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Application {self.pk} ({self.status})"


class ApplicationEvent(models.Model):
    """One transition of an application: who moved it, when, from what to what, and why."""

    application = models.ForeignKey(LoanApplication, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["application", "at", "id"]


class Appraisal(models.Model):
    """The officer's appraisal: every check with its figures and pass/fail, the grassroots union's
    endorsement, and the officer's recommendation."""

    class Recommendation(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"

    application = models.OneToOneField(LoanApplication, on_delete=models.PROTECT, related_name="appraisal")
    appraised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    appraised_at = models.DateTimeField()
    as_of = models.DateField()
    checks = models.JSONField(help_text="[{name, passed, code, figures}] in the order they ran.")
    passed = models.BooleanField()
    largest_installment = money_field()
    exposure_after = money_field(help_text="Outstanding + approved-not-disbursed + this amount.")
    endorsed_by = models.CharField(max_length=200, help_text="Who at the grassroots union recommended the member.")
    endorsed_on = models.DateField()
    recommendation = models.CharField(max_length=10, choices=Recommendation.choices)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()
