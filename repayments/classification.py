"""Debt classification group of one loan (Circular 14/2024/TT-NHNN table in DOMAIN.md).

Pure Python: no Django import, so compliance (portfolio classification) and servicing (a loan's
balance) use the same rule. The day thresholds come from the fund's dated settings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Thresholds:
    """First day past due of groups 2..5 (defaults: 10, 30, 90, 180)."""

    group2_from_days: int = 10
    group3_from_days: int = 30
    group4_from_days: int = 90
    group5_from_days: int = 180

    @classmethod
    def of(cls, settings_row) -> Thresholds:
        """From a FundSettings row (or anything with the four attributes)."""
        return cls(settings_row.group2_from_days, settings_row.group3_from_days, settings_row.group4_from_days, settings_row.group5_from_days)


def group_by_days(days_past_due: int, t: Thresholds) -> int:
    if days_past_due >= t.group5_from_days:
        return 5
    if days_past_due >= t.group4_from_days:
        return 4
    if days_past_due >= t.group3_from_days:
        return 3
    if days_past_due >= t.group2_from_days:
        return 2
    return 1


def classification_group(days_past_due: int, restructure_count: int, t: Thresholds = Thresholds()) -> int:
    """The worse of the days-past-due group and the restructuring group.

    Restructuring: the first puts the loan in group 2 at least, and if it is overdue again in
    group 3 (< 30 days), 4 (30-89 days) or 5 (>= 90 days); the second in group 4 at least, group 5
    when overdue; the third or later in group 5.
    """
    if days_past_due < 0 or restructure_count < 0:
        raise ValueError("days_past_due and restructure_count are never negative")
    by_days = group_by_days(days_past_due, t)
    if restructure_count == 0:
        return by_days
    if restructure_count >= 3:
        return 5
    if restructure_count == 2:
        return max(by_days, 5 if days_past_due > 0 else 4)
    # first restructuring
    if days_past_due <= 0:
        by_restructure = 2
    elif days_past_due < t.group3_from_days:
        by_restructure = 3
    elif days_past_due < t.group4_from_days:
        by_restructure = 4
    else:
        by_restructure = 5
    return max(by_days, by_restructure)
