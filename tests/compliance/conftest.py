import pytest


@pytest.fixture
def crash_portfolio(fund, staff):
    """The Must-show portfolio; its June 2025 month-end run must post 5,320,000 (see test_must_show)."""
    from tests.compliance.portfolio import build

    return build(fund, staff)
