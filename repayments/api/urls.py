from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=True)
router.register("loans", views.LoanViewSet, basename="loan")

# A member's own requests (GET /me/loans/{id}/ is the most frequent request of all):
# config/urls.py resolves these before every other API route.
members = SimpleRouter(trailing_slash=True)
members.register("me/loans", views.MeLoanViewSet, basename="me-loan")
member_urlpatterns = [path("me/", views.MeView.as_view(), name="me"), *members.urls]

urlpatterns = [
    path("applications/<int:pk>/disburse/", views.DisburseView.as_view(), name="application-disburse"),
    path("repayments/import/", views.RepaymentImportView.as_view(), name="repayment-import"),
    *router.urls,
]
