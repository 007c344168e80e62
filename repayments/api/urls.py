from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=True)
router.register("loans", views.LoanViewSet, basename="loan")
router.register("me/loans", views.MeLoanViewSet, basename="me-loan")

urlpatterns = [
    path("applications/<int:pk>/disburse/", views.DisburseView.as_view(), name="application-disburse"),
    path("me/", views.MeView.as_view(), name="me"),
    path("repayments/import/", views.RepaymentImportView.as_view(), name="repayment-import"),
    *router.urls,
]
