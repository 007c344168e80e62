from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from loanfund.models import Account, CapitalContribution, Fund, FundSettings, Job, JournalEntry, JournalLine, StaffProfile


class ReadOnlyAdmin(admin.ModelAdmin):
    """The books are never edited: corrections are reversing entries posted by services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
