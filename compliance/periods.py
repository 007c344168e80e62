"""Report periods: "2025-03" (a month), "2025-Q1" (a quarter), "2025" (a year)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from loanfund.errors import DomainError

MONTHLY_KINDS = ("monthly_portfolio", "classification_provisioning")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    code: str
    start: date
    end: date
    label_vi: str
    label_en: str

    @property
    def label(self) -> str:
        return f"{self.label_vi} / {self.label_en}"

    @property
    def month_ends(self) -> list[date]:
        """Every month-end inside the period, in order."""
        ends, d = [], self.start
        while d <= self.end:
            ends.append(month_end(d.year, d.month))
            d = ends[-1] + timedelta(days=1)
        return ends

    @property
    def months(self) -> int:
        return len(self.month_ends)


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def previous_month_end(d: date) -> date:
    return d.replace(day=1) - timedelta(days=1)


def parse_period(kind: str, code: str) -> Period:
    """A period a report of `kind` can cover, or a 400 `invalid_period`."""
    code = (code or "").strip()
    if m := _MONTH.match(code):
        if kind not in MONTHLY_KINDS:
            raise DomainError("invalid_period", f"{kind} covers a quarter (2025-Q1) or a year (2025).", attr="period", status=400)
        y, mo = int(m[1]), int(m[2])
        return Period(code, date(y, mo, 1), month_end(y, mo), f"Tháng {mo:02d}/{y}", f"{calendar.month_name[mo]} {y}")
    if kind in MONTHLY_KINDS:
        raise DomainError("invalid_period", f"{kind} covers a month: give the period as YYYY-MM.", attr="period", status=400)
    if m := _QUARTER.match(code):
        y, q = int(m[1]), int(m[2])
        return Period(code, date(y, 3 * q - 2, 1), month_end(y, 3 * q), f"Quý {q}/{y}", f"Q{q} {y}")
    if m := _YEAR.match(code):
        y = int(m[1])
        return Period(code, date(y, 1, 1), date(y, 12, 31), f"Năm {y}", f"Year {y}")
    raise DomainError("invalid_period", "Give the period as YYYY-MM, YYYY-Qn or YYYY.", attr="period", status=400)


def last_month(today: date) -> str:
    d = previous_month_end(today)
    return f"{d.year}-{d.month:02d}"


def last_quarter(today: date) -> str:
    q = (today.month - 1) // 3  # the quarter that ended before this one
    return f"{today.year - 1}-Q4" if q == 0 else f"{today.year}-Q{q}"
