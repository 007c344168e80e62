from rest_framework import serializers

from loanfund.api.fields import AmountField, CurrencyField
from loanfund.models import Account, CapitalContribution, Fund, FundSettings, Job, JournalEntry, JournalLine
from loanfund.services.fund import SETTINGS_FIELDS


class FundSettingsSerializer(serializers.ModelSerializer):
    exposure_cap = AmountField()
    currency = serializers.CharField(source="exposure_cap_currency", read_only=True)

    class Meta:
        model = FundSettings
        fields = ["effective_from", "currency", *SETTINGS_FIELDS, "created_at"]
        read_only_fields = ["created_at"]


class FundSettingsUpdateSerializer(serializers.Serializer):
    """Partial: only the named settings change; the rest carry over from the row in force."""

    effective_from = serializers.DateField(required=False)
    currency = CurrencyField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        model_fields = FundSettingsSerializer().get_fields()
        for name in SETTINGS_FIELDS:
            field = model_fields[name]
            field.required = False
            field.read_only = False
            self.fields[name] = field

    def validate(self, attrs):
        if "exposure_cap" in attrs and "currency" not in attrs:
            raise serializers.ValidationError({"currency": "Give the currency with an amount."}, code="currency_required")
        return attrs


class FundSerializer(serializers.ModelSerializer):
    settings = serializers.SerializerMethodField()

    class Meta:
        model = Fund
        fields = ["id", "code", "name", "kind", "province", "registration_number", "settings"]

    def get_settings(self, fund) -> dict:
        return FundSettingsSerializer(self.context["settings"]).data


class CapitalSerializer(serializers.ModelSerializer):
    amount = AmountField()
    currency = CurrencyField(source="amount_currency")
    journal_entry = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = CapitalContribution
        fields = ["id", "amount", "currency", "source", "received_on", "note", "journal_entry", "created_at"]
        read_only_fields = ["created_at"]


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "code", "name", "name_vi", "kind", "normal_side"]


class JournalLineSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code")
    amount = AmountField()
    currency = serializers.CharField(source="amount_currency")

    class Meta:
        model = JournalLine
        fields = ["account", "side", "amount", "currency"]


class JournalEntrySerializer(serializers.ModelSerializer):
    lines = JournalLineSerializer(many=True)

    class Meta:
        model = JournalEntry
        fields = ["id", "entry_date", "kind", "memo", "source_type", "source_id", "reverses", "created_at", "lines"]


class TrialBalanceRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    name_vi = serializers.CharField()
    kind = serializers.CharField()
    normal_side = serializers.CharField()
    debit = AmountField()
    credit = AmountField()
    balance = serializers.SerializerMethodField()

    def get_balance(self, row) -> str:
        # A balance can be negative (an account against its normal side): keep the sign.
        return format(row["balance"], "f")


class BookTotalSerializer(serializers.Serializer):
    debit = AmountField()
    credit = AmountField()
    difference = serializers.SerializerMethodField()

    def get_difference(self, row) -> str:
        return format(row["difference"], "f")


class TrialBalanceSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    currency = serializers.SerializerMethodField()
    accounts = TrialBalanceRowSerializer(many=True)
    totals = serializers.DictField(child=BookTotalSerializer())

    def get_currency(self, _) -> str:
        return "VND"


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["id", "kind", "params", "status", "stage", "progress", "result", "error", "created_at", "started_at", "finished_at"]
