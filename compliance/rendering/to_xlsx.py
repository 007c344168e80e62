"""XLSX with openpyxl's write-only mode: rows stream to disk, memory stays flat.

One sheet per section: a title row, the fund and period, the Vietnamese header with the English
header beneath, then the rows; the header rows are frozen and amounts use the đồng format #,##0.
"""

from __future__ import annotations

import re

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from compliance.rendering.document import XLSX_FORMATS, Document, cell_value

HEADER_ROWS = 4  # title, fund/period, Vietnamese header, English header
_BAD_SHEET_CHARS = re.compile(r"[\[\]\*\?/\\:]")


def sheet_title(index: int, title: str) -> str:
    return _BAD_SHEET_CHARS.sub(" ", f"{index}. {title}")[:31]


def write_xlsx(document: Document, path: str) -> None:
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    title_font = Font(bold=True, size=13)
    english = Font(italic=True, color="555555")
    fill = PatternFill("solid", fgColor="DDE7F0")
    wrap = Alignment(wrap_text=True, vertical="top")
    for index, section in enumerate(document.sections, start=1):
        ws = wb.create_sheet(sheet_title(index, section.title_vi))
        ws.freeze_panes = f"A{HEADER_ROWS + 1}"
        for col_index, column in enumerate(section.columns, start=1):
            ws.column_dimensions[get_column_letter(col_index)].width = max(column.width, 10)

        def styled(value, font=None, number_format=None, fill_=None, align=None, ws=ws):
            cell = WriteOnlyCell(ws, value=value)
            if font:
                cell.font = font
            if number_format:
                cell.number_format = number_format
            if fill_:
                cell.fill = fill_
            if align:
                cell.alignment = align
            return cell

        ws.append([styled(f"{section.title_vi} / {section.title_en}", title_font)])
        ws.append([styled(f"{document.fund_name} — {document.period_label} — "
                          f"Số liệu đến ngày / Data as of {document.snapshot_date.isoformat()}")])
        ws.append([styled(c.label_vi, bold, fill_=fill, align=wrap) for c in section.columns])
        ws.append([styled(c.label_en, english, fill_=fill, align=wrap) for c in section.columns])
        for row in section.rows():
            kinds = [c.kind_for(row) for c in section.columns]
            ws.append([
                styled(cell_value(row.get(c.key), kind), number_format=XLSX_FORMATS[kind])
                for c, kind in zip(section.columns, kinds, strict=True)
            ])
    wb.save(path)
