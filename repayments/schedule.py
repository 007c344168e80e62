"""Repayment schedules: due dates, installments, APR and EIR.

Pure Python (no Django, no app imports besides ``loanfund.money``), Decimal only: no float anywhere.
The conventions are the ones of /work/shared/DOMAIN.md, section "Schedule conventions", followed to
the letter so that any two correct implementations agree to the đồng:

* due dates: weekly d0 + 7k, biweekly d0 + 14k, fourweekly d0 + 28k days; monthly: the anchor day of
  month k months on, clamped to the month's last day (anchor 31: Jan 31 -> Feb 28/29 -> Mar 31).
  With ``first_due_on`` the later dates follow it by the same rule (anchor = first_due_on) and the
  first period's interest covers its actual days.
* interest of a period on a declining balance: outstanding x R x actual days / 365, half-up to the
  đồng; flat: P x R / p half-up to the đồng, the same every period (grace periods included).
* annuity A = P·r / (1 - (1 + r)^-(n-g)) with r = R / p, equal principal P / (n - g): half-up to the
  rounding multiple m.  The last installment takes the whole remaining principal.

All arithmetic runs in a private decimal context (34 significant digits), so the result does not
depend on the caller's decimal context; every rounding is done by ``loanfund.money``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Context, Decimal, localcontext
from functools import lru_cache
from typing import NamedTuple

from loanfund.money import ALLOWED_MULTIPLES, percent, to_dong, to_multiple

__all__ = [
    "FREQUENCIES",
    "PERIODS_PER_YEAR",
    "METHODS",
    "DAYS_IN_YEAR",
    "ScheduleTerms",
    "Installment",
    "Schedule",
    "Disclosure",
    "due_dates",
    "validate_terms",
    "build_schedule",
    "price_disclosure",
    "reamortize",
]

FREQUENCIES = ("weekly", "biweekly", "fourweekly", "monthly")
PERIODS_PER_YEAR = {"weekly": 52, "biweekly": 26, "fourweekly": 13, "monthly": 12}
METHODS = ("flat", "annuity", "equal_principal")
DAYS_IN_YEAR = 365  # the State Bank's actual/365 convention (also in leap years)

_STEP_DAYS = {"weekly": 7, "biweekly": 14, "fourweekly": 28}
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_LEAP_MONTHS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MAX_PRINCIPAL = Decimal(10) ** 16  # money.py: amounts up to 10^16 đồng fit the columns

_ZERO = Decimal(0)
_ONE = Decimal(1)
_D365 = Decimal(DAYS_IN_YEAR)
# Private arithmetic context: wide enough that outstanding x R x days is exact for any sane rate,
# independent of whatever the caller did to the thread's context.  Rounding to đồng / multiple is
# done by loanfund.money (half-up), never by this context.
_CTX = Context(prec=34)
_IRR_CTX = Context(prec=40)
_IRR_STEPS = 100  # bisection halvings: bracket width 2^-100 ~ 8e-31 in the discount factor


@dataclass(frozen=True, slots=True)
class ScheduleTerms:
    principal: Decimal  # whole đồng, > 0
    annual_rate: Decimal  # nominal, as a fraction: 7.2 % -> Decimal("0.072")
    installments: int  # n >= 1
    frequency: str  # one of FREQUENCIES
    method: str  # one of METHODS
    disbursed_on: date
    first_due_on: date | None = None
    grace: int = 0  # principal grace installments, 0 <= g < n
    multiple: int = 1  # 1, 100 or 1000
    savings_rate: Decimal = Decimal(0)  # compulsory savings per installment, fraction of the base
    upfront_fee_rate: Decimal = Decimal(0)  # fraction of P, deducted at disbursement
    # Extensions (optional, default to the plain DOMAIN.md behaviour):
    # savings_base: the amount the savings rate applies to (default: principal).  reamortize() sets
    #   it to the original loan amount so that the compulsory deposit does not shrink with the
    #   re-amortised balance.
    savings_base: Decimal | None = None
    # anchor_day: monthly only, with first_due_on: the day of month that later due dates aim for
    #   (clamped to month end).  Default: first_due_on's day.  reamortize() uses it to stay on the
    #   original contract's grid (anchor 31 continuing from a Feb 28 due date -> Mar 31).
    anchor_day: int | None = None


class Installment(NamedTuple):
    """One row of a schedule.  ``total`` = principal + interest (savings are separate)."""

    number: int
    due_on: date
    principal: Decimal
    interest: Decimal
    total: Decimal
    savings: Decimal
    outstanding_after: Decimal


@dataclass(frozen=True, slots=True)
class Schedule:
    terms: ScheduleTerms
    installments: tuple[Installment, ...]
    upfront_fee: Decimal

    @property
    def total_principal(self) -> Decimal:
        return sum((row.principal for row in self.installments), _ZERO)

    @property
    def total_interest(self) -> Decimal:
        return sum((row.interest for row in self.installments), _ZERO)

    @property
    def total_savings(self) -> Decimal:
        return sum((row.savings for row in self.installments), _ZERO)

    @property
    def total_payable(self) -> Decimal:
        """Principal + interest over the life of the loan (= sum of installment totals).

        Compulsory savings are deposits returned at payoff, not a cost: see ``total_collected``.
        """
        return sum((row.total for row in self.installments), _ZERO)

    @property
    def total_collected(self) -> Decimal:
        """What the member hands over at the due dates: installments + savings deposits."""
        return self.total_payable + self.total_savings

    @property
    def net_disbursed(self) -> Decimal:
        """What the member receives at disbursement: principal - upfront fee."""
        return Decimal(self.terms.principal) - self.upfront_fee


class Disclosure(NamedTuple):
    """Percentages with two decimals, e.g. Decimal("7.23")."""

    apr: Decimal
    eir: Decimal


# --------------------------------------------------------------------------------------------
# Due dates
# --------------------------------------------------------------------------------------------


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _month_length(year: int, month: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return _MONTH_DAYS[month]


def due_dates(
    frequency: str,
    disbursed_on: date,
    count: int,
    first_due_on: date | None = None,
    *,
    anchor_day: int | None = None,
) -> list[date]:
    """The ``count`` due dates of a loan disbursed on ``disbursed_on`` (DOMAIN.md rules)."""
    _check_frequency(frequency)
    _check_date("disbursed_on", disbursed_on)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be an int >= 0, got {count!r}")
    _check_first_due(frequency, disbursed_on, first_due_on, anchor_day)
    if count == 0:
        return []
    return list(_calendar(frequency, disbursed_on, count, first_due_on, anchor_day)[0])


# --------------------------------------------------------------------------------------------
# Validation (once per schedule, never per row)
# --------------------------------------------------------------------------------------------


def _check_frequency(frequency: object) -> None:
    if frequency not in PERIODS_PER_YEAR:
        raise ValueError(f"frequency must be one of {FREQUENCIES}, got {frequency!r}")


def _check_date(name: str, value: object) -> None:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"{name} must be a datetime.date (not a datetime), got {value!r}")


def _check_first_due(frequency: str, disbursed_on: date, first_due_on: date | None, anchor_day: int | None) -> None:
    if first_due_on is not None:
        _check_date("first_due_on", first_due_on)
        if first_due_on <= disbursed_on:
            raise ValueError(f"first_due_on ({first_due_on}) must be after the disbursement ({disbursed_on})")
    if anchor_day is None:
        return
    if frequency != "monthly":
        raise ValueError("anchor_day applies to monthly schedules only")
    if isinstance(anchor_day, bool) or not isinstance(anchor_day, int) or not 1 <= anchor_day <= 31:
        raise ValueError(f"anchor_day must be an int from 1 to 31, got {anchor_day!r}")
    if first_due_on is None:
        raise ValueError("anchor_day needs first_due_on (without it the anchor is the disbursement day)")
    expected = min(anchor_day, _month_length(first_due_on.year, first_due_on.month))
    if first_due_on.day != expected:
        raise ValueError(f"first_due_on ({first_due_on}) is not on anchor day {anchor_day} (expected day {expected} of that month)")


def _whole_dong(name: str, value: object, *, positive: bool) -> Decimal:
    if type(value) is not Decimal and (isinstance(value, (bool, float)) or not isinstance(value, (Decimal, int))):
        raise ValueError(f"{name} must be a Decimal of whole đồng, got {type(value).__name__} {value!r}")
    d = Decimal(value)
    if not d.is_finite() or d != d.to_integral_value():
        raise ValueError(f"{name} must be a whole number of đồng, got {value!r}")
    if d < 0 or (positive and d == 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value!r}")
    if d >= _MAX_PRINCIPAL:
        raise ValueError(f"{name} must be below 10^16 đồng, got {value!r}")
    return d


def _fraction(name: str, value: object, *, below_one: bool) -> Decimal:
    if type(value) is not Decimal and (isinstance(value, (bool, float)) or not isinstance(value, (Decimal, int))):
        raise ValueError(f"{name} must be a Decimal fraction (7.2 % -> Decimal('0.072')), got {type(value).__name__} {value!r}")
    d = Decimal(value)
    if not d.is_finite() or d < 0:
        raise ValueError(f"{name} must be a finite fraction >= 0, got {value!r}")
    if (below_one and d >= 1) or d > 1:
        raise ValueError(
            f"{name} must be a fraction {'below' if below_one else 'at most'} 1 (7.2 % is Decimal('0.072'), not 7.2), got {value!r}"
        )
    return d


def validate_terms(terms: ScheduleTerms) -> None:
    """Raise ValueError (with a clear message) unless ``terms`` can be scheduled."""
    with localcontext(_CTX):
        _validate(terms)


def _validate(terms: ScheduleTerms) -> None:
    if type(terms) is not ScheduleTerms:
        raise ValueError(f"expected ScheduleTerms, got {type(terms).__name__}")
    principal = _whole_dong("principal", terms.principal, positive=True)
    _fraction("annual_rate", terms.annual_rate, below_one=False)
    n = terms.installments
    if type(n) is not int or n < 1:
        raise ValueError(f"installments must be an int >= 1, got {n!r}")
    frequency = terms.frequency
    if frequency not in PERIODS_PER_YEAR:
        _check_frequency(frequency)
    if terms.method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {terms.method!r}")
    disbursed_on = terms.disbursed_on
    if type(disbursed_on) is not date:
        _check_date("disbursed_on", disbursed_on)
    if terms.first_due_on is not None or terms.anchor_day is not None:
        _check_first_due(frequency, disbursed_on, terms.first_due_on, terms.anchor_day)
    g = terms.grace
    if type(g) is not int or not 0 <= g < n:
        raise ValueError(f"grace must be an int with 0 <= grace < installments ({n}), got {g!r}")
    m = terms.multiple
    if type(m) is not int or m not in ALLOWED_MULTIPLES:
        raise ValueError(f"multiple must be one of {ALLOWED_MULTIPLES}, got {m!r}")
    rate = terms.savings_rate
    if type(rate) is not Decimal or rate:
        _fraction("savings_rate", rate, below_one=True)
    rate = terms.upfront_fee_rate
    if type(rate) is not Decimal or rate:
        fee_rate = _fraction("upfront_fee_rate", terms.upfront_fee_rate, below_one=True)
        if to_dong(principal * fee_rate) >= principal:
            raise ValueError("the upfront fee must be less than the principal")
    if terms.savings_base is not None:
        _whole_dong("savings_base", terms.savings_base, positive=True)


# --------------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------------


def build_schedule(terms: ScheduleTerms) -> Schedule:
    """Validate ``terms`` and compute the schedule (DOMAIN.md "Schedule conventions")."""
    with localcontext(_CTX):
        _validate(terms)
        return _build(terms)


def _build(terms: ScheduleTerms) -> Schedule:
    P = to_dong(terms.principal)  # whole already: normalises int / exponent forms
    R = Decimal(terms.annual_rate)
    n = terms.installments
    g = terms.grace
    m = terms.multiple
    frequency = terms.frequency
    method = terms.method
    d0 = terms.disbursed_on
    dates, days = _calendar(frequency, d0, n, terms.first_due_on, terms.anchor_day)

    base = P if terms.savings_base is None else Decimal(terms.savings_base)
    savings = to_dong(base * terms.savings_rate) if terms.savings_rate else _ZERO
    fee = to_dong(P * terms.upfront_fee_rate) if terms.upfront_fee_rate else _ZERO

    amortizing = n - g
    if method == "flat":
        amount = to_multiple(P / amortizing, m)
        interest = to_dong(P * R / PERIODS_PER_YEAR[frequency]) if R else _ZERO
        rows = _rows(P, g, dates, days, savings, amount, None, interest, False)
    elif method == "annuity":
        if R:
            amount = to_multiple(P * _annuity_factor(R, PERIODS_PER_YEAR[frequency], amortizing), m)
        else:
            amount = to_multiple(P / amortizing, m)
        rows = _rows(P, g, dates, days, savings, amount, R, _ZERO, True)
    else:  # equal_principal
        amount = to_multiple(P / amortizing, m)
        rows = _rows(P, g, dates, days, savings, amount, R, _ZERO, False)
    return Schedule(terms, rows, fee)


@lru_cache(maxsize=1024)
def _annuity_factor(R: Decimal, p: int, k: int) -> Decimal:
    """r / (1 - (1 + r)^-k) with r = R / p, so that A = P x factor (cached per product)."""
    with localcontext(_CTX):
        r = R / p
        return r / (_ONE - (_ONE + r) ** -k)


@lru_cache(maxsize=4096)
def _calendar(
    frequency: str, disbursed_on: date, count: int, first_due_on: date | None, anchor_day: int | None
) -> tuple[tuple[date, ...], tuple[int, ...]]:
    """Due dates and the actual days of each period (count >= 1).

    Cached: loans disbursed on the same day with the same product share their calendar.
    """
    start = disbursed_on.toordinal()
    step = _STEP_DAYS.get(frequency)
    if step is not None:
        first = start + step if first_due_on is None else first_due_on.toordinal()
        dates = tuple(map(date.fromordinal, range(first, first + step * count, step)))
        return dates, (first - start,) + (step,) * (count - 1)
    # monthly: walk the months, days of a period = rest of the previous month + the new day
    if first_due_on is None:
        base, offset = disbursed_on, 1
    else:
        base, offset = first_due_on, 0
    anchor = base.day if anchor_day is None else anchor_day
    year, month = divmod(base.year * 12 + base.month - 1 + offset, 12)
    month += 1
    length = _month_length(year, month)
    day = anchor if anchor <= length else length
    first = date(year, month, day)
    dates = [first]
    days = [first.toordinal() - start]
    add_date = dates.append
    add_days = days.append
    lengths = _LEAP_MONTHS if _is_leap(year) else _MONTH_DAYS
    for _ in range(count - 1):
        rest = length - day
        if month == 12:
            year += 1
            month = 1
            lengths = _LEAP_MONTHS if _is_leap(year) else _MONTH_DAYS
        else:
            month += 1
        length = lengths[month]
        day = anchor if anchor <= length else length
        add_date(date(year, month, day))
        add_days(rest + day)
    return tuple(dates), tuple(days)


def _rows(
    P: Decimal,
    g: int,
    dates: tuple[date, ...],
    days: tuple[int, ...],
    savings: Decimal,
    amount: Decimal,
    R: Decimal | None,
    flat_interest: Decimal,
    annuity: bool,
) -> tuple[Installment, ...]:
    """The rows, in three phases: grace, regular, last.

    R is None for flat (interest = flat_interest every period), else interest of a period is
    to_dong(outstanding x R x days / 365), computed as outstanding x (R x days) / 365: R x days is
    exact, so only the final division is inexact (34 digits), then rounded half-up by money.
    Regular rows: principal = amount - interest for an annuity (never below 0), else amount; never
    more than the outstanding balance.  The last row takes the whole remaining balance.
    """
    new = tuple.__new__
    row_type = Installment
    zero = _ZERO
    d365 = _D365
    rounding = to_dong
    n = len(dates)
    declining = R is not None and R != 0
    if declining:  # R x actual days of each period, exact
        if days.count(days[-1]) == n:  # weekly family without first_due_on: one period length
            factors = [R * days[-1]] * n
        else:
            by_days = {d: R * d for d in set(days)}
            factors = [by_days[d] for d in days]
    else:
        factors = [zero] * n
    rows = []
    append = rows.append
    out = P
    interest = flat_interest
    # grace: interest only
    for number, due_on, factor in zip(range(1, g + 1), dates, factors, strict=False):  # the first g
        if declining:
            interest = rounding(out * factor / d365)
        append(new(row_type, (number, due_on, zero, interest, interest, savings, out)))
    # regular rows
    regular = zip(range(g + 1, n), dates[g : n - 1], factors[g : n - 1], strict=True)
    if annuity and declining:
        for number, due_on, factor in regular:
            interest = rounding(out * factor / d365)
            principal = amount - interest
            if principal < zero:  # interest above the installment: no principal this time
                principal = zero
                total = interest
            elif principal > out:  # large multiple on a small principal: stop at the balance
                principal = out
                total = out + interest
            else:
                total = amount
            out = out - principal
            append(new(row_type, (number, due_on, principal, interest, total, savings, out)))
    elif declining:  # equal principal
        for number, due_on, factor in regular:
            interest = rounding(out * factor / d365)
            principal = amount if amount <= out else out
            out = out - principal
            append(new(row_type, (number, due_on, principal, interest, principal + interest, savings, out)))
    else:  # flat, or a zero rate (then interest is zero and an annuity's A is P / (n - g))
        for number, due_on in zip(range(g + 1, n), dates[g : n - 1], strict=True):
            principal = amount if amount <= out else out
            out = out - principal
            append(new(row_type, (number, due_on, principal, interest, principal + interest, savings, out)))
    # last row: the whole remaining balance
    if declining:
        interest = rounding(out * factors[n - 1] / d365)
    append(new(row_type, (n, dates[n - 1], out, interest, out + interest, savings, zero)))
    return tuple(rows)


def reamortize(
    *,
    outstanding: Decimal,
    terms_like: ScheduleTerms,
    start_on: date,
    installments: int,
    first_due_on: date | None = None,
    grace: int = 0,
) -> Schedule:
    """Re-amortise a remaining principal with the conventions of ``terms_like``.

    Used for a prepayment that reduces the installment and for restructuring.  The new schedule
    has principal ``outstanding``, interest runs from ``start_on`` (its "disbursement"), and it keeps
    terms_like's rate, method, frequency, multiple and savings rate (pass a modified terms_like
    to change them).  Not carried over, because they belong to the original loan's start:
    the upfront fee (none is charged again) and the principal grace (``grace``, default 0; pass
    it for a restructuring grace).  Compulsory savings stay computed on the original loan amount
    (``savings_base``).  Monthly dates: when ``first_due_on`` lies on terms_like's anchor day
    (e.g. Feb 28 for an anchor-31 loan) the later dates keep that anchor (Mar 31); otherwise they
    follow first_due_on (DOMAIN.md rule).
    """
    anchor_day = None
    if terms_like.frequency == "monthly" and first_due_on is not None:
        _check_date("first_due_on", first_due_on)
        if terms_like.anchor_day is not None:
            old_anchor = terms_like.anchor_day
        else:
            old_anchor = (terms_like.first_due_on or terms_like.disbursed_on).day
        if old_anchor != first_due_on.day and first_due_on.day == min(old_anchor, _month_length(first_due_on.year, first_due_on.month)):
            anchor_day = old_anchor
    savings_base = terms_like.savings_base
    if savings_base is None:
        savings_base = terms_like.principal
    terms = replace(
        terms_like,
        principal=outstanding,
        disbursed_on=start_on,
        installments=installments,
        first_due_on=first_due_on,
        grace=grace,
        upfront_fee_rate=_ZERO,
        savings_base=savings_base,
        anchor_day=anchor_day,
    )
    return build_schedule(terms)


# --------------------------------------------------------------------------------------------
# APR / EIR (MFTransparency)
# --------------------------------------------------------------------------------------------


def _npv(backwards: list[Decimal], v: Decimal) -> Decimal:
    """f(v) = sum flow_k v^k by Horner; ``backwards`` lists the flows last first."""
    value = _ZERO
    for cf in backwards:
        value = value * v + cf
    return value


def price_disclosure(schedule: Schedule) -> Disclosure:
    """APR and EIR of a schedule, as percentages with two decimals (money.percent).

    Member's flows, one period apart by installment number: + (P - upfront fee) at period 0,
    - (installment total + savings deposit) at period k, + all savings returned with the last.
    The internal rate i per period solves sum_k flow_k v^k = 0 with v = 1 / (1 + i); it is found by
    bisection of v on [0, 1] (deterministic, 100 halvings: far below 0.005 %).  APR = i x p,
    EIR = (1 + i)^p - 1.

    Uniqueness: f(0) = P - fee > 0 and f(1) = -(fee + total interest) <= 0.  Every flow after the
    first is <= 0 except possibly the last (savings returned), so by Descartes' rule there are at
    most two positive roots and the one in (0, 1) is unique when f(1) < 0.  When f(1) == 0 (no
    interest, no fee), i = 0 unless the savings are so large that f'(1) > 0, in which case the
    bisection returns the interior root, the limit of the rate as the interest tends to zero.
    """
    terms = schedule.terms
    p = PERIODS_PER_YEAR[terms.frequency]
    rows = schedule.installments
    with localcontext(_IRR_CTX):
        flows = [Decimal(terms.principal) - schedule.upfront_fee]
        flows.extend(-(row.total + row.savings) for row in rows)
        flows[-1] += sum((row.savings for row in rows), _ZERO)
        backwards = flows[::-1]
        at_one = sum(flows)  # f(1)
        slope_at_one = sum(k * cf for k, cf in enumerate(flows))  # f'(1)
        if at_one == 0 and slope_at_one <= 0:
            i = _ZERO
        else:
            lo, hi = _ZERO, _ONE  # invariant: f(lo) > 0 >= f(hi)
            for _ in range(_IRR_STEPS):
                mid = (lo + hi) / 2
                if _npv(backwards, mid) > 0:
                    lo = mid
                else:
                    hi = mid
            i = 2 / (lo + hi) - 1
        apr = i * p
        eir = (1 + i) ** p - 1
        return Disclosure(percent(apr), percent(eir))
