"""Admin: read-only views of servicing records (money moves only through the services)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from loanfund.admin import FundScopedAdminMixin
from loanfund.admin import ReadOnlyAdminMixin as ReadOnly

from .models import CloseOfBusinessRun, Installment, Loan, Repayment, Restructure, WriteOff


class InstallmentInline(ReadOnly, admin.TabularInline):
    model = Installment
    fields = ["schedule_version", "number", "due_on", "principal", "interest", "savings", "superseded_on"]
    readonly_fields = fields
    extra = 0


@admin.register(Loan)
class LoanAdmin(ReadOnly, FundScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["number", "member", "status", "principal_disbursed", "disbursed_on", "days_past_due", "restructure_count"]
    list_filter = ["status"]
    search_fields = ["number", "member__national_id", "member__full_name"]
    list_select_related = ["member"]
    inlines = [InstallmentInline]


@admin.register(Repayment)
class RepaymentAdmin(ReadOnly, FundScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["reference", "loan", "amount", "paid_on", "channel", "status"]
    list_filter = ["status", "channel"]
    search_fields = ["reference", "loan__number"]
    list_select_related = ["loan"]


@admin.register(Restructure)
class RestructureAdmin(ReadOnly, FundScopedAdminMixin, SimpleHistoryAdmin):
    fund_lookup = "loan__fund"
    list_display = ["loan", "restructured_on", "principal", "installments", "annual_rate"]


@admin.register(WriteOff)
class WriteOffAdmin(ReadOnly, FundScopedAdminMixin, SimpleHistoryAdmin):
    fund_lookup = "loan__fund"
    list_display = ["loan", "written_off_on", "principal", "from_provision", "to_expense"]


@admin.register(CloseOfBusinessRun)
class CloseOfBusinessRunAdmin(ReadOnly, FundScopedAdminMixin, admin.ModelAdmin):
    list_display = ["fund", "as_of", "stage", "started_at", "finished_at"]
