from rest_framework.routers import SimpleRouter

from borrowers.api import views

router = SimpleRouter(trailing_slash=True)
router.register("branches", views.UnionBranchViewSet, basename="branch")
router.register("members", views.MemberViewSet, basename="member")

urlpatterns = router.urls
