from rest_framework.routers import SimpleRouter

from loanfund.origination.api import views

router = SimpleRouter(trailing_slash=True)
router.register("products", views.ProductViewSet, basename="product")
router.register("applications", views.ApplicationViewSet, basename="application")
router.register("fund/approver-limits", views.ApproverLimitViewSet, basename="approver-limit")

urlpatterns = router.urls
