"""Repayment schedules (repayments/schedule.py): DOMAIN.md "Schedule conventions".

Pure unit tests (no Django).  Three layers:

1. an independent reference implementation written straight from DOMAIN.md with exact rational
   arithmetic (fractions.Fraction, calendar.monthrange) that the module must match to the đồng on
   every generated case;
2. the properties the conventions imply (sums, signs, rounding, dates, interest, APR/EIR);
3. worked examples with the arithmetic shown, and the validation / edge cases.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Context, Decimal, localcontext
from fractions import Fraction

import numpy_financial as npf
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from loanfund.money import to_dong, to_multiple
from repayments.schedule import (
    FREQUENCIES,
    METHODS,
    PERIODS_PER_YEAR,
    Disclosure,
    Installment,
    Schedule,
    ScheduleTerms,
    build_schedule,
    due_dates,
    price_disclosure,
    reamortize,
)

D = Decimal
STEP_DAYS = {"weekly": 7, "biweekly": 14, "fourweekly": 28}
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------
# Independent reference: DOMAIN.md, exact rationals, no code shared with the module
# ---------------------------------------------------------------------------------------------


def half_up(x: Fraction, multiple: int = 1) -> int:
    """Exact half-up of a non-negative rational to a multiple."""
    assert x >= 0
    return math.floor(x / multiple + Fraction(1, 2)) * multiple


def ref_due_dates(frequency: str, d0: date, n: int, first: date | None) -> list[date]:
    if frequency in STEP_DAYS:
        step = STEP_DAYS[frequency]
        start = d0 + timedelta(days=step) if first is None else first
        return [start + timedelta(days=step * k) for k in range(n)]
    base, k0 = (d0, 1) if first is None else (first, 0)
    out = []
    for k in range(k0, k0 + n):
        y = base.year + (base.month - 1 + k) // 12
        mth = (base.month - 1 + k) % 12 + 1
        out.append(date(y, mth, min(base.day, calendar.monthrange(y, mth)[1])))
    return out


def ref_annuity(P: int, R: Fraction, p: int, k: int, m: int) -> int:
    if R == 0:
        return half_up(Fraction(P, k), m)
    r = R / p
    return half_up(P * r / (1 - (1 + r) ** -k), m)


def ref_schedule(t: ScheduleTerms) -> list[tuple]:
    P, R, n, g, m = int(t.principal), Fraction(t.annual_rate), t.installments, t.grace, t.multiple
    p = PERIODS_PER_YEAR[t.frequency]
    k = n - g
    A = ref_annuity(P, R, p, k, m)
    c = half_up(Fraction(P, k), m)
    savings = half_up(P * Fraction(t.savings_rate))
    out, prev, rows = P, t.disbursed_on, []
    for i, due in enumerate(ref_due_dates(t.frequency, t.disbursed_on, n, t.first_due_on), 1):
        days = (due - prev).days
        prev = due
        interest = half_up(P * R / p) if t.method == "flat" else half_up(out * R * days / 365)
        if i <= g:
            principal = 0
        elif i == n:
            principal = out
        elif t.method == "annuity":
            principal = min(max(A - interest, 0), out)
        else:
            principal = min(c, out)
        out -= principal
        rows.append((i, due, principal, interest, principal + interest, savings, out))
    return rows


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------


@st.composite
def disbursement_dates(draw) -> date:
    if draw(st.booleans()):  # month ends: 28th-31st, clamped anchors
        y, mth = draw(st.integers(2000, 2090)), draw(st.integers(1, 12))
        return date(y, mth, min(draw(st.integers(28, 31)), calendar.monthrange(y, mth)[1]))
    return draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))


rates = st.integers(0, 3000).map(lambda bps: D(bps).scaleb(-4))  # 0.00 % .. 30.00 %, 0.01 % steps
principals = st.integers(1_000_000, 50_000_000).map(D)


@st.composite
def terms_st(draw, methods=METHODS, frequencies=FREQUENCIES, first_due=True, extras=False) -> ScheduleTerms:
    frequency = draw(st.sampled_from(frequencies))
    n = draw(st.integers(1, 156))
    grace = draw(st.one_of(st.just(0), st.integers(0, n - 1)))
    d0 = draw(disbursement_dates())
    first = None
    if first_due and draw(st.booleans()):
        longest = 31 if frequency == "monthly" else STEP_DAYS[frequency]
        first = d0 + timedelta(days=draw(st.integers(1, 2 * longest)))  # shorter or longer first period
    return ScheduleTerms(
        principal=draw(principals),
        annual_rate=draw(rates),
        installments=n,
        frequency=frequency,
        method=draw(st.sampled_from(methods)),
        disbursed_on=d0,
        first_due_on=first,
        grace=grace,
        multiple=draw(st.sampled_from((1, 100, 1000))),
        savings_rate=draw(st.integers(0, 100).map(lambda b: D(b).scaleb(-4))) if extras else D(0),
        upfront_fee_rate=draw(st.integers(0, 500).map(lambda b: D(b).scaleb(-4))) if extras else D(0),
    )


def period_days(s: Schedule) -> list[int]:
    prev, out = s.terms.disbursed_on, []
    for row in s.installments:
        out.append((row.due_on - prev).days)
        prev = row.due_on
    return out


# ---------------------------------------------------------------------------------------------
# 1. The module agrees with the exact reference to the đồng
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(terms_st(extras=True))
def test_matches_exact_reference(terms):
    schedule = build_schedule(terms)
    assert [tuple(row) for row in schedule.installments] == ref_schedule(terms)
    assert schedule.upfront_fee == half_up(int(terms.principal) * Fraction(terms.upfront_fee_rate))


# ---------------------------------------------------------------------------------------------
# 2. Properties
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(terms_st(extras=True))
def test_amounts_sum_and_signs(terms):
    s = build_schedule(terms)
    rows = s.installments
    P = terms.principal
    assert len(rows) == terms.installments
    assert [r.number for r in rows] == list(range(1, terms.installments + 1))
    assert all(isinstance(r, Installment) for r in rows)
    # every amount a non-negative whole đồng Decimal (plain digits, no exponent)
    for r in rows:
        for amount in (r.principal, r.interest, r.total, r.savings, r.outstanding_after):
            assert type(amount) is Decimal
            assert amount >= 0
            assert amount.as_tuple().exponent == 0
    # principal sums exactly to P, the balance runs down to 0, totals add up
    assert sum(r.principal for r in rows) == P
    assert s.total_principal == P
    assert rows[-1].outstanding_after == 0
    before = P
    for r in rows:
        assert r.outstanding_after == before - r.principal
        assert r.total == r.principal + r.interest
        before = r.outstanding_after
    # grace: interest only
    assert all(r.principal == 0 for r in rows[: terms.grace])
    # savings: the same P x rate each installment; fee P x rate
    assert {r.savings for r in rows} == {to_dong(P * terms.savings_rate)}
    assert s.upfront_fee == to_dong(P * terms.upfront_fee_rate)
    assert s.total_interest == sum(r.interest for r in rows)
    assert s.total_savings == sum(r.savings for r in rows)
    assert s.total_payable == s.total_principal + s.total_interest
    assert s.total_collected == s.total_payable + s.total_savings


@SETTINGS
@given(terms_st())
def test_regular_installments_equal_the_rounded_amount(terms):
    """Annuity: every non-grace, non-last row whose principal was not clipped totals exactly A.
    Flat and equal principal: such rows repay exactly P / (n - g) rounded to m.  A row is clipped
    only when the interest exceeds A (principal 0) or the balance is smaller than the regular
    principal (principal = the balance, after which the balance is 0)."""
    s = build_schedule(terms)
    P, n, g, m = terms.principal, terms.installments, terms.grace, terms.multiple
    R, p = terms.annual_rate, PERIODS_PER_YEAR[terms.frequency]
    A = ref_annuity(int(P), Fraction(R), p, n - g, m)  # the exact formula, rounded half-up to m
    c = to_multiple(P / (n - g), m)
    assert A % m == 0 and c % m == 0
    before = P
    for r in s.installments[g : n - 1]:
        if terms.method == "annuity":
            if r.interest <= A and A - r.interest <= before:
                assert r.total == A
                assert r.principal == A - r.interest
            elif r.interest > A:
                assert r.principal == 0
            else:
                assert r.principal == before and r.outstanding_after == 0
        else:
            if c <= before:
                assert r.principal == c
            else:
                assert r.principal == before and r.outstanding_after == 0
        before = r.outstanding_after


@SETTINGS
@given(terms_st(methods=("flat",)))
def test_flat_interest_is_the_same_every_period(terms):
    s = build_schedule(terms)
    expected = to_dong(terms.principal * terms.annual_rate / PERIODS_PER_YEAR[terms.frequency])
    assert {r.interest for r in s.installments} == {expected}  # grace rows included


@SETTINGS
@given(terms_st(methods=("annuity", "equal_principal")))
def test_declining_interest_is_on_actual_days(terms):
    s = build_schedule(terms)
    before = terms.principal
    for r, days in zip(s.installments, period_days(s), strict=True):
        assert r.interest == to_dong(before * terms.annual_rate * days / 365)
        before = r.outstanding_after


@SETTINGS
@given(terms_st())
def test_due_dates_follow_the_rule(terms):
    s = build_schedule(terms)
    dates = [r.due_on for r in s.installments]
    assert dates == due_dates(terms.frequency, terms.disbursed_on, terms.installments, terms.first_due_on)
    assert all(a < b for a, b in zip([terms.disbursed_on] + dates, dates, strict=False))  # strictly increasing
    if terms.first_due_on is not None:
        assert dates[0] == terms.first_due_on
    if terms.frequency in STEP_DAYS:
        step = STEP_DAYS[terms.frequency]
        assert all((b - a).days == step for a, b in zip(dates, dates[1:], strict=False))
        if terms.first_due_on is None:
            assert (dates[0] - terms.disbursed_on).days == step
    else:
        anchor = (terms.first_due_on or terms.disbursed_on).day
        months = [d.year * 12 + d.month for d in [terms.disbursed_on] + dates]
        if terms.first_due_on is None:
            assert all(b - a == 1 for a, b in zip(months, months[1:], strict=False))
        else:
            assert all(b - a == 1 for a, b in zip(months[1:], months[2:], strict=False))
        assert all(d.day == min(anchor, calendar.monthrange(d.year, d.month)[1]) for d in dates)


# --- declining balance never charges more than flat ---------------------------------------------
#
# Precondition, and why (x = P·R/365, the interest of one day on the whole principal; p periods a year):
#
# (a) The first period is not longer than a regular one (no first_due_on, or one no later than the
#     rule's first date).  Flat interest is P·R/p per installment whatever the period's length,
#     while declining interest covers actual days: a longer first period adds full-principal days
#     that flat never charges.  test_exclusion_long_first_period shows a short loan where it wins.
# (b) Periods of at most 365/p days need nothing else: weekly, biweekly and fourweekly periods are
#     7·52 = 14·26 = 28·13 = 364 < 365 days a year, and monthly ones of 28-30 days are < 365/12.
#     Then for every period outstanding·R·days/365 <= P·R/p, and half-up rounding is monotone, so
#     each declining installment's interest is <= the flat one's.  So every weekly-family schedule
#     qualifies, and so does a monthly one without a 31-day period.
# (c) A monthly bullet (n - g = 1: the whole principal outstanding until the last installment) with
#     a 31-day period is excluded: 31/365 > 1/12 and nothing amortises to compensate (n = 1 over a
#     31-day month, or e.g. one grace month + one month over Jul-Aug); with rounding, even a window
#     whose days total less than n·365/12 can lose by a đồng (test_exclusion_monthly_bullet).
# (d) A monthly amortising schedule (n - g >= 2) qualifies when 7·P·R >= 365·n, i.e. x >= n / 7.
#     Exact margin flat - declining = x·[n·365/12 - total days + Σ (1 - O_k-1 / P)·days_k].  The
#     n calendar months hold at most n·365/12 + 6.1 days (<= 2.08 from the Jul-Jan run of 31-day
#     months, <= 4 leap days in 13 years); the last period (>= 28 days) runs on at most 51 % of P
#     (n - g = 2 at R = 30 % is the worst: A - interest >= 0.4928 P, multiple 1,000 on P >= 1 M
#     included), so amortisation saves >= 13.8 days: margin >= 7.7·x.  Rounding moves each of the
#     2n interest amounts by <= ½ đồng, n đồng in all, and 7.7·x >= 1.1·n > n.  Below that, tiny
#     rates over long grace can lose by rounding alone: flat rounds P·R/12 (say 54.48 -> 54) down
#     every month while 31-day months round up (test_exclusion_rounding_at_tiny_rates).
#     This bound is sufficient, not the exact boundary (which depends on each schedule's
#     roundings): at x = n / 7 the observed margins are still about 0.9·n đồng.


def declining_not_above_flat_precondition(terms: ScheduleTerms, days: list[int]) -> bool:
    p = PERIODS_PER_YEAR[terms.frequency]
    regular_first = due_dates(terms.frequency, terms.disbursed_on, 1)[0]
    if terms.first_due_on is not None and terms.first_due_on > regular_first:
        return False  # (a)
    if all(d * p <= 365 for d in days):
        return True  # (b)
    if terms.installments - terms.grace == 1:
        return False  # (c)
    return 7 * terms.principal * terms.annual_rate >= 365 * terms.installments  # (d)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(terms_st(methods=("flat",)))
def test_declining_interest_never_exceeds_flat(terms):
    flat = build_schedule(terms)
    assume(declining_not_above_flat_precondition(terms, period_days(flat)))
    for method in ("annuity", "equal_principal"):
        declining = build_schedule(replace(terms, method=method))
        assert declining.total_interest <= flat.total_interest
        if terms.frequency in STEP_DAYS:  # (b) holds period by period
            assert all(a.interest <= b.interest for a, b in zip(declining.installments, flat.installments, strict=True))


def _interest(method, **kw) -> Decimal:
    return build_schedule(ScheduleTerms(method=method, **kw)).total_interest


def test_exclusion_monthly_bullet():
    # (c) n = 1 over January (31 days): 12,000,000 x 0.12 x 31 / 365 = 122,301.37 -> 122,301
    #     against flat 12,000,000 x 0.12 / 12 = 120,000.
    kw = dict(principal=D(12_000_000), annual_rate=D("0.12"), installments=1, frequency="monthly", disbursed_on=date(2025, 1, 1))
    assert _interest("annuity", **kw) == 122_301 > _interest("flat", **kw) == 120_000
    # n = 2 with one grace month over Jul-Aug (31 + 31 days): 2 x 122,301 = 244,602 > 2 x 120,000.
    kw.update(installments=2, grace=1, disbursed_on=date(2025, 7, 1))
    assert _interest("equal_principal", **kw) == 244_602 > _interest("flat", **kw) == 240_000
    # Jan 31 -> Feb 28 -> Mar 31 (28 + 31 = 59 < 2 x 365/12 days) still loses by rounding:
    # 1,018,715 x 0.0001 = 101.8715 a year; x 28/365 = 7.81 -> 8; x 31/365 = 8.65 -> 9; total 17,
    # flat 101.8715 / 12 = 8.49 -> 8 twice = 16.
    kw.update(principal=D(1_018_715), annual_rate=D("0.0001"), disbursed_on=date(2025, 1, 31))
    assert _interest("annuity", **kw) == 17 > _interest("flat", **kw) == 16


def test_exclusion_long_first_period():
    # (a) monthly, 2 installments, first due 59 days after disbursement (Jan 1 -> Mar 1 -> Apr 1):
    # equal principal: 10,000,000 x 0.12 x 59 / 365 = 193,972.60 -> 193,973, then
    # 5,000,000 x 0.12 x 31 / 365 = 50,958.90 -> 50,959: 244,932 > flat 2 x 100,000.
    kw = dict(
        principal=D(10_000_000),
        annual_rate=D("0.12"),
        installments=2,
        frequency="monthly",
        disbursed_on=date(2025, 1, 1),
        first_due_on=date(2025, 3, 1),
    )
    assert _interest("equal_principal", **kw) == 244_932 > _interest("flat", **kw) == 200_000
    # weekly too: a 14-day first period on a 2-week loan
    kw.update(frequency="weekly", first_due_on=date(2025, 1, 15))
    assert _interest("equal_principal", **kw) > _interest("flat", **kw)


def test_exclusion_rounding_at_tiny_rates():
    # (d) 0.06 %/year, 59 grace months then 2: flat 1,089,698 x 0.0006 / 12 = 54.48 -> 54 every
    # month (61 x 54 = 3,294); declining rounds 31-day months 55.53 -> 56 and 30-day 53.74 -> 54, so
    # the grace alone outweighs what amortisation saves.  7·P·R = 4,577 < 365·61 = 22,265.
    kw = dict(
        principal=D(1_089_698),
        annual_rate=D("0.0006"),
        installments=61,
        grace=59,
        frequency="monthly",
        disbursed_on=date(2027, 3, 16),
        multiple=1000,
    )
    assert _interest("flat", **kw) == 3_294
    assert _interest("annuity", **kw) == _interest("equal_principal", **kw) == 3_322


# --- APR / EIR ------------------------------------------------------------------------------------


def float_irr_apr(s: Schedule) -> float:
    """Independent oracle: numpy-financial's IRR on the same flows (float, tests only)."""
    flows = [float(s.terms.principal - s.upfront_fee)] + [-float(r.total + r.savings) for r in s.installments]
    flows[-1] += float(s.total_savings)
    return npf.irr(flows) * PERIODS_PER_YEAR[s.terms.frequency] * 100


@settings(max_examples=150, deadline=None)
@given(terms_st(methods=("annuity", "equal_principal"), frequencies=("weekly", "biweekly", "fourweekly"), first_due=False))
def test_apr_of_plain_declining_loan_is_the_nominal_rate(terms):
    """No fee, no savings, regular weekly-family periods: each period's interest is the balance x
    R x 7j/365, so the per-period rate is R·364/365/p and APR = R·364/365 (<= 0.082 point below
    R at 30 %), up to the đồng rounding of interest (< 0.006 point for P >= 1 M) and the 2-decimal
    display (0.005)."""
    apr = price_disclosure(build_schedule(terms)).apr
    exact = 100 * terms.annual_rate * 364 / 365
    assert abs(apr - exact) <= D("0.015")
    assert abs(apr - 100 * terms.annual_rate) <= D("0.1")


@settings(max_examples=150, deadline=None)
@given(terms_st(methods=("annuity", "equal_principal")))
def test_apr_lies_within_the_period_rates(terms):
    """Each period charges R·days/365 on the balance, so the internal rate per period lies between
    the smallest and the largest R·days/365 of the schedule (monthly: 28..31 days; a first_due_on
    period counts as one period by installment number)."""
    s = build_schedule(terms)
    days = period_days(s)
    p = PERIODS_PER_YEAR[terms.frequency]
    apr = price_disclosure(s).apr
    tol = D("0.015")
    assert 100 * terms.annual_rate * p * min(days) / 365 - tol <= apr <= 100 * terms.annual_rate * p * max(days) / 365 + tol


@settings(max_examples=150, deadline=None)
@given(terms_st(extras=True))
def test_savings_and_fees_never_lower_the_apr(terms):
    """A fee lowers what the member gets; savings deposits returned at the end without interest
    are money the member pays early and gets back late: both raise (never lower) the rate."""
    with_extras = price_disclosure(build_schedule(terms))
    plain = price_disclosure(build_schedule(replace(terms, savings_rate=D(0), upfront_fee_rate=D(0))))
    assert with_extras.apr >= plain.apr
    assert with_extras.eir >= plain.eir


@settings(max_examples=100, deadline=None)
@given(terms_st(extras=True))
def test_apr_matches_a_float_irr_oracle(terms):
    s = build_schedule(terms)
    # With savings returned larger than the last payment the flows change sign twice and have two
    # internal rates (one negative); numpy-financial then picks the one nearest 0, we the one >= 0.
    assume(s.installments[-1].total + s.installments[-1].savings >= s.total_savings)
    disclosure = price_disclosure(s)
    oracle = float_irr_apr(s)
    assert abs(float(disclosure.apr) - oracle) <= 0.0051 + 1e-9
    i = oracle / 100 / PERIODS_PER_YEAR[terms.frequency]
    eir = ((1 + i) ** PERIODS_PER_YEAR[terms.frequency] - 1) * 100
    assert abs(float(disclosure.eir) - eir) <= 0.0051 + 1e-6


def test_disclosure_of_a_zero_rate_loan_is_zero():
    for method in METHODS:
        s = build_schedule(ScheduleTerms(D(5_000_000), D(0), 10, "weekly", method, date(2025, 1, 6)))
        assert price_disclosure(s) == Disclosure(D("0.00"), D("0.00"))
        assert str(price_disclosure(s).apr) == "0.00"


def test_disclosure_with_savings_on_a_zero_rate_loan():
    # Deposits of 1 % a week returned at the end, no interest and no fee: the member pays nothing
    # in total, so the rate is 0 (v = 1 is the root and f'(1) < 0: no other root in (0, 1)).
    s = build_schedule(ScheduleTerms(D(5_000_000), D(0), 10, "weekly", "flat", date(2025, 1, 6), savings_rate=D("0.01")))
    assert price_disclosure(s) == Disclosure(D("0.00"), D("0.00"))


def test_disclosure_is_continuous_at_zero_rate_with_outsized_savings():
    # Deposits of 20 % of the loan a week (2,000,000 in all, returned in week 10) on 1,000,000 at
    # 0 %: the last flow is positive and f'(1) = sum k·flow_k > 0, so besides v = 1 there is a root
    # in (0, 1).  The member does pay for the money locked in savings: the rate is the interior root
    # (820.10 %), the limit of the rate as R -> 0+ (820.13 % at R = 0.01 %), not 0.
    kw = dict(
        principal=D(1_000_000), installments=10, frequency="weekly", method="flat", disbursed_on=date(2025, 1, 6), savings_rate=D("0.2")
    )
    at_zero = price_disclosure(build_schedule(ScheduleTerms(annual_rate=D(0), **kw)))
    nearby = price_disclosure(build_schedule(ScheduleTerms(annual_rate=D("0.0001"), **kw)))
    assert at_zero.apr == D("820.10")
    assert D(0) < nearby.apr - at_zero.apr < D("0.1")


# ---------------------------------------------------------------------------------------------
# 3. Worked examples (arithmetic by hand in the comments)
# ---------------------------------------------------------------------------------------------


def rows_of(s: Schedule) -> list[tuple]:
    return [tuple(r) for r in s.installments]


def test_example_monthly_annuity_disbursed_on_january_31():
    # P = 12,000,000, R = 7.2 % (0.6 %/month), 12 monthly installments, multiple 1,000, d0 2024-01-31.
    # Dates: anchor 31 clamped: 2024-02-29 (leap year), 03-31, 04-30, 05-31, 06-30, 07-31, 08-31,
    # 09-30, 10-31, 11-30, 12-31, 2025-01-31.
    # r = 0.072 / 12 = 0.006;  1.006^12 = 1.0744241677;  1.006^-12 = 0.9307311116;
    # A = 12,000,000 x 0.006 / (1 - 0.9307311116) = 72,000 / 0.0692688884 = 1,039,427.68 -> 1,039,000.
    # interest = outstanding x 0.072 x days / 365, half-up; principal = A - interest:
    #  1  02-29  29 d: 12,000,000 x 0.072 x 29 / 365 = 25,056,000 / 365 = 68,646.58 -> 68,647;
    #                  principal 1,039,000 - 68,647 = 970,353;   left 11,029,647
    #  2  03-31  31 d: 11,029,647 x 0.072 x 31 / 365 = 67,447.05 -> 67,447;  principal 971,553;  left 10,058,094
    #  3  04-30  30 d: 10,058,094 x 0.072 x 30 / 365 = 59,521.87 -> 59,522;  principal 979,478;  left 9,078,616
    #  4  05-31  31 d:  9,078,616 x 0.072 x 31 / 365 = 55,516.36 -> 55,516;  principal 983,484;  left 8,095,132
    #  5  06-30  30 d:  8,095,132 x 0.072 x 30 / 365 = 47,905.44 -> 47,905;  principal 991,095;  left 7,104,037
    #  6  07-31  31 d:  7,104,037 x 0.072 x 31 / 365 = 43,441.67 -> 43,442;  principal 995,558;  left 6,108,479
    #  7  08-31  31 d:  6,108,479 x 0.072 x 31 / 365 = 37,353.77 -> 37,354;  principal 1,001,646; left 5,106,833
    #  8  09-30  30 d:  5,106,833 x 0.072 x 30 / 365 = 30,221.26 -> 30,221;  principal 1,008,779; left 4,098,054
    #  9  10-31  31 d:  4,098,054 x 0.072 x 31 / 365 = 25,059.88 -> 25,060;  principal 1,013,940; left 3,084,114
    # 10  11-30  30 d:  3,084,114 x 0.072 x 30 / 365 = 18,251.20 -> 18,251;  principal 1,020,749; left 2,063,365
    # 11  12-31  31 d:  2,063,365 x 0.072 x 31 / 365 = 12,617.62 -> 12,618;  principal 1,026,382; left 1,036,983
    # 12  01-31  31 d:  1,036,983 x 0.072 x 31 / 365 =  6,341.22 ->  6,341;  last: principal = all 1,036,983,
    #                  total 1,036,983 + 6,341 = 1,043,324.
    # Total interest 68,647 + 67,447 + ... + 6,341 = 472,324.
    s = build_schedule(ScheduleTerms(D(12_000_000), D("0.072"), 12, "monthly", "annuity", date(2024, 1, 31), multiple=1000))
    assert rows_of(s) == [
        (1, date(2024, 2, 29), 970_353, 68_647, 1_039_000, 0, 11_029_647),
        (2, date(2024, 3, 31), 971_553, 67_447, 1_039_000, 0, 10_058_094),
        (3, date(2024, 4, 30), 979_478, 59_522, 1_039_000, 0, 9_078_616),
        (4, date(2024, 5, 31), 983_484, 55_516, 1_039_000, 0, 8_095_132),
        (5, date(2024, 6, 30), 991_095, 47_905, 1_039_000, 0, 7_104_037),
        (6, date(2024, 7, 31), 995_558, 43_442, 1_039_000, 0, 6_108_479),
        (7, date(2024, 8, 31), 1_001_646, 37_354, 1_039_000, 0, 5_106_833),
        (8, date(2024, 9, 30), 1_008_779, 30_221, 1_039_000, 0, 4_098_054),
        (9, date(2024, 10, 31), 1_013_940, 25_060, 1_039_000, 0, 3_084_114),
        (10, date(2024, 11, 30), 1_020_749, 18_251, 1_039_000, 0, 2_063_365),
        (11, date(2024, 12, 31), 1_026_382, 12_618, 1_039_000, 0, 1_036_983),
        (12, date(2025, 1, 31), 1_036_983, 6_341, 1_043_324, 0, 0),
    ]
    assert s.total_interest == 472_324
    # APR: per-period rates 0.072 x 28..31 / 365; the loan's average month is 30.5 days in 2024,
    # so APR ~ 7.2 x 30.5 x 12 / 365 = 7.22 weighted to the early (shorter Feb) months -> 7.19.
    assert price_disclosure(s) == Disclosure(D("7.19"), D("7.43"))
    assert abs(float(price_disclosure(s).apr) - float_irr_apr(s)) < 0.005


def test_example_weekly_flat_with_compulsory_savings_cep_style():
    # CEP style: 10,000,000 at a flat 0.6 % per 4 weeks = 0.6 % x 13 = 7.8 %/year, 52 weekly
    # installments, multiple 1,000, compulsory savings 0.25 % of the loan per week.
    # Interest each week: 10,000,000 x 0.078 / 52 = 780,000 / 52 = 15,000 (exact).
    # Principal: 10,000,000 / 52 = 192,307.69 -> 192,000;  the last: 10,000,000 - 51 x 192,000 = 208,000.
    # Installment 192,000 + 15,000 = 207,000 (last 208,000 + 15,000 = 223,000);
    # savings 10,000,000 x 0.0025 = 25,000 a week, so the member brings 232,000 a week (248,000 last).
    # Dates: d0 Monday 2025-03-03, then every Monday: 03-10, 03-17, ..., 2026-03-02 (d0 + 364 days).
    # Total interest 52 x 15,000 = 780,000; savings 52 x 25,000 = 1,300,000 returned at payoff.
    s = build_schedule(
        ScheduleTerms(D(10_000_000), D("0.078"), 52, "weekly", "flat", date(2025, 3, 3), multiple=1000, savings_rate=D("0.0025"))
    )
    rows = s.installments
    assert all(
        r[1:] == (date(2025, 3, 3) + timedelta(weeks=r.number), 192_000, 15_000, 207_000, 25_000, 10_000_000 - 192_000 * r.number)
        for r in rows[:51]
    )
    assert tuple(rows[-1]) == (52, date(2026, 3, 2), 208_000, 15_000, 223_000, 25_000, 0)
    assert (s.total_interest, s.total_savings, s.total_payable, s.total_collected) == (780_000, 1_300_000, 10_780_000, 12_080_000)
    # APR/EIR (member gets 10,000,000, pays 232,000 a week, 248,000 - 1,300,000 back in week 52):
    # a flat 7.8 % on the original principal is ~ 2 x 7.8 on the declining balance, and the savings
    # add more: 16.87 % APR, 18.34 % EIR (numpy-financial agrees).
    d = price_disclosure(s)
    assert d == Disclosure(D("16.87"), D("18.34"))
    assert abs(float(d.apr) - float_irr_apr(s)) < 0.005
    # Without savings the same loan is cheaper: 14.52 % (flat 7.8 % ~ 2 x declining, minus day count).
    plain = price_disclosure(build_schedule(replace(s.terms, savings_rate=D(0))))
    assert d.apr > plain.apr
    assert abs(float(plain.apr) - float_irr_apr(build_schedule(replace(s.terms, savings_rate=D(0))))) < 0.005


def test_example_equal_principal_with_two_grace_installments_multiple_1000():
    # P = 10,000,000, R = 9 %, 8 monthly installments, 2 of them principal grace, multiple 1,000,
    # d0 2025-01-15: dates the 15th, Feb .. Sep.  Principal 10,000,000 / (8 - 2) = 1,666,666.67 ->
    # 1,667,000 on installments 3..7, the last 10,000,000 - 5 x 1,667,000 = 1,665,000.
    #  1  02-15  31 d: 10,000,000 x 0.09 x 31 / 365 = 27,900,000 / 365 = 76,438.36 -> 76,438  (grace)
    #  2  03-15  28 d: 10,000,000 x 0.09 x 28 / 365 = 25,200,000 / 365 = 69,041.10 -> 69,041  (grace)
    #  3  04-15  31 d: 10,000,000 x 0.09 x 31 / 365 = 76,438.36 -> 76,438;  left 8,333,000
    #  4  05-15  30 d:  8,333,000 x 0.09 x 30 / 365 = 22,499,100 / 365 = 61,641.37 -> 61,641;  left 6,666,000
    #  5  06-15  31 d:  6,666,000 x 0.09 x 31 / 365 = 18,598,140 / 365 = 50,953.81 -> 50,954;  left 4,999,000
    #  6  07-15  30 d:  4,999,000 x 0.09 x 30 / 365 = 13,497,300 / 365 = 36,978.90 -> 36,979;  left 3,332,000
    #  7  08-15  31 d:  3,332,000 x 0.09 x 31 / 365 =  9,296,280 / 365 = 25,469.26 -> 25,469;  left 1,665,000
    #  8  09-15  31 d:  1,665,000 x 0.09 x 31 / 365 =  4,645,350 / 365 = 12,726.99 -> 12,727;  left 0
    s = build_schedule(ScheduleTerms(D(10_000_000), D("0.09"), 8, "monthly", "equal_principal", date(2025, 1, 15), grace=2, multiple=1000))
    assert rows_of(s) == [
        (1, date(2025, 2, 15), 0, 76_438, 76_438, 0, 10_000_000),
        (2, date(2025, 3, 15), 0, 69_041, 69_041, 0, 10_000_000),
        (3, date(2025, 4, 15), 1_667_000, 76_438, 1_743_438, 0, 8_333_000),
        (4, date(2025, 5, 15), 1_667_000, 61_641, 1_728_641, 0, 6_666_000),
        (5, date(2025, 6, 15), 1_667_000, 50_954, 1_717_954, 0, 4_999_000),
        (6, date(2025, 7, 15), 1_667_000, 36_979, 1_703_979, 0, 3_332_000),
        (7, date(2025, 8, 15), 1_667_000, 25_469, 1_692_469, 0, 1_665_000),
        (8, date(2025, 9, 15), 1_665_000, 12_727, 1_677_727, 0, 0),
    ]
    assert s.total_interest == 409_687


def test_example_zero_rate_loan():
    # 5,000,000 at 0 %, 3 monthly installments, multiple 1,000: principal 5,000,000 / 3 =
    # 1,666,666.67 -> 1,667,000, 1,667,000, last 5,000,000 - 3,334,000 = 1,666,000; no interest.
    # Annuity at a zero rate: A = P / (n - g) rounded, the same rows; flat and equal principal too.
    expected = [
        (1, date(2025, 2, 15), 1_667_000, 0, 1_667_000, 0, 3_333_000),
        (2, date(2025, 3, 15), 1_667_000, 0, 1_667_000, 0, 1_666_000),
        (3, date(2025, 4, 15), 1_666_000, 0, 1_666_000, 0, 0),
    ]
    for method in METHODS:
        s = build_schedule(ScheduleTerms(D(5_000_000), D(0), 3, "monthly", method, date(2025, 1, 15), multiple=1000))
        assert rows_of(s) == expected
        assert price_disclosure(s) == Disclosure(D("0.00"), D("0.00"))


def test_example_first_due_on():
    # 6,000,000 at 9 %, 6 monthly annuity installments, multiple 100, disbursed 2025-03-10, first
    # due 2025-04-25 (46 days); then the 25th of each month (anchor = first_due_on): May .. Sep 25.
    # r = 0.0075;  1.0075^6 = 1.0458522351;  1.0075^-6 = 0.9561580178;
    # A = 6,000,000 x 0.0075 / 0.0438419822 = 45,000 / 0.0438419822 = 1,026,413.44 -> 1,026,400.
    #  1  04-25  46 d: 6,000,000 x 0.09 x 46 / 365 = 24,840,000 / 365 = 68,054.79 -> 68,055;
    #                  principal 1,026,400 - 68,055 = 958,345;  left 5,041,655
    #  2  05-25  30 d: 5,041,655 x 0.09 x 30 / 365 = 37,294.43 -> 37,294;  principal 989,106;   left 4,052,549
    #  3  06-25  31 d: 4,052,549 x 0.09 x 31 / 365 = 30,977.02 -> 30,977;  principal 995,423;   left 3,057,126
    #  4  07-25  30 d: 3,057,126 x 0.09 x 30 / 365 = 22,614.36 -> 22,614;  principal 1,003,786; left 2,053,340
    #  5  08-25  31 d: 2,053,340 x 0.09 x 31 / 365 = 15,695.39 -> 15,695;  principal 1,010,705; left 1,042,635
    #  6  09-25  31 d: 1,042,635 x 0.09 x 31 / 365 =  7,969.73 ->  7,970;  last 1,042,635 + 7,970 = 1,050,605
    s = build_schedule(
        ScheduleTerms(D(6_000_000), D("0.09"), 6, "monthly", "annuity", date(2025, 3, 10), first_due_on=date(2025, 4, 25), multiple=100)
    )
    assert rows_of(s) == [
        (1, date(2025, 4, 25), 958_345, 68_055, 1_026_400, 0, 5_041_655),
        (2, date(2025, 5, 25), 989_106, 37_294, 1_026_400, 0, 4_052_549),
        (3, date(2025, 6, 25), 995_423, 30_977, 1_026_400, 0, 3_057_126),
        (4, date(2025, 7, 25), 1_003_786, 22_614, 1_026_400, 0, 2_053_340),
        (5, date(2025, 8, 25), 1_010_705, 15_695, 1_026_400, 0, 1_042_635),
        (6, date(2025, 9, 25), 1_042_635, 7_970, 1_050_605, 0, 0),
    ]
    # The long first period (46 days counted as one month) makes the APR exceed 9 %.
    assert price_disclosure(s).apr > 9


def test_example_flat_first_due_on_keeps_the_per_period_interest():
    # Flat interest is P x R / p per installment, first period long or short:
    # 2,000,000 x 0.078 / 52 = 3,000 each week, even for a 3-day first period.
    s = build_schedule(ScheduleTerms(D(2_000_000), D("0.078"), 4, "weekly", "flat", date(2025, 3, 3), first_due_on=date(2025, 3, 6)))
    assert [r.interest for r in s.installments] == [3_000] * 4
    assert [r.due_on for r in s.installments] == [date(2025, 3, 6), date(2025, 3, 13), date(2025, 3, 20), date(2025, 3, 27)]


def test_large_multiple_on_a_small_principal_never_overshoots():
    # P = 1,500, n = 3, multiple 1,000: 1,500 / 3 = 500 -> half-up 1,000; 1,000 x (3 - 1) > 1,500,
    # so installment 2 stops at the remaining 500 and the last gets 0 - never a negative balance.
    for method in METHODS:
        s = build_schedule(ScheduleTerms(D(1_500), D(0), 3, "monthly", method, date(2025, 1, 15), multiple=1000))
        assert [(r.principal, r.outstanding_after) for r in s.installments] == [(1_000, 500), (500, 0), (0, 0)]
    # annuity with interest: A = 1,500 x 0.01 / (1 - 1.01^-3) = 510.03 -> 1,000; row 1:
    # interest 1,500 x 0.12 x 31 / 365 = 15.29 -> 15, principal 985; row 2: interest 515 x 0.12 x 28
    # / 365 = 4.74 -> 5, principal capped at 515; row 3: nothing left.
    s = build_schedule(ScheduleTerms(D(1_500), D("0.12"), 3, "monthly", "annuity", date(2025, 1, 15), multiple=1000))
    assert rows_of(s) == [
        (1, date(2025, 2, 15), 985, 15, 1_000, 0, 515),
        (2, date(2025, 3, 15), 515, 5, 520, 0, 0),
        (3, date(2025, 4, 15), 0, 0, 0, 0, 0),
    ]


def test_annuity_row_whose_interest_exceeds_the_installment_repays_nothing():
    # 1,000,000 at 30 %, 120 monthly installments: r = 0.025,
    # A = 1,000,000 x 0.025 / (1 - 1.025^-120) = 25,000 / 0.948355 = 26,361.79 -> 26,362.
    # First due 60 days after disbursement (Jan 1 -> Mar 2): interest 1,000,000 x 0.3 x 60 / 365 =
    # 18,000,000 / 365 = 49,315.07 -> 49,315 > A: principal 0 (never below 0), total = interest.
    # Row 2 (31 days to Apr 2): 1,000,000 x 0.3 x 31 / 365 = 25,479.45 -> 25,479; principal
    # 26,362 - 25,479 = 883, total A again.
    s = build_schedule(ScheduleTerms(D(1_000_000), D("0.3"), 120, "monthly", "annuity", date(2025, 1, 1), first_due_on=date(2025, 3, 2)))
    assert s.installments[0][2:] == (0, 49_315, 49_315, 0, 1_000_000)
    assert s.installments[1][1:] == (date(2025, 4, 2), 883, 25_479, 26_362, 0, 999_117)


# ---------------------------------------------------------------------------------------------
# Due dates
# ---------------------------------------------------------------------------------------------


def test_due_dates_monthly_anchor_31():
    assert due_dates("monthly", date(2024, 1, 31), 4) == [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31)]
    assert due_dates("monthly", date(2025, 1, 31), 2) == [date(2025, 2, 28), date(2025, 3, 31)]
    assert due_dates("monthly", date(2025, 11, 30), 4) == [date(2025, 12, 30), date(2026, 1, 30), date(2026, 2, 28), date(2026, 3, 30)]
    # first_due_on: later dates follow it (anchor 28 here, so Mar 28, not 31)
    assert due_dates("monthly", date(2025, 1, 20), 3, date(2025, 2, 28)) == [date(2025, 2, 28), date(2025, 3, 28), date(2025, 4, 28)]
    # ... unless an anchor day is given (the contract's grid)
    assert due_dates("monthly", date(2025, 1, 20), 3, date(2025, 2, 28), anchor_day=31) == [
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
    ]


def test_due_dates_weekly_family():
    d0 = date(2025, 12, 29)
    assert due_dates("weekly", d0, 3) == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)]
    assert due_dates("biweekly", d0, 2) == [date(2026, 1, 12), date(2026, 1, 26)]
    assert due_dates("fourweekly", d0, 2) == [date(2026, 1, 26), date(2026, 2, 23)]
    assert due_dates("weekly", d0, 2, date(2026, 1, 2)) == [date(2026, 1, 2), date(2026, 1, 9)]
    assert due_dates("weekly", d0, 0) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (("daily", date(2025, 1, 1), 3), "frequency"),
        (("weekly", datetime(2025, 1, 1), 3), "datetime.date"),
        (("weekly", date(2025, 1, 1), -1), "count"),
        (("weekly", date(2025, 1, 1), 3, date(2025, 1, 1)), "after the disbursement"),
    ],
)
def test_due_dates_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        due_dates(*args)


# ---------------------------------------------------------------------------------------------
# Re-amortisation
# ---------------------------------------------------------------------------------------------


def test_reamortize_after_prepayment_keeps_the_contract_dates_and_savings():
    # The Jan 31 loan above (anchor 31) with 1 % savings and a 1 % fee; after installment 2
    # (2024-03-31, balance 10,058,094) the member prepays 3,058,094: 7,000,000 left over the 10
    # remaining installments, "reduce the installment".  First due 2024-04-30 lies on the anchor-31
    # grid, so the dates stay the contract's (May 31, ..., 2025-01-31).
    # New A = 7,000,000 x 0.006 / (1 - 1.006^-10) = 42,000 / 0.0580666 = 723,307.27 -> 723,000.
    # Row 1: 7,000,000 x 0.072 x 30 / 365 = 15,120,000 / 365 = 41,424.66 -> 41,425;
    # principal 723,000 - 41,425 = 681,575.
    original = build_schedule(
        ScheduleTerms(
            D(12_000_000),
            D("0.072"),
            12,
            "monthly",
            "annuity",
            date(2024, 1, 31),
            multiple=1000,
            savings_rate=D("0.01"),
            upfront_fee_rate=D("0.01"),
        )
    )
    new = reamortize(
        outstanding=D(7_000_000), terms_like=original.terms, start_on=date(2024, 3, 31), installments=10, first_due_on=date(2024, 4, 30)
    )
    assert [r.due_on for r in new.installments] == [r.due_on for r in original.installments[2:]]
    assert new.terms.principal == 7_000_000 and new.terms.disbursed_on == date(2024, 3, 31)
    assert new.installments[0][2:5] == (681_575, 41_425, 723_000)
    assert new.total_principal == 7_000_000 and new.installments[-1].outstanding_after == 0
    assert new.upfront_fee == 0  # no fee charged again
    assert {r.savings for r in new.installments} == {120_000}  # 1 % of the original 12,000,000
    # the same as a fresh schedule of 7,000,000 from 2024-03-31 with first due 04-30 on anchor 31
    fresh = build_schedule(
        ScheduleTerms(
            D(7_000_000),
            D("0.072"),
            10,
            "monthly",
            "annuity",
            date(2024, 3, 31),
            first_due_on=date(2024, 4, 30),
            multiple=1000,
            anchor_day=31,
            savings_rate=D("0.01"),
            savings_base=D(12_000_000),
        )
    )
    assert rows_of(new) == rows_of(fresh)


def test_reamortize_same_conventions_as_a_fresh_schedule():
    # Re-amortising from a date off the old grid (restructuring to the 15th) is a fresh schedule
    # with the same rate/method/frequency/multiple; grace is not inherited unless given.
    terms = ScheduleTerms(D(20_000_000), D("0.09"), 24, "monthly", "equal_principal", date(2025, 1, 31), grace=3, multiple=1000)
    new = reamortize(outstanding=D(8_000_000), terms_like=terms, start_on=date(2025, 6, 3), installments=12, first_due_on=date(2025, 7, 15))
    fresh = build_schedule(
        ScheduleTerms(
            D(8_000_000),
            D("0.09"),
            12,
            "monthly",
            "equal_principal",
            date(2025, 6, 3),
            first_due_on=date(2025, 7, 15),
            multiple=1000,
            savings_base=D(20_000_000),
        )
    )
    assert rows_of(new) == rows_of(fresh)
    assert [r.due_on.day for r in new.installments] == [15] * 12
    assert new.installments[0].principal == to_multiple(D(8_000_000) / 12, 1000) == 667_000
    with_grace = reamortize(outstanding=D(8_000_000), terms_like=terms, start_on=date(2025, 6, 3), installments=12, grace=2)
    assert [r.principal for r in with_grace.installments[:3]] == [0, 0, 800_000]
    assert [r.due_on for r in with_grace.installments[:2]] == [date(2025, 7, 3), date(2025, 8, 3)]


def test_reamortize_validates():
    terms = ScheduleTerms(D(20_000_000), D("0.09"), 24, "monthly", "annuity", date(2025, 1, 31))
    with pytest.raises(ValueError, match="principal"):
        reamortize(outstanding=D(0), terms_like=terms, start_on=date(2025, 6, 3), installments=12)
    with pytest.raises(ValueError, match="grace"):
        reamortize(outstanding=D(1_000_000), terms_like=terms, start_on=date(2025, 6, 3), installments=2, grace=2)


# ---------------------------------------------------------------------------------------------
# Validation and robustness
# ---------------------------------------------------------------------------------------------

GOOD = ScheduleTerms(D(10_000_000), D("0.072"), 12, "monthly", "annuity", date(2025, 1, 31))


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(principal=10_000_000.0), "principal must be a Decimal"),
        (dict(principal=D("1000000.5")), "whole number"),
        (dict(principal=D(0)), "principal must be > 0"),
        (dict(principal=D(-5)), "principal must be > 0"),
        (dict(principal=D(10) ** 16), "below 10"),
        (dict(annual_rate=D("7.2")), "not 7.2"),
        (dict(annual_rate=0.072), "Decimal fraction"),
        (dict(annual_rate=D("-0.01")), ">= 0"),
        (dict(annual_rate=D("NaN")), "finite"),
        (dict(installments=0), "installments"),
        (dict(installments=True), "installments"),
        (dict(installments=12.0), "installments"),
        (dict(frequency="daily"), "frequency"),
        (dict(method="balloon"), "method"),
        (dict(disbursed_on=datetime(2025, 1, 31, 9)), "datetime.date"),
        (dict(disbursed_on="2025-01-31"), "datetime.date"),
        (dict(first_due_on=date(2025, 1, 31)), "after the disbursement"),
        (dict(grace=12), "grace"),
        (dict(grace=-1), "grace"),
        (dict(multiple=10), "multiple"),
        (dict(savings_rate=D(1)), "below 1"),
        (dict(upfront_fee_rate=D("0.99999999")), "upfront fee must be less"),
        (dict(upfront_fee_rate=0.01), "Decimal fraction"),
        (dict(savings_base=D(0)), "savings_base"),
        (dict(anchor_day=31), "needs first_due_on"),
        (dict(anchor_day=31, frequency="weekly", first_due_on=date(2025, 2, 28)), "monthly"),
        (dict(anchor_day=30, first_due_on=date(2025, 3, 28)), "not on anchor day"),
        (dict(anchor_day=32, first_due_on=date(2025, 3, 28)), "1 to 31"),
    ],
)
def test_build_schedule_rejects_bad_terms(changes, message):
    with pytest.raises(ValueError, match=message):
        build_schedule(replace(GOOD, **changes))


def test_int_amounts_are_accepted_and_normalised():
    a = build_schedule(replace(GOOD, principal=10_000_000))
    b = build_schedule(replace(GOOD, principal=D("1E+7")))
    assert rows_of(a) == rows_of(b) == rows_of(build_schedule(GOOD))
    assert all(r.principal.as_tuple().exponent == 0 for r in b.installments)


def test_result_does_not_depend_on_the_callers_decimal_context():
    terms = ScheduleTerms(D(12_345_678), D("0.0725"), 36, "weekly", "annuity", date(2024, 2, 29), multiple=100, savings_rate=D("0.0025"))
    expected = build_schedule(terms)
    disclosure = price_disclosure(expected)
    with localcontext(Context(prec=5, rounding=ROUND_DOWN)):
        assert build_schedule(terms) == expected
        assert price_disclosure(expected) == disclosure


def test_schedule_is_immutable_and_hashable():
    s = build_schedule(GOOD)
    with pytest.raises(AttributeError):
        s.upfront_fee = D(1)  # type: ignore[misc]
    assert hash(s) == hash(build_schedule(GOOD))


@settings(max_examples=50, deadline=None)
@given(terms_st(extras=True))
def test_same_terms_same_schedule(terms):
    assert build_schedule(terms) == build_schedule(replace(terms))
