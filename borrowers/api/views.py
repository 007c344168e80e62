from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from borrowers import selectors, services
from borrowers.api.serializers import (
    GrantAccessSerializer,
    MemberImportResultSerializer,
    MemberImportSerializer,
    MemberSerializer,
    UnionBranchSerializer,
)
from borrowers.importing import ImportRejected, members_import
from borrowers.models import Member, UnionBranch
from loanfund import roles
from loanfund.api.base import FundScopedViewSet
from loanfund.api.permissions import STAFF

# Officers register unions and members; the director may too. Every staff role reads (API.md "officer+").
REGISTRARS = (roles.OFFICER, roles.DIRECTOR)


class UnionBranchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                         FundScopedViewSet):
    permitted_roles = STAFF
    permitted_roles_by_method = {"POST": REGISTRARS, "PATCH": REGISTRARS, "PUT": REGISTRARS}
    serializer_class = UnionBranchSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    filterset_fields = {"code": ["exact"], "name": ["icontains"]}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no fund
            return UnionBranch.objects.none()
        return selectors.branch_list(fund=self.fund)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.branch_create(fund=self.fund, **data)

    def perform_update(self, serializer):
        serializer.instance = services.branch_update(branch=serializer.instance, changes=dict(serializer.validated_data))


class MemberFilter(filters.FilterSet):
    name = filters.CharFilter(field_name="full_name", lookup_expr="icontains")

    class Meta:
        model = Member
        fields = {"branch": ["exact"], "status": ["exact"], "household_status": ["exact"], "national_id": ["exact"],
                  "gender": ["exact"]}


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                    FundScopedViewSet):
    permitted_roles = STAFF
    permitted_roles_by_method = {"POST": REGISTRARS, "PATCH": REGISTRARS, "PUT": REGISTRARS}
    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no fund
            return Member.objects.none()
        return selectors.member_list(fund=self.fund)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "fund": self.fund}

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.member_register(fund=self.fund, **data)

    def perform_update(self, serializer):
        serializer.instance = services.member_update(member=serializer.instance, changes=dict(serializer.validated_data))

    @extend_schema(request={"multipart/form-data": MemberImportSerializer},
                   responses={200: MemberImportResultSerializer,
                              400: OpenApiResponse(description="Nothing imported: errors [{code, detail, attr (column), row}]")})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_file(self, request):
        serializer = MemberImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        try:
            result = members_import(fund=self.fund, content=upload.read(), filename=upload.name, imported_by=request.user)
        except ImportRejected as rejected:
            # members_import is atomic: its transaction (savepoint) already rolled back, nothing was written.
            return Response({"type": "validation_error", "errors": [e.as_error() for e in rejected.errors]},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response(MemberImportResultSerializer(result).data)

    @extend_schema(request=None, responses={200: GrantAccessSerializer})
    @action(detail=True, methods=["post"], url_path="grant-access")
    def grant_access(self, request, pk=None):
        member = self.get_object()
        user, password = services.member_grant_access(member=member, granted_by=request.user)
        return Response(GrantAccessSerializer({"member": member.pk, "username": user.username, "password": password}).data)
