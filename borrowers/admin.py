from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from borrowers.models import Member, UnionBranch
from loanfund.admin import FundScopedAdminMixin


@admin.register(UnionBranch)
class UnionBranchAdmin(FundScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["fund", "code", "name", "employer", "contact_name", "contact_phone"]
    search_fields = ["code", "name", "employer"]


@admin.register(Member)
class MemberAdmin(FundScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["fund", "national_id", "full_name", "branch", "household_status", "status", "monthly_income"]
    list_filter = ["status", "household_status"]
    search_fields = ["national_id", "full_name", "phone"]
    raw_id_fields = ["user", "branch"]  # linking a staff user to their member record is done here
