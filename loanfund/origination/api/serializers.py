from decimal import Decimal

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from borrowers.models import Member
from loanfund.api.fields import AmountField, CurrencyField
from loanfund.models import ApplicationEvent, Appraisal, ApproverLimit, LoanApplication, LoanProduct, LoanProductVersion

RATE_HELP = "A fraction as a decimal string: \"0.072\" = 7.2 % per year."


class RateField(serializers.DecimalField):
    """A rate as a decimal string: a JSON number would carry binary-float noise into the terms."""

    def to_internal_value(self, data):
        if isinstance(data, (float, int)) and not isinstance(data, bool):
            raise serializers.ValidationError('Give a rate as a decimal string, e.g. "0.072".', code="rate_not_string")
        return super().to_internal_value(data)


def _rate(help_text=RATE_HELP, **kwargs):
    return RateField(max_digits=7, decimal_places=6, min_value=Decimal(0), max_value=Decimal("0.999999"),
                                    help_text=help_text, **kwargs)


class ProductVersionSerializer(serializers.ModelSerializer):
    min_amount = AmountField()
    max_amount = AmountField()
    currency = serializers.CharField(source="min_amount_currency", read_only=True)

    class Meta:
        model = LoanProductVersion
        fields = ["version", "min_amount", "max_amount", "currency", "min_installments", "max_installments", "frequency",
                  "interest_method", "annual_rate", "penalty_rate", "grace_installments", "rounding_multiple", "upfront_fee_rate",
                  "savings_rate", "allocation_order", "prepayment_policy", "eligible_household_statuses", "min_membership_months",
                  "min_age", "created_at"]


class ProductSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="The terms new applications are priced on.")
    versions = serializers.SerializerMethodField(help_text="Every version, newest first: earlier applications keep theirs.")

    class Meta:
        model = LoanProduct
        fields = ["id", "code", "name", "is_active", "current", "versions", "created_at"]

    def get_current(self, product) -> ProductVersionSerializer:
        return ProductVersionSerializer(product.current_version).data

    def get_versions(self, product) -> list[int]:
        return sorted((v.version for v in product.versions.all()), reverse=True)


HOUSEHOLD_VALUES = ", ".join(Member.HouseholdStatus.values)


@extend_schema_field({"type": "array", "items": {"type": "string"}, "description": f"A non-empty subset of: {HOUSEHOLD_VALUES}."})
class HouseholdStatusListField(serializers.ListField):
    """(Documented without a second enum: the member's HouseholdStatusEnum is the one name for it.)"""

    child = serializers.ChoiceField(choices=Member.HouseholdStatus.choices)

COMPONENT = serializers.ChoiceField(choices=[("penalty", "penalty"), ("interest", "interest"), ("principal", "principal")])


class ProductWriteSerializer(serializers.Serializer):
    """Create: code, name and the terms. PATCH: any of them; a changed term creates a new version."""

    code = serializers.SlugField(max_length=32)
    name = serializers.CharField(max_length=200)
    is_active = serializers.BooleanField(default=True)
    min_amount = AmountField()
    max_amount = AmountField()
    currency = CurrencyField(help_text="Currency of min_amount / max_amount: required when they are sent.")
    min_installments = serializers.IntegerField(min_value=1, max_value=1000)
    max_installments = serializers.IntegerField(min_value=1, max_value=1000)
    frequency = serializers.ChoiceField(choices=LoanProductVersion.Frequency.choices)
    interest_method = serializers.ChoiceField(choices=LoanProductVersion.InterestMethod.choices)
    annual_rate = _rate()
    penalty_rate = _rate("Fraction per year on overdue principal; at most the fund's multiple (150 %) of annual_rate.", required=False)
    grace_installments = serializers.IntegerField(min_value=0, required=False)
    rounding_multiple = serializers.ChoiceField(choices=[1, 100, 1000], required=False)
    upfront_fee_rate = _rate("Fraction of the principal, deducted at disbursement.", required=False)
    savings_rate = _rate("Compulsory savings per installment, fraction of the principal.", required=False)
    allocation_order = serializers.ListField(child=COMPONENT, required=False)
    prepayment_policy = serializers.ChoiceField(choices=LoanProductVersion.PrepaymentPolicy.choices, required=False)
    eligible_household_statuses = HouseholdStatusListField(required=False)
    min_membership_months = serializers.IntegerField(min_value=0, required=False)
    min_age = serializers.IntegerField(min_value=0, max_value=120, required=False)

    def validate(self, attrs):
        if ("min_amount" in attrs or "max_amount" in attrs) and "currency" not in attrs:
            raise serializers.ValidationError({"currency": "Give the currency with an amount."}, code="currency_required")
        attrs.pop("currency", None)
        if "rounding_multiple" in attrs:
            attrs["rounding_multiple"] = int(attrs["rounding_multiple"])
        return attrs


@extend_schema_field(OpenApiTypes.INT)
class ScopedField(serializers.PrimaryKeyRelatedField):
    """A choice among the request user's fund's rows only (another fund's id: does_not_exist)."""

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.filter(fund=self.context["fund"])


class ApplicationEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)

    class Meta:
        model = ApplicationEvent
        fields = ["from_status", "to_status", "actor", "at", "reason"]


class AppraisalSerializer(serializers.ModelSerializer):
    appraised_by = serializers.CharField(source="appraised_by.username")
    largest_installment = AmountField()
    exposure_after = AmountField()
    checks = serializers.ListField(child=serializers.DictField(), help_text="[{name, passed, code, attr, detail, figures}]")

    class Meta:
        model = Appraisal
        fields = ["appraised_by", "appraised_at", "as_of", "passed", "checks", "largest_installment", "exposure_after", "endorsed_by",
                  "endorsed_on", "recommendation", "notes"]


class ApplicationSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.full_name", read_only=True)
    branch = serializers.IntegerField(source="member.branch_id", read_only=True)
    product = serializers.IntegerField(source="product_version.product_id", read_only=True)
    product_code = serializers.CharField(source="product_version.product.code", read_only=True)
    product_version = serializers.IntegerField(source="product_version.version", read_only=True)
    amount = AmountField()
    currency = serializers.CharField(source="amount_currency", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    appraisal = serializers.SerializerMethodField()
    events = ApplicationEventSerializer(many=True, read_only=True)

    class Meta:
        model = LoanApplication
        fields = ["id", "member", "member_name", "branch", "product", "product_code", "product_version", "amount", "currency",
                  "installments", "purpose", "first_due_on", "status", "approved_until", "created_by", "created_at", "appraisal", "events"]

    def get_appraisal(self, application) -> AppraisalSerializer(allow_null=True):
        appraisal = getattr(application, "appraisal", None)
        return None if appraisal is None else AppraisalSerializer(appraisal).data


class ApplicationCreateSerializer(serializers.Serializer):
    member = ScopedField(Member)
    product = ScopedField(LoanProduct)
    amount = AmountField()
    currency = CurrencyField()
    installments = serializers.IntegerField(min_value=1, max_value=1000)
    purpose = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    first_due_on = serializers.DateField(required=False, allow_null=True, default=None)

    def to_internal_value(self, data):
        # API.md says "term": accepted as another name for installments (the number of installments).
        if hasattr(data, "get") and "installments" not in data and "term" in data:
            data = {**data, "installments": data["term"]}
        return super().to_internal_value(data)


class AppraiseSerializer(serializers.Serializer):
    endorsed_by = serializers.CharField(max_length=200, help_text="Who at the grassroots union recommended the member.")
    endorsed_on = serializers.DateField(help_text="The date of the union's recommendation (not in the future).")
    recommendation = serializers.ChoiceField(choices=Appraisal.Recommendation.choices)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class RequiredReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class PreviewInstallmentSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_on = serializers.DateField()
    principal = AmountField(allow_zero=True)
    interest = AmountField(allow_zero=True)
    total = AmountField(allow_zero=True)
    savings = AmountField(allow_zero=True)


class PreviewTotalsSerializer(serializers.Serializer):
    principal = AmountField(allow_zero=True)
    interest = AmountField(allow_zero=True)
    total = AmountField(allow_zero=True, help_text="Principal + interest.")
    savings = AmountField(allow_zero=True, help_text="Compulsory savings deposits, returned at payoff.")
    upfront_fee = AmountField(allow_zero=True)
    net_disbursed = AmountField(allow_zero=True, help_text="What the member receives: principal - upfront fee.")


class SchedulePreviewSerializer(serializers.Serializer):
    disbursed_on = serializers.DateField()
    installments = PreviewInstallmentSerializer(many=True)
    totals = PreviewTotalsSerializer()
    apr = serializers.CharField(help_text="Annual percentage rate, percent with two decimals (\"7.23\").")
    eir = serializers.CharField(help_text="Effective interest rate, percent with two decimals.")
    currency = serializers.CharField()


class ApproverLimitSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.none())
    username = serializers.CharField(source="user.username", read_only=True)
    max_amount = AmountField()
    currency = CurrencyField(source="max_amount_currency")
    effective_from = serializers.DateField(required=False)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = ApproverLimit
        fields = ["id", "user", "username", "max_amount", "currency", "effective_from", "created_by", "created_at"]
        read_only_fields = ["created_at"]
        validators = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fund = self.context.get("fund")
        if fund is not None:
            self.fields["user"].queryset = get_user_model().objects.filter(staff_profile__fund=fund)


class CheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    passed = serializers.BooleanField()
    code = serializers.CharField(allow_null=True)
    attr = serializers.CharField()
    detail = serializers.CharField()
    figures = serializers.DictField(help_text="The figures the check compared (amounts as digit strings).")


class RuleErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="not_eligible, exposure_cap_exceeded, repayment_capacity_exceeded, endorsement_required, ...")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)
    checks = CheckSerializer(many=True, required=False, help_text="Every check that ran, with its figures.")


class RuleErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["validation_error"])
    errors = RuleErrorSerializer(many=True)
