from datetime import date

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from loanfund import roles
from loanfund.api.base import FundScopedViewSet
from loanfund.api.errors import ConflictErrorResponseSerializer
from loanfund.api.permissions import STAFF
from loanfund.errors import DomainError
from loanfund.models import ApproverLimit, LoanApplication, LoanProduct
from loanfund.money import VND
from loanfund.origination import products, selectors, services
from loanfund.origination.api.serializers import (
    ApplicationCreateSerializer,
    ApplicationSerializer,
    AppraiseSerializer,
    ApproverLimitSerializer,
    ProductSerializer,
    ProductVersionSerializer,
    ProductWriteSerializer,
    ReasonSerializer,
    RequiredReasonSerializer,
    RuleErrorResponseSerializer,
    SchedulePreviewSerializer,
)
from loanfund.origination.pricing import offer_for


def today() -> date:
    return timezone.localdate()


class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, FundScopedViewSet):
    """Every staff role reads products (officers price applications on them); the director manages them."""

    permitted_roles = STAFF
    permitted_roles_by_method = {"POST": (roles.DIRECTOR,), "PATCH": (roles.DIRECTOR,)}
    serializer_class = ProductSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    filterset_fields = {"code": ["exact"], "is_active": ["exact"]}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no fund
            return LoanProduct.objects.none()
        return selectors.product_list(fund=self.fund)

    @extend_schema(request=ProductWriteSerializer, responses={201: ProductSerializer})
    def create(self, request):
        serializer = ProductWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        code, name, is_active = data.pop("code"), data.pop("name"), data.pop("is_active")
        product = products.product_create(fund=self.fund, code=code, name=name, is_active=is_active, terms=data,
                                          created_by=request.user, on=today())
        return Response(ProductSerializer(selectors.product_list(fund=self.fund).get(pk=product.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProductWriteSerializer, responses={200: ProductSerializer})
    def partial_update(self, request, pk=None):
        product = self.get_object()
        serializer = ProductWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "code" in changes and changes.pop("code") != product.code:
            raise DomainError("read_only", "A product's code never changes.", attr="code", status=400)
        products.product_update(product=product, changes=changes, changed_by=request.user, on=today())
        return Response(ProductSerializer(selectors.product_list(fund=self.fund).get(pk=product.pk)).data)


    @extend_schema(responses={200: ProductVersionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        """Every version's full terms, newest first: what earlier applications and loans were priced on."""
        product = self.get_object()
        return Response(ProductVersionSerializer(product.versions.order_by("-version"), many=True).data)


class ApproverLimitViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, FundScopedViewSet):
    """Approvers' amount limits, dated (history kept): the director sets them."""

    permitted_roles = (roles.DIRECTOR, roles.APPROVER, roles.AUDITOR)
    permitted_roles_by_method = {"POST": (roles.DIRECTOR,)}
    serializer_class = ApproverLimitSerializer
    filterset_fields = {"user": ["exact"]}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no fund
            return ApproverLimit.objects.none()
        return selectors.approver_limit_list(fund=self.fund)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "fund": self.fund}

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = products.approver_limit_set(
            fund=self.fund, user=data["user"], max_amount=data["max_amount"], effective_from=data.get("effective_from") or today(),
            set_by=self.request.user)


class ApplicationFilter(filters.FilterSet):
    product = filters.NumberFilter(field_name="product_version__product")
    branch = filters.NumberFilter(field_name="member__branch")

    class Meta:
        model = LoanApplication
        fields = {"status": ["exact"], "member": ["exact"], "created_at": ["gte", "lte"]}


DECISION_ERRORS = {200: ApplicationSerializer, 400: RuleErrorResponseSerializer, 403: ConflictErrorResponseSerializer,
                   409: ConflictErrorResponseSerializer}


class ApplicationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, FundScopedViewSet):
    permitted_roles = STAFF
    permitted_roles_by_action = {
        "create": (roles.OFFICER,),
        "submit": (roles.OFFICER,),
        "appraise": (roles.OFFICER,),
        "approve": (roles.APPROVER,),
        "reject": (roles.APPROVER,),
        "withdraw": (roles.APPROVER, roles.OFFICER),
    }
    serializer_class = ApplicationSerializer
    filterset_class = ApplicationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no fund
            return LoanApplication.objects.none()
        return selectors.application_list(fund=self.fund)

    def _respond(self, application, code=status.HTTP_200_OK):
        return Response(ApplicationSerializer(self.get_queryset().get(pk=application.pk)).data, status=code)

    @extend_schema(request=ApplicationCreateSerializer, responses={201: ApplicationSerializer, 400: RuleErrorResponseSerializer})
    def create(self, request):
        serializer = ApplicationCreateSerializer(data=request.data, context={"fund": self.fund})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("currency")
        application = services.application_create(fund=self.fund, created_by=request.user, **data)
        return self._respond(application, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=DECISION_ERRORS)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._respond(services.application_submit(application=self.get_object(), submitted_by=request.user))

    @extend_schema(request=AppraiseSerializer, responses=DECISION_ERRORS)
    @action(detail=True, methods=["post"])
    def appraise(self, request, pk=None):
        application = self.get_object()
        serializer = AppraiseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(services.application_appraise(application=application, appraised_by=request.user, **serializer.validated_data))

    @extend_schema(request=ReasonSerializer, responses=DECISION_ERRORS)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        application = self.get_object()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(services.application_approve(application=application, approved_by=request.user, **serializer.validated_data))

    @extend_schema(request=RequiredReasonSerializer, responses=DECISION_ERRORS)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        application = self.get_object()
        serializer = RequiredReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(services.application_reject(application=application, rejected_by=request.user, **serializer.validated_data))

    @extend_schema(request=RequiredReasonSerializer, responses=DECISION_ERRORS)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        application = self.get_object()
        serializer = RequiredReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._respond(services.application_withdraw(application=application, withdrawn_by=request.user, **serializer.validated_data))

    @extend_schema(parameters=[OpenApiParameter("disbursed_on", date, required=False, description="Default: today.")],
                   responses={200: SchedulePreviewSerializer})
    @action(detail=True, methods=["get"], url_path="schedule-preview")
    def schedule_preview(self, request, pk=None):
        application = self.get_object()
        raw = request.query_params.get("disbursed_on")
        disbursed_on = serializers.DateField().to_internal_value(raw) if raw else today()
        if application.first_due_on is not None and application.first_due_on <= disbursed_on:
            raise DomainError("invalid_date", "The application's first due date must come after disbursed_on.", attr="disbursed_on",
                              status=400)
        offer = offer_for(product_version=application.product_version, amount=application.amount, installments=application.installments,
                          disbursed_on=disbursed_on, first_due_on=application.first_due_on)
        body = {
            "disbursed_on": disbursed_on,
            "installments": [row._asdict() for row in offer.installments],
            "totals": {"principal": offer.total_principal, "interest": offer.total_interest, "total": offer.total_payable,
                       "savings": offer.total_savings, "upfront_fee": offer.upfront_fee, "net_disbursed": offer.net_disbursed},
            "apr": format(offer.apr, "f"),
            "eir": format(offer.eir, "f"),
            "currency": VND,
        }
        return Response(SchedulePreviewSerializer(body).data)



