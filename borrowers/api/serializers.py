from datetime import date

from django.utils import timezone
from rest_framework import serializers

from borrowers.models import Member, UnionBranch
from loanfund.api.fields import AmountField, CurrencyField


class UnionBranchSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True, help_text="Active members.")

    class Meta:
        model = UnionBranch
        fields = ["id", "code", "name", "employer", "address", "contact_name", "contact_phone", "member_count", "created_at"]
        read_only_fields = ["created_at"]
        # Uniqueness per fund is the service's check (the fund is not a request field).
        validators = []


class ScopedBranchField(serializers.PrimaryKeyRelatedField):
    """Only the request user's fund's grassroots unions are valid choices (others: does_not_exist)."""

    def get_queryset(self):
        return UnionBranch.objects.filter(fund=self.context["fund"])


class MemberSerializer(serializers.ModelSerializer):
    branch = ScopedBranchField()
    branch_code = serializers.CharField(source="branch.code", read_only=True)
    monthly_income = AmountField(allow_zero=True)
    currency = CurrencyField(source="monthly_income_currency", help_text="Currency of monthly_income: required when it is sent.")
    has_login = serializers.SerializerMethodField()

    class Meta:
        model = Member
        fields = ["id", "national_id", "full_name", "date_of_birth", "gender", "phone", "address", "branch", "branch_code", "employer",
                  "monthly_income", "currency", "household_size", "household_status", "household_certificate_number",
                  "joined_union_on", "status", "has_login", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators = []

    def get_has_login(self, member) -> bool:
        return member.user_id is not None

    def validate_date_of_birth(self, value: date) -> date:
        if value >= timezone.localdate():
            raise serializers.ValidationError("The date of birth must be in the past.", code="future_date")
        return value

    def validate_joined_union_on(self, value: date) -> date:
        if value > timezone.localdate():
            raise serializers.ValidationError("This date is in the future.", code="future_date")
        return value

    def validate(self, attrs):
        if "monthly_income" in attrs and "monthly_income_currency" not in attrs:
            raise serializers.ValidationError({"currency": "Give the currency with an amount."}, code="currency_required")
        attrs.pop("monthly_income_currency", None)
        return attrs


class MemberImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A .csv (UTF-8) or .xlsx file with a header row: " + ", ".join(
        ["national_id", "full_name", "date_of_birth", "branch_code", "monthly_income", "household_status", "joined_union_on",
         "(optional) gender, phone, address, employer, currency, household_size, household_certificate_number, status"]))


class MemberImportResultSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class GrantAccessSerializer(serializers.Serializer):
    member = serializers.IntegerField()
    username = serializers.CharField()
    password = serializers.CharField(help_text="One-time password: shown only in this response, store it nowhere.")
