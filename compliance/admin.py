"""Compliance records in the admin: read-only. Reports are requested and finalised through the
services (API, commands, beat); nothing here can change a report, a run or a snapshot."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from compliance.models import ClassificationSnapshot, ComplianceReport, ProvisionRun, ReportFile
from loanfund.admin import FundScopedAdminMixin, ReadOnlyAdminMixin


class ReadOnlyHistoryAdmin(ReadOnlyAdminMixin, FundScopedAdminMixin, SimpleHistoryAdmin):
    pass


class ReportFileInline(admin.TabularInline):
    model = ReportFile
    extra = 0
    can_delete = False
    readonly_fields = ["format", "file", "sha256", "size", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ComplianceReport)
class ComplianceReportAdmin(ReadOnlyHistoryAdmin):
    list_display = ["id", "fund", "kind", "period", "version", "status", "generated_at", "finalised_at"]
    list_filter = ["kind", "status"]
    inlines = [ReportFileInline]


@admin.register(ProvisionRun)
class ProvisionRunAdmin(ReadOnlyHistoryAdmin):
    list_display = ["id", "fund", "period_end", "version", "loans", "total_required", "change", "frozen"]


@admin.register(ClassificationSnapshot)
class ClassificationSnapshotAdmin(FundScopedAdminMixin, admin.ModelAdmin):
    list_display = ["period_end", "loan_id", "group", "days_past_due", "restructure_count", "principal_outstanding", "required_provision"]
    list_filter = ["group"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
