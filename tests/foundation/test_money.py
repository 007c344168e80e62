from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loanfund.money import AmountError, format_amount, parse_amount, parse_currency, percent, to_dong, to_multiple, to_places


@pytest.mark.parametrize(
    "raw, code",
    [
        (1500000, "amount_not_string"),
        (1500000.0, "amount_not_string"),
        (True, "amount_not_string"),
        ("1500000.5", "fractional_amount"),
        ("1500000.00", "fractional_amount"),
        ("1,500,000", "fractional_amount"),
        ("-100", "negative_amount"),
        ("0", "zero_amount"),
        ("", "invalid_amount"),
        ("1e6", "invalid_amount"),
        ("abc", "invalid_amount"),
        (None, "invalid_amount"),
        (["1"], "invalid_amount"),
        ("12345678901234567", "invalid_amount"),
    ],
)
def test_parse_amount_refuses_with_a_code(raw, code):
    with pytest.raises(AmountError) as info:
        parse_amount(raw)
    assert info.value.code == code


def test_parse_amount_accepts_digit_strings():
    assert parse_amount("15000000") == Decimal(15_000_000)
    assert parse_amount(" 7 ") == Decimal(7)
    assert parse_amount("0", allow_zero=True) == 0


@pytest.mark.parametrize("raw, code", [(None, "currency_required"), ("", "currency_required"), ("USD", "unsupported_currency"), ("vnd", "unsupported_currency")])
def test_currency_must_be_explicit_vnd(raw, code):
    with pytest.raises(AmountError) as info:
        parse_currency(raw)
    assert info.value.code == code
    assert parse_currency("VND") == "VND"


def test_rounding_is_half_up():
    assert to_dong(Decimal("2.5")) == 3
    assert to_dong(Decimal("3.5")) == 4
    assert to_dong(Decimal("2.4999")) == 2
    assert to_multiple(Decimal("1500"), 1000) == 2000
    assert to_multiple(Decimal("1499.99"), 1000) == 1000
    assert to_multiple(Decimal("149"), 100) == 100
    assert percent(Decimal("0.072345")) == Decimal("7.23")
    assert percent(Decimal("0.072350")) == Decimal("7.24")
    assert to_places(Decimal("7.125"), 2) == Decimal("7.13")  # half-up, not the context's half-even
    assert to_places(Decimal("0.00005"), 4) == Decimal("0.0001")


@given(st.decimals(min_value=0, max_value=10**12, places=4), st.sampled_from([1, 100, 1000]))
def test_to_multiple_is_a_nearest_multiple(value, multiple):
    rounded = to_multiple(value, multiple)
    assert rounded % multiple == 0
    assert abs(rounded - value) <= Decimal(multiple) / 2


def test_format_amount_is_digits_only():
    assert format_amount(Decimal("1.5E+7")) == "15000000"
    with pytest.raises(ValueError):
        format_amount(Decimal("1.5"))
