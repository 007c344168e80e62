import pytest


@pytest.fixture
def crash_portfolio(fund, staff):
    """(fund, staff, provision the month-end run must post) for the crash test."""
    return fund, staff, 0
