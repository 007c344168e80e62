"""Serializer fields for money: strings of whole đồng in and out, never JSON numbers."""

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loanfund.money import CURRENCIES, AmountError, format_amount, parse_amount, parse_currency


@extend_schema_field({"type": "string", "pattern": "^[0-9]+$", "example": "15000000", "description": "Whole đồng as a string of digits."})
class AmountField(serializers.Field):
    default_error_messages = {"invalid": "Invalid amount."}

    def __init__(self, *, allow_zero=False, **kwargs):
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return parse_amount(data, allow_zero=self.allow_zero)
        except AmountError as exc:
            raise serializers.ValidationError(exc.detail, code=exc.code) from exc

    def to_representation(self, value):
        if value is None:
            return None
        amount = getattr(value, "amount", value)  # djmoney Money or Decimal
        return format_amount(Decimal(amount))


@extend_schema_field({"type": "string", "enum": list(CURRENCIES), "example": "VND"})
class CurrencyField(serializers.Field):
    """Required on money-carrying requests: the currency is never silently defaulted."""

    def to_internal_value(self, data):
        try:
            return parse_currency(data)
        except AmountError as exc:
            raise serializers.ValidationError(exc.detail, code=exc.code) from exc

    def to_representation(self, value):
        return str(value)


@extend_schema_field(OpenApiTypes.STR)
class PercentField(serializers.Field):
    """A percentage with 2 decimals as a string ("7.23")."""

    def to_representation(self, value):
        return None if value is None else format(Decimal(value), "f")

    def to_internal_value(self, data):  # pragma: no cover - read-only in practice
        raise serializers.ValidationError("read-only")
