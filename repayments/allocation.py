"""Which component a payment settles first.

Pure Python (no Django, no app imports), Decimal only.  Rules:

* installments oldest first: sorted by due date, then installment number (stable);
* within an installment, the components in ``order``; the loan components that ``order`` does not
  name follow the named ones in the canonical sequence penalty, interest, principal, fees (so with
  the default order, fees come after principal);
* compulsory savings: with ``savings_last`` (the default) they are deposited only after every loan
  component of every given installment is settled, oldest installment first; with
  ``savings_last=False`` they are one more component of the per-installment order (where ``order``
  names them, else after the loan components);
* never more than is due on a component; zero lines are omitted; whatever cannot be allocated is
  ``unallocated`` (the caller decides: prepayment or refusal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

__all__ = [
    "COMPONENTS",
    "LOAN_COMPONENTS",
    "DEFAULT_ORDER",
    "Due",
    "Line",
    "Allocation",
    "component_sequence",
    "allocate",
]

COMPONENTS = ("penalty", "interest", "principal", "fees", "savings")
LOAN_COMPONENTS = ("penalty", "interest", "principal", "fees")
DEFAULT_ORDER = ("penalty", "interest", "principal")

_ZERO = Decimal(0)


class Due(NamedTuple):
    """What is due and unpaid on one installment as of the payment date (whole đồng)."""

    installment: int
    due_on: date
    penalty: Decimal
    interest: Decimal
    principal: Decimal
    fees: Decimal = _ZERO
    savings: Decimal = _ZERO


class Line(NamedTuple):
    """One allocated piece."""

    installment: int
    component: str
    amount: Decimal


@dataclass(frozen=True)
class Allocation:
    lines: tuple[Line, ...]
    unallocated: Decimal

    def total(self, component: str | None = None) -> Decimal:
        """Sum of the lines, of one component when given."""
        if component is None:
            return sum((line.amount for line in self.lines), _ZERO)
        if component not in COMPONENTS:
            raise ValueError(f"component must be one of {COMPONENTS}, got {component!r}")
        return sum((line.amount for line in self.lines if line.component == component), _ZERO)

    @property
    def allocated(self) -> Decimal:
        return self.total()

    def by_installment(self) -> dict[int, dict[str, Decimal]]:
        """{installment: {component: amount}} for the components that received something,
        installments and components in allocation order."""
        result: dict[int, dict[str, Decimal]] = {}
        for line in self.lines:
            per = result.setdefault(line.installment, {})
            per[line.component] = per.get(line.component, _ZERO) + line.amount
        return result


def _whole_dong(name: str, value: object) -> Decimal:
    if isinstance(value, (bool, float)) or not isinstance(value, (Decimal, int)):
        raise ValueError(f"{name} must be a Decimal of whole đồng, got {type(value).__name__} {value!r}")
    d = Decimal(value)
    if not d.is_finite() or d != d.to_integral_value():
        raise ValueError(f"{name} must be a whole number of đồng, got {value!r}")
    if d < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return d


def component_sequence(order: Sequence[str] = DEFAULT_ORDER, *, savings_last: bool = True) -> tuple[str, ...]:
    """The per-installment sequence of components that ``allocate`` uses (validated).

    Named components first, in ``order``; then the unnamed loan components in canonical order;
    savings last within the installment only when ``savings_last`` is False and they are unnamed.
    With ``savings_last`` the sequence holds no savings (they are deposited in a second pass).
    """
    if isinstance(order, (str, bytes)) or not isinstance(order, Sequence):
        raise ValueError(f"order must be a sequence of component names, got {order!r}")
    seen: list[str] = []
    for name in order:
        if name not in COMPONENTS:
            raise ValueError(f"unknown component {name!r} in order; components are {COMPONENTS}")
        if name in seen:
            raise ValueError(f"component {name!r} appears twice in order {tuple(order)!r}")
        seen.append(name)
    if savings_last and "savings" in seen:
        raise ValueError(
            "order names 'savings' but savings_last=True deposits savings after all loan components; "
            "pass savings_last=False to place savings within each installment"
        )
    sequence = seen + [name for name in LOAN_COMPONENTS if name not in seen]
    if not savings_last and "savings" not in seen:
        sequence.append("savings")
    return tuple(sequence)


def _check_due(due: object) -> Due:
    if not isinstance(due, Due):
        raise ValueError(f"dues must be Due records, got {type(due).__name__}")
    if isinstance(due.installment, bool) or not isinstance(due.installment, int):
        raise ValueError(f"Due.installment must be an int, got {due.installment!r}")
    if isinstance(due.due_on, datetime) or not isinstance(due.due_on, date):
        raise ValueError(f"Due.due_on must be a datetime.date, got {due.due_on!r}")
    return due._replace(**{name: _whole_dong(f"Due.{name} (installment {due.installment})", getattr(due, name)) for name in COMPONENTS})


def allocate(
    amount: Decimal,
    dues: Sequence[Due],
    *,
    order: Sequence[str] = DEFAULT_ORDER,
    savings_last: bool = True,
) -> Allocation:
    """Split ``amount`` over ``dues``: oldest installment first, components in ``order``.

    Raises ValueError for a negative or fractional amount, a float, an order that is not a
    duplicate-free selection of COMPONENTS (or names savings while savings_last=True), a malformed
    Due or two dues for the same installment.
    """
    remaining = _whole_dong("amount", amount)
    sequence = component_sequence(order, savings_last=savings_last)
    checked = [_check_due(due) for due in dues]
    numbers = [due.installment for due in checked]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"each installment may appear once in dues, got {sorted(numbers)}")
    checked.sort(key=lambda due: (due.due_on, due.installment))

    lines: list[Line] = []
    passes = [sequence]
    if savings_last:
        passes.append(("savings",))
    for components in passes:
        for due in checked:
            if not remaining:
                break
            for component in components:
                owed = getattr(due, component)
                if not owed:
                    continue
                paid = owed if owed <= remaining else remaining
                lines.append(Line(due.installment, component, paid))
                remaining -= paid
                if not remaining:
                    break
    return Allocation(tuple(lines), remaining)
