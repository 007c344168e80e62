"""Debt classification (Circular 14/2024/TT-NHNN, microfinance institutions): the pure rule.

Days past due put a loan in a group by the fund's dated thresholds (10 / 30 / 90 / 180 days by
default); restructuring pushes it further down, and the worse of the two wins:

| restructurings | not overdue | overdue < group-3 days | overdue group-3..group-4 days | overdue >= group-4 days |
| --- | --- | --- | --- | --- |
| 1 | 2 | 3 | 4 | 5 |
| 2 | 4 | 5 | 5 | 5 |
| 3 or more | 5 | 5 | 5 | 5 |

`classify` is the Python form (tests, single loans); `group_sql` renders the same rule as one SQL
CASE expression so the month-end run classifies the whole portfolio in one statement. A test holds
the two to the same answers. Django-free.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUPS = (1, 2, 3, 4, 5)
NPL_GROUPS = (3, 4, 5)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """First day of groups 2..5 (from the fund's dated settings, never literals in the rule)."""

    group2_from_days: int
    group3_from_days: int
    group4_from_days: int
    group5_from_days: int

    @classmethod
    def from_settings(cls, settings_row) -> Thresholds:
        return cls(settings_row.group2_from_days, settings_row.group3_from_days, settings_row.group4_from_days,
                   settings_row.group5_from_days)


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


def group_by_restructuring(days_past_due: int, restructure_count: int, t: Thresholds) -> int:
    if restructure_count <= 0:
        return 1
    overdue = days_past_due > 0
    if restructure_count == 1:
        if not overdue:
            return 2
        if days_past_due < t.group3_from_days:
            return 3
        if days_past_due < t.group4_from_days:
            return 4
        return 5
    if restructure_count == 2:
        return 5 if overdue else 4
    return 5


def classify(days_past_due: int, restructure_count: int, t: Thresholds) -> int:
    """The loan's group 1..5: the worse of its days-past-due group and its restructuring group."""
    if days_past_due < 0 or restructure_count < 0:
        raise ValueError("days past due and restructure count are never negative")
    return max(group_by_days(days_past_due, t), group_by_restructuring(days_past_due, restructure_count, t))


def group_sql(dpd: str, restructures: str) -> str:
    """The same rule as an SQL expression over two column expressions, with named parameters
    %(g2)s..%(g5)s for the thresholds (see `sql_params`)."""
    by_days = (f"CASE WHEN {dpd} >= %(g5)s THEN 5 WHEN {dpd} >= %(g4)s THEN 4 WHEN {dpd} >= %(g3)s THEN 3 "
               f"WHEN {dpd} >= %(g2)s THEN 2 ELSE 1 END")
    by_restructuring = (
        f"CASE WHEN {restructures} <= 0 THEN 1 "
        f"WHEN {restructures} = 1 THEN CASE WHEN {dpd} <= 0 THEN 2 WHEN {dpd} < %(g3)s THEN 3 WHEN {dpd} < %(g4)s THEN 4 ELSE 5 END "
        f"WHEN {restructures} = 2 THEN CASE WHEN {dpd} <= 0 THEN 4 ELSE 5 END "
        f"ELSE 5 END"
    )
    return f"GREATEST({by_days}, {by_restructuring})"


def sql_params(t: Thresholds) -> dict[str, int]:
    return {"g2": t.group2_from_days, "g3": t.group3_from_days, "g4": t.group4_from_days, "g5": t.group5_from_days}
