"""Classification edge cases (Circular 14/2024 table in DOMAIN.md) and the SQL form of the rule."""

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.classification import Thresholds, classify, group_sql, sql_params
from loanfund.selectors.fund import fund_settings_as_of

DEFAULT = Thresholds(10, 30, 90, 180)


@pytest.mark.parametrize(("days", "group"), [
    (0, 1), (9, 1), (10, 2), (29, 2), (30, 3), (89, 3), (90, 4), (179, 4), (180, 5), (2000, 5),
])
def test_days_past_due_boundaries(days, group):
    assert classify(days, 0, DEFAULT) == group


@pytest.mark.parametrize(("days", "restructures", "group", "rule"), [
    (0, 1, 2, "first restructuring, not overdue: group 2"),
    (1, 1, 3, "first restructuring overdue < 30 days: group 3"),
    (29, 1, 3, "first restructuring overdue 29 days: still group 3"),
    (30, 1, 4, "first restructuring overdue 30-89 days: group 4"),
    (89, 1, 4, "first restructuring overdue 89 days: group 4"),
    (90, 1, 5, "first restructuring overdue >= 90 days: group 5"),
    (0, 2, 4, "second restructuring: group 4"),
    (1, 2, 5, "second restructuring overdue: group 5"),
    (0, 3, 5, "third restructuring: group 5"),
    (0, 7, 5, "any later restructuring: group 5"),
    (200, 1, 5, "days past due alone already group 5"),
])
def test_restructuring_rules(days, restructures, group, rule):
    assert classify(days, restructures, DEFAULT) == group, rule


def test_thresholds_come_from_the_funds_dated_settings(fund):
    settings_row = fund_settings_as_of(fund=fund, on=fund.created_at.date())
    settings_row.group2_from_days, settings_row.group3_from_days = 15, 45
    t = Thresholds.of(settings_row)
    assert (classify(14, 0, t), classify(15, 0, t), classify(44, 0, t), classify(45, 0, t)) == (1, 2, 2, 3)
    assert classify(44, 1, t) == 3 and classify(45, 1, t) == 4  # restructured overdue bands follow group-3/4 days


def _sql_groups(cases, t: Thresholds) -> list[int]:
    values = ", ".join(f"({d}, {r})" for d, r in cases)
    with connection.cursor() as cur:
        cur.execute(f"SELECT {group_sql('v.d', 'v.r')} FROM (VALUES {values}) AS v(d, r)", sql_params(t))
        return [row[0] for row in cur.fetchall()]


@pytest.mark.django_db
def test_sql_rule_matches_python_at_every_boundary():
    cases = [(d, r) for d in (0, 1, 9, 10, 29, 30, 89, 90, 179, 180, 365) for r in (0, 1, 2, 3, 4)]
    assert _sql_groups(cases, DEFAULT) == [classify(d, r, DEFAULT) for d, r in cases]


@pytest.mark.django_db
@settings(max_examples=40, deadline=None)
@given(
    cases=st.lists(st.tuples(st.integers(0, 800), st.integers(0, 5)), min_size=1, max_size=30),
    bounds=st.lists(st.integers(1, 400), min_size=4, max_size=4, unique=True).map(sorted),
)
def test_sql_rule_matches_python_for_any_thresholds(cases, bounds):
    t = Thresholds(*bounds)
    assert _sql_groups(cases, t) == [classify(d, r, t) for d, r in cases]
