"""Servicing endpoints: thin — validate, call a service, serialize."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from loanfund import roles
from loanfund.api.authentication import user_by_id, user_key
from loanfund.api.base import FundScopedAPIView, FundScopedViewSet
from loanfund.api.idempotency import IDEMPOTENCY_HEADER, idempotent
from loanfund.api.permissions import STAFF
from loanfund.errors import DomainError
from loanfund.services.jobs import job_create
from loanfund.tenancy import user_roles

from .. import selectors, services
from ..models import Allocation, Loan, Repayment
from . import serializers as s

SELF = (roles.MEMBER,)


def today() -> date:
    return timezone.localdate()


def _is_staff(user) -> bool:
    return bool(user_roles(user) & set(STAFF)) and hasattr(user, "staff_profile")


class DisburseView(FundScopedAPIView):
    permitted_roles = (roles.ACCOUNTANT,)
    serializer_class = s.DisburseSerializer

    @extend_schema(request=s.DisburseSerializer, responses={201: s.LoanBalanceSerializer}, parameters=[IDEMPOTENCY_HEADER])
    @idempotent
    def post(self, request, pk: int):
        body = s.DisburseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        loan = services.loan_disburse(fund=self.fund, application_id=pk, disbursed_on=body.validated_data["disbursed_on"],
                                      method=body.validated_data["method"], disbursed_by=request.user)
        return Response(s.LoanBalanceSerializer(selectors.loan_balances(loan, today=today())).data, status=status.HTTP_201_CREATED)


class LoanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, FundScopedViewSet):
    """Staff see the fund's loans; the member-facing reads (schedule, transactions, payoff quote)
    also admit a member for their own loans (404 for anyone else's)."""

    permitted_roles = STAFF
    permitted_roles_by_action = {
        "schedule": STAFF + SELF, "transactions": STAFF + SELF, "payoff_quote": STAFF + SELF,
        "repayments": (roles.OFFICER, roles.ACCOUNTANT, roles.APPROVER, roles.DIRECTOR, roles.AUDITOR),
        "reverse": (roles.ACCOUNTANT,), "restructure": (roles.APPROVER,), "write_off": (roles.DIRECTOR,),
    }
    serializer_class = s.LoanListSerializer
    queryset = Loan.objects.select_related("fund").order_by("-disbursed_on", "-id")
    filterset_fields = {"status": ["exact"], "member": ["exact"], "member__branch": ["exact"], "product_version__product": ["exact"],
                        "disbursed_on": ["gte", "lte"], "number": ["exact"]}

    def get_queryset(self):
        qs = super().get_queryset()
        if not _is_staff(self.request.user):
            qs = qs.filter(member__user=self.request.user)
        return qs

    @extend_schema(responses=s.LoanBalanceSerializer)
    def retrieve(self, request, pk=None):
        return Response(s.LoanBalanceSerializer(selectors.loan_balances(self.get_object(), today=today())).data)

    @extend_schema(responses=s.InstallmentSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def schedule(self, request, pk=None):
        return Response(s.InstallmentSerializer(selectors.schedule_rows(self.get_object(), today=today()), many=True).data)

    @extend_schema(responses=s.TransactionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def transactions(self, request, pk=None):
        return Response(s.TransactionSerializer(selectors.loan_transactions(self.get_object()), many=True).data)

    @extend_schema(parameters=[OpenApiParameter("as_of", date, required=False)], responses=s.PayoffQuoteSerializer)
    @action(detail=True, methods=["get"], url_path="payoff-quote")
    def payoff_quote(self, request, pk=None):
        as_of = _date_param(request, "as_of") or today()
        loan = self.get_object()
        if as_of < loan.disbursed_on:
            raise DomainError("invalid_date", "as_of is before the disbursement.", attr="as_of", status=400)
        return Response(s.PayoffQuoteSerializer(selectors.payoff_quote(loan, as_of)).data)

    @extend_schema(methods=["get"], responses=s.RepaymentSerializer(many=True))
    @extend_schema(methods=["post"], request=s.RepaymentCreateSerializer, responses={201: s.RepaymentSerializer}, parameters=[IDEMPOTENCY_HEADER])
    @action(detail=True, methods=["get", "post"])
    def repayments(self, request, pk=None):
        if request.method == "GET":
            loan = self.get_object()
            rows = Repayment.objects.filter(loan=loan).prefetch_related(
                Prefetch("allocations", queryset=Allocation.objects.select_related("installment").order_by("id"), to_attr="_allocations"))
            page = self.paginate_queryset(rows.order_by("paid_on", "id"))
            return self.get_paginated_response(s.RepaymentSerializer(page, many=True).data)
        if user_roles(request.user).isdisjoint({roles.OFFICER, roles.ACCOUNTANT}):
            raise DomainError("permission_denied", "Only officers and accountants post repayments.", status=403)
        return self._post_repayment(request, pk)

    @idempotent
    def _post_repayment(self, request, pk):
        loan = self.get_object()
        body = s.RepaymentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        repayment = services.repayment_post(fund=self.fund, loan_id=loan.pk, amount=d["amount"], paid_on=d["paid_on"], reference=d["reference"],
                                            channel=d["channel"], posted_by=request.user)
        return Response(s.RepaymentSerializer(repayment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReverseSerializer, responses=s.RepaymentSerializer, parameters=[IDEMPOTENCY_HEADER])
    @action(detail=True, methods=["post"], url_path=r"repayments/(?P<rid>[0-9]+)/reverse")
    @idempotent
    def reverse(self, request, pk=None, rid=None):
        loan = self.get_object()
        body = s.ReverseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        repayment = services.repayment_reverse(fund=self.fund, loan_id=loan.pk, repayment_id=int(rid), reason=body.validated_data["reason"],
                                               reversed_on=body.validated_data.get("reversed_on"), reversed_by=request.user)
        return Response(s.RepaymentSerializer(repayment).data)

    @extend_schema(request=s.RestructureSerializer, responses=s.LoanBalanceSerializer, parameters=[IDEMPOTENCY_HEADER])
    @action(detail=True, methods=["post"])
    @idempotent
    def restructure(self, request, pk=None):
        loan = self.get_object()
        body = s.RestructureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        loan = services.loan_restructure(fund=self.fund, loan_id=loan.pk, installments=d["installments"], reason=d["reason"],
                                         annual_rate=d.get("annual_rate"), restructured_on=d.get("restructured_on"),
                                         first_due_on=d.get("first_due_on"), approved_by=request.user)
        return Response(s.LoanBalanceSerializer(selectors.loan_balances(loan, today=today())).data)

    @extend_schema(request=s.WriteOffSerializer, responses=s.WriteOffResultSerializer, parameters=[IDEMPOTENCY_HEADER])
    @action(detail=True, methods=["post"], url_path="write-off")
    @idempotent
    def write_off(self, request, pk=None):
        loan = self.get_object()
        body = s.WriteOffSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.loan_write_off(fund=self.fund, loan_id=loan.pk, reason=body.validated_data["reason"],
                                         written_off_on=body.validated_data.get("written_off_on"), approved_by=request.user)
        return Response(s.WriteOffResultSerializer(result).data)


def _date_param(request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise DomainError("invalid", f"{name} must be a date YYYY-MM-DD.", attr=name, status=400)


def _int_or_none(pk) -> int | None:
    """An id that fits the id columns (bigint), else None."""
    try:
        value = int(pk)
    except (TypeError, ValueError):
        return None
    return value if -2**63 <= value < 2**63 else None


class MeView(FundScopedAPIView):
    permitted_roles = SELF

    @extend_schema(responses=s.MeSerializer)
    def get(self, request):
        member = request.user.member_profile
        loans = Loan.objects.filter(member=member).order_by("-disbursed_on", "-id")
        return Response(s.MeSerializer({"member": member, "loans": loans}).data)


class MeLoanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, FundScopedViewSet):
    permitted_roles = SELF
    serializer_class = s.LoanListSerializer
    queryset = Loan.objects.select_related("fund").order_by("-disbursed_on", "-id")

    _member_balances = _read_with_user = None

    def token_user_read(self, user_id):
        """How JWTAuthentication reads the token's user here. GET /me/loans/{id}/, the members'
        most frequent request: the user, their member record and roles, the loan if it is theirs
        and its balances, in one statement; the balances are kept until authentication and the
        role check have passed."""
        loan_id = _int_or_none(self.kwargs.get("pk"))
        if self.action != "retrieve" or loan_id is None or (user_id := user_key(user_id)) is None:
            return user_by_id(user_id)
        user, is_member, balances = selectors.user_and_member_loan_balances(user_id, loan_id=loan_id, today=today())
        self._read_with_user, self._member_balances = user, ((balances,) if is_member else None)
        return user

    def check_permissions(self, request):
        # The member's fund and roles (the role check needs them) come with the first read.
        # GET /me/loans/{id}/: that read is the whole answer (member, roles, the loan if it is
        # theirs, its balances), with the user when a token named them (token_user_read).
        user, loan_id = request.user, _int_or_none(self.kwargs.get("pk"))
        if self.action == "retrieve" and loan_id is not None and user.is_authenticated:
            if self._read_with_user is not user:
                is_member, balances = selectors.member_loan_balances(user, loan_id=loan_id, today=today())
                self._member_balances = (balances,) if is_member else None
        else:
            selectors.member_user_load(user)
        super().check_permissions(request)

    def get_queryset(self):
        return super().get_queryset().filter(member__user=self.request.user)

    @extend_schema(responses=s.LoanBalanceSerializer)
    def retrieve(self, request, pk=None):
        if self._member_balances is not None:
            balances, = self._member_balances
            if balances is None:
                raise Http404
            return Response(s.loan_balance_data(balances))
        # Not a plain member (e.g. staff who also hold the member role and a member record): the
        # general reads (get_queryset: the fund's loans of this user).
        return Response(s.loan_balance_data(selectors.loan_balances(self.get_object(), today=today())))

    @extend_schema(responses=s.InstallmentSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def schedule(self, request, pk=None):
        return Response(s.InstallmentSerializer(selectors.schedule_rows(self.get_object(), today=today()), many=True).data)

    @extend_schema(responses=s.TransactionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def statement(self, request, pk=None):
        return Response(s.TransactionSerializer(selectors.loan_transactions(self.get_object()), many=True).data)


class CloseOfBusinessView(FundScopedAPIView):
    permitted_roles = (roles.ACCOUNTANT,)
    serializer_class = s.CloseOfBusinessSerializer

    @extend_schema(request=s.CloseOfBusinessSerializer, responses={202: s.JobAcceptedSerializer})
    def post(self, request):
        body = s.CloseOfBusinessSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        as_of = body.validated_data["as_of"]
        if as_of > today():
            raise DomainError("future_date", "Close of business runs for today or a past date.", attr="as_of", status=400)
        from ..tasks import close_of_business_fund

        job = job_create(fund=self.fund, kind="close_of_business", params={"as_of": as_of.isoformat()}, created_by=request.user)
        close_of_business_fund.delay(job.pk)
        return Response({"id": job.pk, "status": job.status}, status=status.HTTP_202_ACCEPTED)


class RepaymentImportView(FundScopedAPIView):
    permitted_roles = (roles.OFFICER, roles.ACCOUNTANT)

    @extend_schema(request={"multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
                   responses={201: s.ImportResultSerializer})
    def post(self, request):
        from ..importing import collection_sheet_import

        upload = request.FILES.get("file")
        if upload is None:
            raise DomainError("required", "Upload the collection sheet as `file` (CSV or XLSX).", attr="file", status=400)
        result = collection_sheet_import(fund=self.fund, upload=upload, posted_by=request.user)
        return Response(s.ImportResultSerializer(result).data, status=status.HTTP_201_CREATED)

