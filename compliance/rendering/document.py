"""The declarative shape every report takes before it becomes a file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from loanfund.money import to_places

MONEY, COUNT, PERCENT, RATIO, TEXT = "money", "count", "percent", "ratio", "text"
BY_ROW = "by_row"  # a value column whose kind each row names in its "_kind" key (indicator lists)

# Spreadsheet number formats by column kind: đồng are whole numbers with thousands separators.
XLSX_FORMATS = {MONEY: "#,##0", COUNT: "#,##0", PERCENT: "0.00", RATIO: "0.0000", TEXT: "General"}


@dataclass(frozen=True)
class Column:
    key: str
    label_vi: str
    label_en: str
    kind: str = TEXT
    width: float = 14  # relative width (XLSX characters; PDF shares the page width by these)
    in_pdf: bool = True  # machine keys (figure names) go to XLSX/CSV, not onto the signed paper

    @property
    def numeric(self) -> bool:
        return self.kind != TEXT

    def kind_for(self, row: dict) -> str:
        return row.get("_kind", TEXT) if self.kind == BY_ROW else self.kind


@dataclass(frozen=True)
class Section:
    """One table: a sheet in XLSX, a block in CSV, a table in PDF. `rows()` yields dicts keyed by
    column key (called once per format, so it may stream from a server-side cursor)."""

    key: str
    title_vi: str
    title_en: str
    columns: Sequence[Column]
    rows: Callable[[], Iterable[dict]]
    note: str = ""


@dataclass(frozen=True)
class Document:
    title_vi: str
    title_en: str
    fund_name: str
    period_label: str
    snapshot_date: date
    generated_at: datetime
    generated_by: str
    sections: Sequence[Section]
    subtitle: str = ""
    signatures: Sequence[tuple[str, str]] = field(default=(
        ("Người lập biểu", "Prepared by"),
        ("Kế toán trưởng", "Chief accountant"),
        ("Giám đốc", "Director"),
    ))


def cell_value(value, kind: str):
    """The typed value a spreadsheet cell holds: whole đồng and counts as int, ratios as Decimal."""
    if value is None:
        return None
    if kind in (MONEY, COUNT):
        return int(Decimal(value))
    if kind in (PERCENT, RATIO):
        return Decimal(value)
    return str(value)


def format_number(value, kind: str) -> str:
    """Printed form (CSV and PDF share digits; PDF adds Vietnamese separators via `display`)."""
    if value is None:
        return ""
    if kind in (MONEY, COUNT):
        return str(int(Decimal(value)))
    if kind == PERCENT:
        return f"{to_places(value, 2)}"
    if kind == RATIO:
        return f"{to_places(value, 4)}"
    return str(value)


def display(value, kind: str) -> str:
    """Vietnamese print convention: 15.000.000 đồng, 7,23 %."""
    text = format_number(value, kind)
    if not text or kind == TEXT:
        return text
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")
    whole, _, frac = text.partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + ".".join(groups) + ("," + frac if frac else "")
