"""The one module that owns money arithmetic and rounding.

Pure Python (no Django, no app imports) so that schedule and allocation math, services and
reports all round the same way. VND has no minor unit: every stored amount is a whole đồng.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

VND = "VND"
CURRENCIES = (VND,)
ZERO = Decimal(0)
ONE_DONG = Decimal(1)
# Amounts up to 10^16 đồng fit the columns (max_digits=18, decimal_places=0).
MAX_DIGITS = 18
ALLOWED_MULTIPLES = (1, 100, 1000)

_DIGITS = re.compile(r"^[0-9]{1,16}$")


class AmountError(ValueError):
    """An amount that is not a valid whole-đồng figure. `code` is machine-readable."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def to_dong(value: Decimal | int) -> Decimal:
    """Half-up to the whole đồng."""
    # The hottest line of schedule generation and posting: the rounding mode is passed by position
    # (the C quantize parses a keyword in ~150 ns, more than the rounding takes), and a Decimal is
    # not copied first.
    return (value if type(value) is Decimal else Decimal(value)).quantize(ONE_DONG, ROUND_HALF_UP)


def to_multiple(value: Decimal | int, multiple: int | Decimal = 1) -> Decimal:
    """Half-up to a multiple of `multiple` đồng (1, 100 or 1,000 for cash collection)."""
    m = Decimal(multiple)
    if m <= 0:
        raise ValueError("rounding multiple must be positive")
    return (Decimal(value) / m).quantize(ONE_DONG, ROUND_HALF_UP) * m


def percent(value: Decimal, places: int = 2) -> Decimal:
    """A ratio (0.0723) as a percentage with `places` decimals, half-up (7.23)."""
    return (Decimal(value) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def to_places(value: Decimal | int, places: int) -> Decimal:
    """Half-up to `places` decimals (printed percentages and ratios)."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def ratio(numerator: Decimal, denominator: Decimal, places: int = 4) -> Decimal:
    """numerator / denominator half-up to `places` decimals; 0 when the denominator is 0."""
    if not denominator:
        return Decimal(0).quantize(Decimal(1).scaleb(-places))
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
    )


def parse_amount(raw: object, *, allow_zero: bool = False) -> Decimal:
    """Strictly parse a client amount: a string of whole đồng digits ("1500000").

    Floats / JSON numbers, decimals, signs, exponents, blanks and zero (unless allowed) are refused
    with a code, never silently rounded.
    """
    if isinstance(raw, bool) or isinstance(raw, float):
        raise AmountError("amount_not_string", "Amounts are strings of whole đồng, e.g. \"1500000\".")
    if isinstance(raw, int):
        raise AmountError("amount_not_string", "Amounts are strings of whole đồng, e.g. \"1500000\".")
    if isinstance(raw, Decimal):
        raw = format(raw, "f")
    if not isinstance(raw, str):
        raise AmountError("invalid_amount", "Amount must be a string of digits.")
    text = raw.strip()
    if text.startswith("-"):
        raise AmountError("negative_amount", "Amount must not be negative.")
    if "." in text or "," in text:
        raise AmountError("fractional_amount", "VND has no minor unit: give whole đồng.")
    if not _DIGITS.match(text):
        raise AmountError("invalid_amount", "Amount must be a string of whole đồng digits.")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - regex already guards
        raise AmountError("invalid_amount", "Amount must be a string of digits.") from exc
    if value == 0 and not allow_zero:
        raise AmountError("zero_amount", "Amount must be greater than zero.")
    return value


def parse_currency(raw: object) -> str:
    if raw is None or raw == "":
        raise AmountError("currency_required", "Give the currency explicitly (\"VND\").")
    if raw not in CURRENCIES:
        raise AmountError("unsupported_currency", f"Only {', '.join(CURRENCIES)} is accepted.")
    return str(raw)


def format_amount(value: Decimal | int) -> str:
    """JSON form: digits only, no exponent, no decimals."""
    d = Decimal(value)
    if d != d.to_integral_value():
        raise ValueError(f"not a whole đồng amount: {value}")
    return format(d.quantize(ONE_DONG), "f")
