from rest_framework.routers import SimpleRouter

from compliance.api import views

router = SimpleRouter(trailing_slash=True)
router.register("reports", views.ReportViewSet, basename="report")

urlpatterns = router.urls
