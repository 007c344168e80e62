from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loanfund.api.views import HealthView
from repayments.api.urls import member_urlpatterns
from repayments.api.views import CloseOfBusinessView

urlpatterns = [
    path("healthz", HealthView.as_view(), name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Before the core's jobs/{id}/ route, whose id pattern would otherwise swallow this path.
    path("api/v1/jobs/close-of-business/", CloseOfBusinessView.as_view(), name="close-of-business"),
    path("api/v1/", include(member_urlpatterns)),  # the members' requests, the most frequent, resolved first
    path("api/v1/", include("loanfund.api.urls")),
    path("api/v1/", include("borrowers.api.urls")),
    path("api/v1/", include("repayments.api.urls")),
    path("api/v1/", include("compliance.api.urls")),
]

handler400 = "loanfund.api.errors.handler400"
handler403 = "loanfund.api.errors.handler403"
handler404 = "loanfund.api.errors.handler404"
handler500 = "loanfund.api.errors.handler500"
