"""What origination must know about a member's existing loans, without importing servicing.

Origination (left of servicing in ARCHITECTURE.md) never imports `repayments`; servicing registers
its provider here at start-up (repayments.apps), so appraisal and approval read live balances.
With no provider registered (origination alone) every member has no loans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class MemberExposure:
    outstanding_principal: Decimal = Decimal(0)  # principal not yet repaid, loans not written off
    max_days_past_due: int = 0  # worst arrears across the member's open loans


Provider = Callable[[Iterable[int], date], dict[int, MemberExposure]]
_provider: Provider | None = None


def register(provider: Provider) -> None:
    global _provider
    _provider = provider


def member_exposure(member_ids: Iterable[int], as_of: date) -> dict[int, MemberExposure]:
    ids = list(member_ids)
    found = _provider(ids, as_of) if _provider else {}
    return {member_id: found.get(member_id, MemberExposure()) for member_id in ids}
