"""Servicing records: the loan account, its schedule, its money movements and its subledger.

Every balance of a loan AS OF ANY DATE is a sum over dated, append-only rows (docs/servicing.md has
the SQL):

* `Installment` rows are the schedule (what falls due and when). A restructuring or a prepayment
  that re-amortises writes a new `schedule_version`; the replaced rows get `superseded_on` once
  (a forward-only status, never an amount edit).
* `Allocation` rows say what settled which component of which installment, dated `effective_on`.
  A reversal or a replay writes negative rows linked by `reverses`; nothing is updated or deleted.
* `LoanLedgerLine` is the per-loan subledger: one signed line (debit positive) per loan for every
  journal line on a loan control account (loans receivable, interest receivable, compulsory savings,
  the off-balance memo accounts). Per account, the sum over loans equals the general ledger.

`Loan.status` and `Loan.days_past_due` are a projection of those rows for today (refreshed by the
services and by close of business); reports as of a past date use the dated rows instead.
"""

from django.conf import settings
from django.db import models

from loanfund.fields import money_field
from loanfund.history import HistoricalRecords
from loanfund.models.ledger import ImmutableModel


class Loan(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        IN_ARREARS = "in_arrears"
        CLOSED = "closed"
        WRITTEN_OFF = "written_off"
        RESTRUCTURED = "restructured"

    OPEN_STATUSES = (Status.ACTIVE, Status.IN_ARREARS, Status.RESTRUCTURED)

    class Method(models.TextChoices):
        CASH = "cash"
        BANK = "bank"

    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="loans")
    member = models.ForeignKey("borrowers.Member", on_delete=models.PROTECT, related_name="loans")
    application = models.OneToOneField("loanfund.LoanApplication", on_delete=models.PROTECT, related_name="loan")
    product_version = models.ForeignKey("loanfund.LoanProductVersion", on_delete=models.PROTECT, related_name="loans")
    number = models.CharField(max_length=32)
    principal_disbursed = money_field()
    upfront_fee = money_field()
    disbursed_on = models.DateField()
    disbursement_method = models.CharField(max_length=10, choices=Method.choices)
    # The terms in force (a restructuring may change the rate and the term; the product stays).
    annual_rate = models.DecimalField(max_digits=7, decimal_places=6)
    penalty_rate = models.DecimalField(max_digits=7, decimal_places=6)
    installments_count = models.PositiveIntegerField()
    schedule_version = models.PositiveIntegerField(default=1)
    apr = models.DecimalField(max_digits=9, decimal_places=2)
    eir = models.DecimalField(max_digits=9, decimal_places=2)
    # Projection for today (see module docstring); dated truth lives in the rows below.
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    days_past_due = models.PositiveIntegerField(default=0)
    restructure_count = models.PositiveIntegerField(default=0)
    closed_on = models.DateField(null=True, blank=True)
    written_off_on = models.DateField(null=True, blank=True)
    disbursement_entry = models.OneToOneField("loanfund.JournalEntry", on_delete=models.PROTECT, related_name="+")
    disbursed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fund", "number"], name="loan_number_unique_per_fund"),
            models.CheckConstraint(condition=models.Q(principal_disbursed__gt=0), name="loan_principal_positive"),
        ]
        indexes = [models.Index(fields=["fund", "status"], name="loan_fund_status_idx"),
                   models.Index(fields=["member", "status"], name="loan_member_status_idx"),
                   # Close of business: the loans that can be in arrears (a few percent). On status, not on
                   # days_past_due: an index on that column would make each day's aging update of every
                   # loan in arrears a non-HOT update of all the loan's indexes.
                   models.Index(fields=["fund"], name="loan_overdue_status_idx",
                                condition=models.Q(status__in=["in_arrears", "restructured"]))]
        ordering = ["-disbursed_on", "-id"]

    def __str__(self):
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Installment(models.Model):
    """One due date of a schedule version. Amounts never change; `superseded_on` is set once;
    `settled_on` is the settlement projection kept by `repayments.settlement` (NULL: unpaid), and
    `first_paid_on` with it: the first day an allocation to it took effect (NULL: none has)."""

    # No single-column FK indexes where a composite index starts with the column (write cost).
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="schedule", db_index=False)
    schedule_version = models.PositiveIntegerField(default=1)
    number = models.PositiveIntegerField()
    due_on = models.DateField()
    principal = money_field()
    interest = money_field()
    savings = money_field()
    superseded_on = models.DateField(null=True, blank=True)
    settled_on = models.DateField(null=True, blank=True)
    # Exact for every installment not settled (those settled before migration 0011 may hold NULL):
    # reads skip the allocation probe of an unsettled installment nothing was ever allocated to.
    first_paid_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["loan", "schedule_version", "number"], name="installment_unique_number"),
            models.CheckConstraint(condition=models.Q(principal__gte=0, interest__gte=0, savings__gte=0), name="installment_amounts_non_negative"),
        ]
        indexes = [
            # A loan's installments are read through the unique constraint's index (loan first): a
            # second index by loan (loan, due_on) cost a posting one more random leaf read per
            # loan, since settling an installment is an update that adds an entry to every index.
            # Days past due, penalty and dues as of a date read only the installments unsettled that
            # day: those unsettled today (a small partial index: the arrears book and what falls due)
            # and those settled after that day (the range on settled_on).
            models.Index(fields=["due_on"], name="installment_unsettled_idx", condition=models.Q(settled_on__isnull=True)),
            models.Index(fields=["settled_on"], name="installment_settled_idx"),
        ]
        ordering = ["loan", "schedule_version", "number"]


class Repayment(models.Model):
    class Channel(models.TextChoices):
        CASH = "cash"
        BANK_TRANSFER = "bank_transfer"
        PAYROLL_DEDUCTION = "payroll_deduction"

    class Status(models.TextChoices):
        POSTED = "posted"
        REVERSED = "reversed"  # forward-only: a reversal is a set of new rows, the repayment stays

    # Both are led by a composite index below (reference per fund, repayments of a loan by date).
    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="repayments", db_index=False)
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayments", db_index=False)
    amount = money_field()
    paid_on = models.DateField()
    reference = models.CharField(max_length=100)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.POSTED)
    reversed_on = models.DateField(null=True, blank=True)
    reversal_reason = models.CharField(max_length=500, blank=True)
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fund", "reference"], name="repayment_reference_unique_per_fund"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="repayment_amount_positive"),
        ]
        indexes = [models.Index(fields=["loan", "paid_on"], name="repayment_loan_paid_idx"),
                   models.Index(fields=["fund", "paid_on"], name="repayment_fund_paid_idx")]
        ordering = ["loan", "paid_on", "id"]


class Allocation(ImmutableModel):
    """What settled which component of which installment, on which date (append-only).

    kind: payment (a repayment's allocation), reversal (negative mirror of an earlier row: a
    reversed or replayed repayment), rescheduled (unpaid principal moved to a new schedule
    version), written_off (what a write-off took off the installments), recovery (paid after a
    write-off: no installment). Collections in a period are kinds payment + reversal + recovery.
    """

    class Component(models.TextChoices):
        PENALTY = "penalty"
        INTEREST = "interest"
        PRINCIPAL = "principal"
        SAVINGS = "savings"
        FEES = "fees"
        RECOVERY = "recovery"

    class Kind(models.TextChoices):
        PAYMENT = "payment"
        REVERSAL = "reversal"
        RESCHEDULED = "rescheduled"
        WRITTEN_OFF = "written_off"
        RECOVERY = "recovery"

    # FK columns led by a composite index below carry no index of their own (write cost). The
    # references are checked once per INSERT statement, not per row (migration 0015).
    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="allocations", db_index=False, db_constraint=False)
    repayment = models.ForeignKey(Repayment, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations", db_constraint=False)
    installment = models.ForeignKey(Installment, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations", db_index=False,
                                    db_constraint=False)
    component = models.CharField(max_length=10, choices=Component.choices)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = money_field()  # signed: reversals are negative
    effective_on = models.DateField()
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by", db_constraint=False)
    journal_entry = models.ForeignKey("loanfund.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                      db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # An installment's allocations, and (index only) what settled it: close of business,
            # days past due and the balance reads sum principal and interest from this index alone.
            # One index by installment, not two: every allocation a posting writes adds an entry
            # to each, at a random leaf (migration 0014).
            models.Index(fields=["installment", "effective_on"], include=["fund", "component", "amount"],
                         condition=models.Q(installment__isnull=False), name="allocation_inst_cover_idx"),
            models.Index(fields=["loan", "effective_on"], name="allocation_loan_idx"),
            # The period reports sum a month's collections by component from this index alone: a
            # month is one contiguous slice of it, whatever the heap's order (portfolios migrated
            # from spreadsheets load years of history loan by loan, and back-dated repayments and
            # replays land far from their dates), where the heap rows would be read at random.
            models.Index(fields=["fund", "effective_on"], include=["kind", "component", "amount"], name="allocation_fund_date_cover_idx"),
        ]
        ordering = ["id"]


class LoanLedgerLine(ImmutableModel):
    """The per-loan subledger: one signed line (debit +, credit -) per loan and control account."""

    # FK columns led by a composite index below carry no index of their own (write cost).
    # No per-row foreign-key constraints: close of business writes ~400,000 lines a day at 1M loans,
    # and a row FK check per line and reference (each locking the loan, installment, entry) cost
    # 16 s at commit. One set-based check per INSERT statement (migrations 0009, 0010) proves the
    # same and more (the loan and the entry are the line's fund's); loans and installments are never
    # deleted (trigger), journal entries neither (loanfund 0002).
    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="ledger_lines", db_index=False, db_constraint=False)
    installment = models.ForeignKey(Installment, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_lines", db_index=False,
                                    db_constraint=False)
    account = models.CharField(max_length=20)  # loanfund.chart code
    kind = models.CharField(max_length=30)  # disbursement, repayment, interest_accrual, penalty_accrual, aging, ...
    entry_date = models.DateField()
    amount = money_field()
    journal_entry = models.ForeignKey("loanfund.JournalEntry", on_delete=models.PROTECT, related_name="+", db_constraint=False)

    class Meta:
        indexes = [
            # Covering: a loan's balances per account and installment (posting's state read, the
            # balance endpoint) come from the index alone, not one heap page per line.
            models.Index(fields=["loan", "account", "installment"], include=["amount", "kind", "entry_date"], name="loanledger_loan_balance_idx"),
            # Close of business sums each overdue installment's penalty accrued (and its last day)
            # from the covering index above too, by (loan, memo account, installment): no index of
            # its own on a table that grows by one line per overdue installment per day.
            models.Index(fields=["fund", "account", "entry_date"], name="loanledger_fund_account_idx"),
        ]
        ordering = ["id"]


class Restructure(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="restructures")
    restructured_on = models.DateField()
    reason = models.CharField(max_length=500)
    principal = money_field()
    installments = models.PositiveIntegerField()
    annual_rate = models.DecimalField(max_digits=7, decimal_places=6)
    schedule_version = models.PositiveIntegerField()
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["loan", "restructured_on"], name="restructure_loan_idx")]


class Prepayment(models.Model):
    """A repayment beyond what is due that re-amortised the schedule (prepayment_policy)."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="prepayments")
    repayment = models.ForeignKey(Repayment, on_delete=models.PROTECT, related_name="prepayments")
    policy = models.CharField(max_length=20)
    from_version = models.PositiveIntegerField()
    schedule_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)


class WriteOff(models.Model):
    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="write_off")
    written_off_on = models.DateField()
    reason = models.CharField(max_length=500)
    principal = money_field()
    interest = money_field()
    penalty = money_field()
    from_provision = money_field()
    to_expense = money_field()
    journal_entry = models.OneToOneField("loanfund.JournalEntry", on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()


class CloseOfBusinessRun(models.Model):
    """One row per fund and business date: the stage reached, so a crashed run resumes."""

    STAGES = ("started", "interest", "penalty", "aging", "done")

    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField()
    stage = models.CharField(max_length=20, default="started")
    result = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fund", "as_of"], name="cob_run_unique_per_day")]
        ordering = ["fund", "-as_of"]
