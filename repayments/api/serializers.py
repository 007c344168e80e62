from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loanfund.api.fields import AmountField, CurrencyField, PercentField
from loanfund.money import format_amount

from ..models import Allocation, Loan, Repayment


class DisburseSerializer(serializers.Serializer):
    disbursed_on = serializers.DateField()
    method = serializers.ChoiceField(choices=Loan.Method.choices)


class NextInstallmentSerializer(serializers.Serializer):
    due_on = serializers.DateField()
    amount = AmountField()


class LoanBalanceSerializer(serializers.Serializer):
    """API.md "A loan's balances"."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    member = serializers.IntegerField()
    status = serializers.CharField(help_text="active, in_arrears, closed, written_off, restructured")
    principal_disbursed = AmountField()
    principal_outstanding = AmountField()
    interest_due = AmountField()
    penalty_due = AmountField()
    fees_due = AmountField()
    savings_due = AmountField()
    total_due_now = AmountField()
    next_installment = NextInstallmentSerializer(allow_null=True)
    days_past_due = serializers.IntegerField()
    classification_group = serializers.IntegerField(min_value=1, max_value=5)
    restructure_count = serializers.IntegerField()
    compulsory_savings_balance = AmountField()
    currency = serializers.CharField()
    apr = PercentField()
    eir = PercentField()
    disbursed_on = serializers.DateField()
    closed_on = serializers.DateField(allow_null=True)
    written_off_on = serializers.DateField(allow_null=True)


def _amount(value) -> str:
    return format_amount(Decimal(getattr(value, "amount", value)))


def _day(value) -> str | None:
    return None if value is None else value.isoformat()


def _percent(value) -> str | None:
    return None if value is None else format(Decimal(value), "f")


def loan_balance_data(b: dict) -> dict:
    """LoanBalanceSerializer(b).data, built directly: the members' most frequent request does
    not pay for a serializer (DRF copies every declared field of a serializer per instance).
    The same keys in the same order with the same strings (tests/servicing/test_member_balance.py
    compares the two); the serializer stays the documented schema."""
    nxt = b["next_installment"]
    return {
        "id": int(b["id"]), "number": str(b["number"]), "member": int(b["member"]), "status": str(b["status"]),
        "principal_disbursed": _amount(b["principal_disbursed"]), "principal_outstanding": _amount(b["principal_outstanding"]),
        "interest_due": _amount(b["interest_due"]), "penalty_due": _amount(b["penalty_due"]), "fees_due": _amount(b["fees_due"]),
        "savings_due": _amount(b["savings_due"]), "total_due_now": _amount(b["total_due_now"]),
        "next_installment": None if nxt is None else {"due_on": _day(nxt["due_on"]), "amount": _amount(nxt["amount"])},
        "days_past_due": int(b["days_past_due"]), "classification_group": int(b["classification_group"]),
        "restructure_count": int(b["restructure_count"]), "compulsory_savings_balance": _amount(b["compulsory_savings_balance"]),
        "currency": str(b["currency"]), "apr": _percent(b["apr"]), "eir": _percent(b["eir"]), "disbursed_on": _day(b["disbursed_on"]),
        "closed_on": _day(b["closed_on"]), "written_off_on": _day(b["written_off_on"]),
    }


class LoanListSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="active, in_arrears, closed, written_off, restructured")
    principal_disbursed = AmountField()
    currency = serializers.CharField(source="principal_disbursed_currency")
    days_past_due = serializers.SerializerMethodField()

    class Meta:
        model = Loan
        fields = ["id", "number", "member", "application", "product_version", "status", "principal_disbursed", "currency", "disbursed_on",
                  "days_past_due", "restructure_count", "closed_on", "written_off_on"]

    def get_days_past_due(self, obj) -> int:
        """As of the last close of business; 0 for a closed loan."""
        return obj.days_past_due if obj.status != Loan.Status.CLOSED else 0


class InstallmentSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    schedule_version = serializers.IntegerField()
    due_on = serializers.DateField()
    principal = AmountField()
    interest = AmountField()
    savings = AmountField()
    total = AmountField()
    principal_paid = AmountField()
    interest_paid = AmountField()
    savings_paid = AmountField()
    penalty_due = AmountField()
    superseded_on = serializers.DateField(allow_null=True)
    currency = serializers.CharField(default="VND")


class AllocationSerializer(serializers.ModelSerializer):
    amount = AmountField(allow_zero=True)
    installment = serializers.IntegerField(source="installment.number", allow_null=True, default=None)
    due_on = serializers.DateField(source="installment.due_on", allow_null=True, default=None)

    class Meta:
        model = Allocation
        fields = ["component", "kind", "installment", "due_on", "amount", "effective_on"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["amount"] = str(instance.amount.amount)  # signed: reversal rows are negative
        return data


class RepaymentSerializer(serializers.ModelSerializer):
    amount = AmountField()
    currency = serializers.CharField(source="amount_currency")
    loan = serializers.IntegerField(source="loan_id")
    status = serializers.CharField(read_only=True, help_text="posted, reversed")
    allocation = serializers.SerializerMethodField()

    class Meta:
        model = Repayment
        fields = ["id", "loan", "amount", "currency", "paid_on", "reference", "channel", "status", "reversed_on", "reversal_reason",
                  "allocation", "created_at"]

    @extend_schema_field(AllocationSerializer(many=True))
    def get_allocation(self, obj):
        rows = getattr(obj, "_allocations", None)
        if rows is None:
            rows = obj.allocations.select_related("installment").order_by("id")
        return AllocationSerializer(rows, many=True).data


class RepaymentCreateSerializer(serializers.Serializer):
    amount = AmountField()
    currency = CurrencyField()
    paid_on = serializers.DateField()
    reference = serializers.CharField(max_length=100)
    channel = serializers.ChoiceField(choices=Repayment.Channel.choices)


class ReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
    reversed_on = serializers.DateField(required=False)


class RestructureSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
    installments = serializers.IntegerField(min_value=1, max_value=520)
    annual_rate = serializers.DecimalField(max_digits=7, decimal_places=6, required=False, min_value=0, max_value=1)
    restructured_on = serializers.DateField(required=False)
    first_due_on = serializers.DateField(required=False)


class WriteOffSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
    written_off_on = serializers.DateField(required=False)


class WriteOffResultSerializer(serializers.Serializer):
    loan = serializers.IntegerField(source="loan_id")
    written_off_on = serializers.DateField()
    principal = AmountField(allow_zero=True)
    interest = AmountField(allow_zero=True)
    penalty = AmountField(allow_zero=True)
    from_provision = AmountField(allow_zero=True)
    to_expense = AmountField(allow_zero=True)
    currency = serializers.CharField(default="VND")


class PayoffQuoteSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    principal = AmountField(allow_zero=True)
    interest = AmountField(allow_zero=True)
    penalty = AmountField(allow_zero=True)
    fees = AmountField(allow_zero=True)
    savings = AmountField(allow_zero=True)
    total = AmountField(allow_zero=True)
    compulsory_savings_returned = AmountField(allow_zero=True)
    currency = serializers.CharField()


class TransactionSerializer(serializers.Serializer):
    date = serializers.DateField()
    kind = serializers.CharField()
    reference = serializers.CharField(allow_null=True)
    repayment = serializers.IntegerField(allow_null=True)
    principal = serializers.CharField()
    interest = serializers.CharField()
    penalty = serializers.CharField()
    savings = serializers.CharField()
    other = serializers.CharField()
    total = serializers.CharField()
    currency = serializers.CharField()


class CloseOfBusinessSerializer(serializers.Serializer):
    as_of = serializers.DateField()


class JobAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    imported = serializers.IntegerField()
    skipped_existing = serializers.IntegerField()
    repayments = serializers.ListField(child=serializers.IntegerField())



class MemberBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    national_id = serializers.CharField()
    branch = serializers.IntegerField(source="branch_id")
    phone = serializers.CharField()


class MeSerializer(serializers.Serializer):
    member = MemberBriefSerializer()
    loans = LoanListSerializer(many=True)
