from __future__ import annotations

from datetime import date

from loanfund.models import Fund, FundSettings


def fund_settings_as_of(*, fund: Fund, on: date) -> FundSettings:
    """The settings row in force on a date (the earliest row covers any earlier date)."""
    row = FundSettings.objects.filter(fund=fund, effective_from__lte=on).order_by("-effective_from").first()
    if row is None:
        row = FundSettings.objects.filter(fund=fund).order_by("effective_from").first()
    return row
