"""Debt classification (Circular 14/2024/TT-NHNN) of the whole portfolio in one SQL expression.

The rule itself is servicing's pure function `repayments.classification.classification_group`
(days past due by the fund's dated thresholds, pushed down by restructuring; the worse wins):

| restructurings | not overdue | overdue < group-3 days | overdue group-3..group-4 days | overdue >= group-4 days |
| --- | --- | --- | --- | --- |
| 1 | 2 | 3 | 4 | 5 |
| 2 | 4 | 5 | 5 | 5 |
| 3 or more | 5 | 5 | 5 | 5 |

`group_sql` renders the same rule as one CASE expression so the month-end run classifies every
loan in one statement; a property test holds the SQL to the Python function.
"""

from __future__ import annotations

from repayments.classification import Thresholds, classification_group

GROUPS = (1, 2, 3, 4, 5)
NPL_GROUPS = (3, 4, 5)
classify = classification_group


def group_sql(dpd: str, restructures: str, vendor: str = "postgresql") -> str:
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
    greatest = "GREATEST" if vendor == "postgresql" else "MAX"  # SQLite (the demo): scalar max()
    return f"{greatest}({by_days}, {by_restructuring})"


def sql_params(t: Thresholds) -> dict[str, int]:
    return {"g2": t.group2_from_days, "g3": t.group3_from_days, "g4": t.group4_from_days, "g5": t.group5_from_days}
