from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from loanfund.models import Account, CapitalContribution, Fund, FundSettings, Job, JournalEntry, JournalLine, StaffProfile


class ReadOnlyAdminMixin:
    """Records that only services write (the books, loans, reports): the admin shows, never edits.
    Corrections are reversing entries or new versions posted by services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class FundScopedAdminMixin:
    """Staff see only their own fund's rows in the admin too."""

    fund_lookup = "fund"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        profile = getattr(request.user, "staff_profile", None)
        return qs.filter(**{self.fund_lookup: profile.fund}) if profile else qs.none()


@admin.register(Fund)
class FundAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "kind", "province"]


@admin.register(FundSettings)
class FundSettingsAdmin(FundScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["fund", "effective_from", "exposure_cap", "max_installment_to_income"]


@admin.register(StaffProfile)
class StaffProfileAdmin(FundScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["user", "fund"]


@admin.register(Account)
class AccountAdmin(FundScopedAdminMixin, ReadOnlyAdmin):
    list_display = ["fund", "code", "name", "kind", "normal_side"]
    list_filter = ["kind"]


class JournalLineInline(admin.TabularInline):
    model = JournalLine
    extra = 0
    can_delete = False
    readonly_fields = ["account", "side", "amount"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(FundScopedAdminMixin, ReadOnlyAdmin):
    list_display = ["id", "fund", "entry_date", "kind", "memo", "source_type", "source_id", "reverses"]
    list_filter = ["kind"]
    inlines = [JournalLineInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff


@admin.register(CapitalContribution)
class CapitalContributionAdmin(FundScopedAdminMixin, ReadOnlyAdmin):
    list_display = ["fund", "received_on", "source", "amount"]


@admin.register(Job)
class JobAdmin(FundScopedAdminMixin, ReadOnlyAdmin):
    list_display = ["id", "fund", "kind", "status", "progress", "created_at"]


# ---- origination ---------------------------------------------------------------------------
from loanfund.models import ApplicationEvent, Appraisal, ApproverLimit, LoanApplication, LoanProduct, LoanProductVersion  # noqa: E402


class LoanProductVersionInline(admin.TabularInline):
    """Versions are immutable: a new one is created by editing the product through the API."""

    model = LoanProductVersion
    extra = 0
    can_delete = False
    fields = ["version", "min_amount", "max_amount", "frequency", "interest_method", "annual_rate", "penalty_rate", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LoanProduct)
class LoanProductAdmin(FundScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["fund", "code", "name", "is_active"]
    list_filter = ["is_active"]
    inlines = [LoanProductVersionInline]


class ApplicationEventInline(admin.TabularInline):
    model = ApplicationEvent
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "at", "reason"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LoanApplication)
class LoanApplicationAdmin(FundScopedAdminMixin, SimpleHistoryAdmin):
    """Read-only: transitions go through the services (four eyes, checks, events)."""

    list_display = ["id", "fund", "member", "product_version", "amount", "installments", "status", "approved_until"]
    list_filter = ["status"]
    search_fields = ["member__full_name", "member__national_id"]
    inlines = [ApplicationEventInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Appraisal)
class AppraisalAdmin(FundScopedAdminMixin, SimpleHistoryAdmin):
    fund_lookup = "application__fund"
    list_display = ["application", "appraised_by", "appraised_at", "passed", "recommendation"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApproverLimit)
class ApproverLimitAdmin(FundScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["fund", "user", "max_amount", "effective_from"]
