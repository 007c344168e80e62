"""The project's URLs plus `GET /bench/ping/`: authenticated (JWT), no database query beyond the
authentication itself: the floor a real endpoint is compared with."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns


class PingView(APIView):
    def get(self, request):
        return Response({"user": request.user.pk})


urlpatterns = [path("bench/ping/", PingView.as_view(), name="bench-ping"), *project_urlpatterns]
