"""Reconciliation checks: every finding is a difference an accountant must look at.

Each check yields (fund code, what, expected, actual). Later rooms add their checks to CHECKS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from loanfund.models import Fund
from loanfund.selectors.ledger import trial_balance, unbalanced_entries


@dataclass(frozen=True)
class Difference:
    fund: str
    what: str
    expected: Decimal
    actual: Decimal

    def __str__(self):
        return f"[{self.fund}] {self.what}: expected {self.expected}, found {self.actual} (difference {self.actual - self.expected})"


def ledger_differences(fund: Fund) -> Iterator[Difference]:
    for row in unbalanced_entries(fund=fund):
        yield Difference(fund.code, f"journal entry {row['entry_id']} ({row['amount_currency']}) debits - credits", Decimal(0), Decimal(row["diff"]))
    tb = trial_balance(fund=fund, as_of=timezone.localdate() + timezone.timedelta(days=36500))
    for book, totals in tb["totals"].items():
        if totals["difference"]:
            yield Difference(fund.code, f"trial balance ({book}) debits - credits", Decimal(0), totals["difference"])


CHECKS: list[Callable[[Fund], Iterator[Difference]]] = [ledger_differences]


def reconcile(funds=None) -> list[Difference]:
    funds = funds if funds is not None else Fund.objects.order_by("code")
    return [difference for fund in funds for check in CHECKS for difference in check(fund)]
CHECKS.append(lambda fund: (Difference(fund.code, *d) for d in __import__("repayments.reconciliation", fromlist=["x"]).loan_differences(fund)))  # servicing
