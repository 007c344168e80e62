from django.urls import include, path
from rest_framework.routers import SimpleRouter

from loanfund.api import views

router = SimpleRouter(trailing_slash=True)
router.register("fund/capital", views.CapitalViewSet, basename="capital")
router.register("ledger/accounts", views.AccountViewSet, basename="ledger-account")
router.register("ledger/entries", views.JournalEntryViewSet, basename="ledger-entry")
router.register("jobs", views.JobViewSet, basename="job")

urlpatterns = [
    path("auth/token/", views.AuthTokenView.as_view(), name="token"),
    path("auth/token/refresh/", views.AuthRefreshView.as_view(), name="token-refresh"),
    path("fund/", views.FundView.as_view(), name="fund"),
    path("fund/settings/", views.FundSettingsView.as_view(), name="fund-settings"),
    path("ledger/trial-balance/", views.TrialBalanceView.as_view(), name="trial-balance"),
    *router.urls,
    path("", include("loanfund.origination.api.urls")),
]
