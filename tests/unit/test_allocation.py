"""Payment allocation (repayments/allocation.py): oldest installment first, components in order,
compulsory savings after every loan component unless told otherwise.  Pure unit tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repayments.allocation import (
    COMPONENTS,
    DEFAULT_ORDER,
    LOAN_COMPONENTS,
    Allocation,
    Due,
    Line,
    allocate,
    component_sequence,
)

D = Decimal

# ---------------------------------------------------------------------------------------------
# Strategies and an independent greedy reference
# ---------------------------------------------------------------------------------------------

money = st.one_of(st.just(D(0)), st.integers(1, 3_000_000).map(D))


@st.composite
def dues_st(draw) -> list[Due]:
    numbers = draw(st.lists(st.integers(1, 60), max_size=8, unique=True))
    return [
        Due(
            installment=number,
            # a narrow window so that equal due dates (ties broken by number) are common
            due_on=draw(st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 1, 20))),
            penalty=draw(money),
            interest=draw(money),
            principal=draw(money),
            fees=draw(money),
            savings=draw(money),
        )
        for number in numbers
    ]


@st.composite
def case_st(draw):
    dues = draw(dues_st())
    savings_last = draw(st.booleans())
    permutation = draw(st.permutations(COMPONENTS))
    order = tuple(permutation[: draw(st.integers(0, len(COMPONENTS)))])
    if savings_last:
        order = tuple(c for c in order if c != "savings")
    owed = sum((getattr(d, c) for d in dues for c in COMPONENTS), D(0))
    amount = D(draw(st.one_of(st.integers(0, int(owed) + 1_000_000), st.just(int(owed)), st.just(0))))
    return amount, dues, order, savings_last


def oldest_first(dues):
    return sorted(dues, key=lambda d: (d.due_on, d.installment))


def reference(amount, dues, order, savings_last):
    """Greedy over the slots in the documented sequence."""
    per_installment = list(order) + [c for c in LOAN_COMPONENTS if c not in order]
    if not savings_last and "savings" not in order:
        per_installment.append("savings")
    slots = [(d, c) for d in oldest_first(dues) for c in per_installment]
    if savings_last:
        slots += [(d, "savings") for d in oldest_first(dues)]
    lines, left = [], amount
    for due, component in slots:
        paid = min(getattr(due, component), left)
        if paid:
            lines.append(Line(due.installment, component, paid))
            left -= paid
    return lines, left


def paid_map(allocation: Allocation) -> dict[tuple[int, str], Decimal]:
    out: dict[tuple[int, str], Decimal] = {}
    for line in allocation.lines:
        assert (line.installment, line.component) not in out  # one line per slot
        out[(line.installment, line.component)] = line.amount
    return out


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(case_st())
def test_allocation_properties(case):
    amount, dues, order, savings_last = case
    result = allocate(amount, dues, order=order, savings_last=savings_last)
    paid = paid_map(result)
    by_number = {d.installment: d for d in dues}
    owed = sum((getattr(d, c) for d in dues for c in COMPONENTS), D(0))

    # conservation: every đồng is allocated or reported unallocated, and only the excess is unallocated
    assert result.total() + result.unallocated == amount
    assert result.unallocated == max(D(0), amount - owed)
    assert result.allocated == result.total()
    # never more than due, never a zero or negative line
    for (number, component), value in paid.items():
        assert 0 < value <= getattr(by_number[number], component)

    def settled(due, components):
        return all(paid.get((due.installment, c), D(0)) == getattr(due, c) for c in components)

    sequence = component_sequence(order, savings_last=savings_last)
    ranked = oldest_first(dues)
    loan_part = sequence  # what is settled installment by installment
    for position, due in enumerate(ranked):
        got = [c for c in loan_part if paid.get((due.installment, c))]
        if got:
            # installment first: every older installment is fully settled before this one gets anything
            assert all(settled(older, loan_part) for older in ranked[:position])
            # component order within the installment
            last = max(loan_part.index(c) for c in got)
            assert settled(due, loan_part[:last])
        if savings_last and paid.get((due.installment, "savings")):
            # savings only once every loan component of every installment is settled, oldest first
            assert all(settled(d, LOAN_COMPONENTS) for d in dues)
            assert all(settled(older, ("savings",)) for older in ranked[:position])
    if not savings_last:
        assert "savings" in sequence
    # exactly the documented greedy sequence (lines in allocation order)
    assert (list(result.lines), result.unallocated) == reference(amount, dues, order, savings_last)
    # the summaries agree with the lines
    for component in COMPONENTS:
        assert result.total(component) == sum((v for (_, c), v in paid.items() if c == component), D(0))
    assert {(n, c): v for n, per in result.by_installment().items() for c, v in per.items()} == paid


@settings(max_examples=200, deadline=None)
@given(dues_st(), st.integers(0, 20_000_000).map(D))
def test_default_order_is_penalty_interest_principal_then_fees_then_savings(dues, amount):
    result = allocate(amount, dues)
    expected = reference(amount, dues, DEFAULT_ORDER, True)
    assert (list(result.lines), result.unallocated) == expected
    assert component_sequence() == ("penalty", "interest", "principal", "fees")


# ---------------------------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------------------------

FEB = Due(2, date(2025, 2, 15), penalty=D(5_000), interest=D(60_000), principal=D(800_000), fees=D(10_000), savings=D(25_000))
JAN = Due(1, date(2025, 1, 15), penalty=D(12_000), interest=D(70_000), principal=D(790_000), fees=D(0), savings=D(25_000))


def test_partial_payment_default_order():
    # 900,000 paid: Jan penalty 12,000 + interest 70,000 + principal 790,000 = 872,000; the
    # remaining 28,000: Feb penalty 5,000, then 23,000 of Feb's 60,000 interest.  No savings yet.
    result = allocate(D(900_000), [FEB, JAN])  # given newest first: sorted by due date
    assert result.lines == (
        Line(1, "penalty", D(12_000)),
        Line(1, "interest", D(70_000)),
        Line(1, "principal", D(790_000)),
        Line(2, "penalty", D(5_000)),
        Line(2, "interest", D(23_000)),
    )
    assert result.unallocated == 0
    assert result.total("interest") == 93_000
    assert result.total("savings") == 0
    assert result.by_installment() == {
        1: {"penalty": 12_000, "interest": 70_000, "principal": 790_000},
        2: {"penalty": 5_000, "interest": 23_000},
    }


def test_custom_order_interest_before_penalty():
    # order interest, principal, penalty (fees after them): 100,000 pays Jan interest 70,000, then
    # 30,000 of Jan principal; the penalty waits.
    result = allocate(D(100_000), [JAN, FEB], order=("interest", "principal", "penalty"))
    assert result.lines == (Line(1, "interest", D(70_000)), Line(1, "principal", D(30_000)))
    # principal first, then interest; penalty and fees (unnamed) after them
    result = allocate(D(900_000), [JAN, FEB], order=("principal", "interest"))
    assert result.lines == (
        Line(1, "principal", D(790_000)),
        Line(1, "interest", D(70_000)),
        Line(1, "penalty", D(12_000)),
        Line(2, "principal", D(28_000)),
    )


def test_fees_and_savings_come_last_and_overpayment_is_unallocated():
    # Everything due: Jan 897,000 (872,000 loan + 25,000 savings), Feb 900,000 (875,000 + 25,000).
    # Loan components first: Jan 872,000, Feb penalty, interest, principal, fees 875,000; then savings
    # Jan 25,000, Feb 25,000.  Pay 1,797,000 + 3,000: 3,000 unallocated (prepayment or refusal).
    result = allocate(D(1_800_000), [JAN, FEB])
    assert [(line.installment, line.component) for line in result.lines] == [
        (1, "penalty"),
        (1, "interest"),
        (1, "principal"),
        (2, "penalty"),
        (2, "interest"),
        (2, "principal"),
        (2, "fees"),
        (1, "savings"),
        (2, "savings"),
    ]
    assert result.unallocated == 3_000
    assert result.total() == 1_797_000
    # one đồng short of the loan components: no savings at all
    result = allocate(D(872_000 + 875_000 - 1), [JAN, FEB])
    assert result.total("savings") == 0 and result.total("fees") == 9_999


def test_savings_within_the_installment_when_not_last():
    # savings_last=False, order naming savings first: each installment's deposit before its loan parts
    result = allocate(D(120_000), [JAN, FEB], order=("savings", "penalty", "interest", "principal"), savings_last=False)
    assert result.lines == (
        Line(1, "savings", D(25_000)),
        Line(1, "penalty", D(12_000)),
        Line(1, "interest", D(70_000)),
        Line(1, "principal", D(13_000)),
    )
    # not named: after the installment's loan components (fees included), before the next installment
    result = allocate(D(900_000), [JAN, FEB], savings_last=False)
    assert [(line.installment, line.component) for line in result.lines] == [
        (1, "penalty"),
        (1, "interest"),
        (1, "principal"),
        (1, "savings"),
        (2, "penalty"),
    ]
    assert result.lines[-1].amount == 3_000


def test_ties_on_due_date_go_by_installment_number():
    a = Due(7, date(2025, 3, 1), D(0), D(100), D(0))
    b = Due(3, date(2025, 3, 1), D(0), D(100), D(0))
    result = allocate(D(150), [a, b])
    assert result.lines == (Line(3, "interest", D(100)), Line(7, "interest", D(50)))


def test_nothing_to_allocate():
    assert allocate(D(0), [JAN]) == Allocation((), D(0))
    assert allocate(D(5_000), []) == Allocation((), D(5_000))
    assert allocate(5_000, []).unallocated == D(5_000)  # int accepted as whole đồng


@pytest.mark.parametrize(
    "amount, dues, kwargs, message",
    [
        (D(-1), [JAN], {}, "negative"),
        (D("10.5"), [JAN], {}, "whole"),
        (10.0, [JAN], {}, "Decimal"),
        (True, [JAN], {}, "Decimal"),
        (D("Infinity"), [JAN], {}, "whole"),
        (D(10), [JAN], {"order": ("interest", "interest")}, "twice"),
        (D(10), [JAN], {"order": ("interest", "tax")}, "unknown component"),
        (D(10), [JAN], {"order": "interest"}, "sequence"),
        (D(10), [JAN], {"order": ("savings", "interest")}, "savings_last"),
        (D(10), [JAN, JAN._replace(due_on=date(2025, 3, 1))], {}, "once"),
        (D(10), [(1, date(2025, 1, 1), 0, 0, 0)], {}, "Due records"),
        (D(10), [JAN._replace(interest=D("0.5"))], {}, "whole"),
        (D(10), [JAN._replace(principal=D(-1))], {}, "negative"),
        (D(10), [JAN._replace(due_on="2025-01-15")], {}, "date"),
    ],
)
def test_rejects_bad_input(amount, dues, kwargs, message):
    with pytest.raises(ValueError, match=message):
        allocate(amount, dues, **kwargs)


def test_total_rejects_unknown_component():
    with pytest.raises(ValueError, match="component"):
        allocate(D(10), [JAN]).total("tax")
