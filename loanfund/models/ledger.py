"""The double-entry ledger: the one door money moves through.

Entries and lines are immutable once written (guarded here and by PostgreSQL triggers); a
correction is a reversing entry linked to the original.
"""

from django.conf import settings
from django.db import models

from loanfund import chart
from loanfund.fields import money_field


class ImmutableError(Exception):
    pass


SIDE_CHOICES = [("D", "debit"), ("C", "credit")]


class Account(models.Model):
    KIND_CHOICES = [(k, k) for k in (chart.ASSET, chart.LIABILITY, chart.EQUITY, chart.INCOME, chart.EXPENSE, chart.MEMO)]

    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="accounts")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    name_vi = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    normal_side = models.CharField(max_length=1, choices=SIDE_CHOICES)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fund", "code"], name="account_code_unique_per_fund")]
        ordering = ["fund", "code"]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def off_balance(self) -> bool:
        return self.kind == chart.MEMO


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableError(f"{self.model.__name__} rows are immutable: post a reversal instead.")

    def delete(self):
        raise ImmutableError(f"{self.model.__name__} rows are immutable: post a reversal instead.")


class ImmutableModel(models.Model):
    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableError(f"{type(self).__name__} rows are immutable: post a reversal instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError(f"{type(self).__name__} rows are immutable: post a reversal instead.")


class JournalEntry(ImmutableModel):
    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="journal_entries")
    entry_date = models.DateField(db_index=True)
    kind = models.CharField(max_length=40, db_index=True)
    memo = models.CharField(max_length=500, blank=True)
    # What caused it ("repayment", 42): the business record written in the same transaction.
    source_type = models.CharField(max_length=50, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entry_date", "id"]
        indexes = [models.Index(fields=["fund", "source_type", "source_id"], name="journal_source_idx")]
        verbose_name_plural = "journal entries"

    def __str__(self):
        return f"JE{self.pk} {self.entry_date} {self.kind}"


class JournalLine(ImmutableModel):
    DEBIT, CREDIT = "D", "C"

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    side = models.CharField(max_length=1, choices=SIDE_CHOICES)
    amount = money_field()

    class Meta:
        ordering = ["entry_id", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="journal_line_amount_positive"),
            models.CheckConstraint(condition=models.Q(side__in=["D", "C"]), name="journal_line_side_valid"),
        ]

    def __str__(self):
        return f"{self.side} {self.account.code} {self.amount}"
