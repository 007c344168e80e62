from datetime import date

from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from loanfund import roles
from loanfund.api.base import FundScopedAPIView, FundScopedViewSet
from loanfund.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from loanfund.api.permissions import STAFF
from loanfund.api.serializers import (
    AccountSerializer,
    CapitalSerializer,
    FundSerializer,
    FundSettingsSerializer,
    FundSettingsUpdateSerializer,
    JobSerializer,
    JournalEntrySerializer,
    TrialBalanceSerializer,
)
from loanfund.models import Account, CapitalContribution, Job, JournalEntry
from loanfund.selectors.fund import fund_settings_as_of
from loanfund.selectors.ledger import trial_balance
from loanfund.services.fund import capital_receive, fund_settings_update

BOOKS = (roles.ACCOUNTANT, roles.AUDITOR, roles.DIRECTOR)


def today() -> date:
    return timezone.localdate()


class AuthTokenView(TokenObtainPairView):
    throttle_scope = "auth"
    from rest_framework.throttling import ScopedRateThrottle as _T

    throttle_classes = [_T]


class AuthRefreshView(TokenRefreshView):
    from rest_framework.throttling import ScopedRateThrottle as _T

    throttle_scope = "auth"
    throttle_classes = [_T]


class FundView(FundScopedAPIView):
    permitted_roles = STAFF
    serializer_class = FundSerializer

    def get(self, request):
        fund = self.fund
        settings_row = fund_settings_as_of(fund=fund, on=today())
        return Response(FundSerializer(fund, context={"settings": settings_row}).data)


class FundSettingsView(FundScopedAPIView):
    permitted_roles = STAFF
    permitted_roles_by_method = {"PATCH": (roles.DIRECTOR,)}
    serializer_class = FundSettingsUpdateSerializer

    @extend_schema(responses=FundSettingsSerializer)
    def get(self, request):
        return Response(FundSettingsSerializer(fund_settings_as_of(fund=self.fund, on=today())).data)

    @extend_schema(request=FundSettingsUpdateSerializer, responses=FundSettingsSerializer)
    def patch(self, request):
        serializer = FundSettingsUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        effective_from = data.pop("effective_from", today())
        data.pop("currency", None)
        row = fund_settings_update(fund=self.fund, effective_from=effective_from, changes=data, changed_by=request.user)
        return Response(FundSettingsSerializer(row).data)


class CapitalViewSet(mixins.ListModelMixin, FundScopedViewSet):
    permitted_roles = (roles.DIRECTOR, roles.ACCOUNTANT, roles.AUDITOR)
    permitted_roles_by_action = {"create": (roles.DIRECTOR, roles.ACCOUNTANT)}
    serializer_class = CapitalSerializer
    queryset = CapitalContribution.objects.order_by("-received_on", "-id")

    @extend_schema(parameters=[IDEMPOTENCY_HEADER], responses={201: CapitalSerializer})
    @idempotent
    def create(self, request):
        serializer = CapitalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["received_on"] > today():
            from loanfund.errors import DomainError

            raise DomainError("future_date", "Capital cannot be received in the future.", attr="received_on", status=400)
        capital = capital_receive(
            fund=self.fund, amount=data["amount"], source=data["source"], received_on=data["received_on"],
            note=data.get("note", ""), received_by=request.user,
        )
        return Response(CapitalSerializer(capital).data, status=status.HTTP_201_CREATED)


class AccountViewSet(mixins.ListModelMixin, FundScopedViewSet):
    permitted_roles = BOOKS
    serializer_class = AccountSerializer
    queryset = Account.objects.order_by("code")
    pagination_class = None


class JournalEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, FundScopedViewSet):
    permitted_roles = BOOKS
    serializer_class = JournalEntrySerializer
    queryset = JournalEntry.objects.prefetch_related("lines__account").order_by("-entry_date", "-id")
    filterset_fields = {"kind": ["exact"], "entry_date": ["gte", "lte", "exact"], "source_type": ["exact"], "source_id": ["exact"]}


class TrialBalanceView(FundScopedAPIView):
    permitted_roles = BOOKS
    serializer_class = TrialBalanceSerializer

    @extend_schema(parameters=[OpenApiParameter("as_of", date, required=False)])
    def get(self, request):
        as_of = serializers.DateField().to_internal_value(request.query_params["as_of"]) if request.query_params.get("as_of") else today()
        return Response(TrialBalanceSerializer(trial_balance(fund=self.fund, as_of=as_of)).data)


class JobViewSet(mixins.RetrieveModelMixin, FundScopedViewSet):
    permitted_roles = STAFF
    serializer_class = JobSerializer
    queryset = Job.objects.all()


class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(responses={200: inline_serializer("Health", {"database": serializers.CharField(), "broker": serializers.CharField()}),
                              503: inline_serializer("HealthDown", {"database": serializers.CharField(), "broker": serializers.CharField()})})
    def get(self, request):
        checks = {"database": _database_status(), "broker": _broker_status()}
        healthy = all(v in ("ok", "eager") for v in checks.values())
        return Response(checks, status=200 if healthy else 503)


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        return f"down: {type(exc).__name__}"


def _broker_status() -> str:
    from django.conf import settings

    if not settings.REDIS_URL:
        return "eager"
    try:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"down: {type(exc).__name__}"
