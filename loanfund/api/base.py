"""Base views: every queryset is cut to the request user's fund here, and only here."""

from django.db.models import QuerySet
from rest_framework import generics, viewsets
from rest_framework.exceptions import NotFound

from loanfund.api.permissions import RolePermission
from loanfund.tenancy import fund_of


class FundScopedMixin:
    """`fund_lookup` is the path from the model to its Fund ("fund", "loan__fund", ...)."""

    permission_classes = [RolePermission]
    fund_lookup = "fund"

    @property
    def fund(self):
        fund = fund_of(self.request.user)
        if fund is None:  # pragma: no cover - RolePermission already refuses such users
            raise NotFound()
        return fund

    def scope(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.fund_lookup: self.fund})

    def get_queryset(self):
        return self.scope(super().get_queryset())


class FundScopedViewSet(FundScopedMixin, viewsets.GenericViewSet):
    pass


class FundScopedAPIView(FundScopedMixin, generics.GenericAPIView):
    pass
