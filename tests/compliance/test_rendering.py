"""The renderers: XLSX (write-only, bilingual headers, đồng format, frozen header rows, one sheet per
section), CSV (UTF-8 with BOM), PDF (embedded Vietnamese font, title, signature lines)."""

import csv
from datetime import date, datetime
from decimal import Decimal

import openpyxl
from pypdf import PdfReader

from compliance.rendering import WRITERS, Column, Document, Section
from compliance.rendering.document import BY_ROW, display

COLUMNS = [Column("label", "Nhóm nợ", "Debt group", "text", 24), Column("loans", "Số món vay", "Loans", "count", 10),
           Column("principal", "Dư nợ gốc", "Principal outstanding", "money", 16),
           Column("rate", "Tỷ lệ (%)", "Rate (%)", "percent", 10)]
ROWS = [{"label": "Nhóm 1 – Nợ đủ tiêu chuẩn", "loans": 9, "principal": Decimal(123456789), "rate": Decimal("0")},
        {"label": "Nhóm 5 – Nợ có khả năng mất vốn", "loans": 1, "principal": Decimal(5000000), "rate": Decimal("100.00")}]


def document():
    return Document(
        "Báo cáo phân loại nợ", "Classification report", "Quỹ Trợ vốn CNVC-LĐ nghèo Hà Nội", "Tháng 03/2025 / March 2025",
        date(2025, 3, 31), datetime(2025, 4, 1, 8, 30), "kế toán",
        [Section("groups", "Theo nhóm nợ", "By debt group", COLUMNS, lambda: iter(ROWS)),
         Section("list", "Chỉ tiêu", "Indicators", [Column("k", "Chỉ tiêu", "Indicator"), Column("v", "Giá trị", "Value", BY_ROW)],
                 lambda: [{"k": "PAR30", "v": Decimal("12.5"), "_kind": "percent"}, {"k": "GLP", "v": 1500000, "_kind": "money"}])],
    )


def test_xlsx_has_one_sheet_per_section_bilingual_frozen_headers_and_dong_format(tmp_path):
    path = tmp_path / "r.xlsx"
    WRITERS["xlsx"](document(), str(path))
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["1. Theo nhóm nợ", "2. Chỉ tiêu"]
    ws = wb["1. Theo nhóm nợ"]
    assert ws.freeze_panes == "A5"
    assert [c.value for c in ws[3]] == ["Nhóm nợ", "Số món vay", "Dư nợ gốc", "Tỷ lệ (%)"]
    assert [c.value for c in ws[4]] == ["Debt group", "Loans", "Principal outstanding", "Rate (%)"]
    assert [c.value for c in ws[5]] == ["Nhóm 1 – Nợ đủ tiêu chuẩn", 9, 123456789, 0]
    assert ws["C5"].number_format == "#,##0" and ws["B5"].number_format == "#,##0"
    assert Decimal(str(ws["D6"].value)) == Decimal("100")
    list_sheet = wb["2. Chỉ tiêu"]
    assert list_sheet["B5"].number_format == "0.00" and list_sheet["B6"].number_format == "#,##0"
    assert list_sheet["B6"].value == 1500000


def test_csv_is_utf8_with_bom_and_plain_digits(tmp_path):
    path = tmp_path / "r.csv"
    WRITERS["csv"](document(), str(path))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    start = rows.index(["# groups", "Theo nhóm nợ", "By debt group"])
    assert rows[start + 1] == ["Nhóm nợ", "Số món vay", "Dư nợ gốc", "Tỷ lệ (%)"]
    assert rows[start + 2] == ["Debt group", "Loans", "Principal outstanding", "Rate (%)"]
    assert rows[start + 3] == ["Nhóm 1 – Nợ đủ tiêu chuẩn", "9", "123456789", "0.00"]
    assert rows[start + 4] == ["Nhóm 5 – Nợ có khả năng mất vốn", "1", "5000000", "100.00"]


def test_pdf_embeds_a_vietnamese_font_and_carries_title_figures_and_signature_lines(tmp_path):
    path = tmp_path / "r.pdf"
    WRITERS["pdf"](document(), str(path))
    reader = PdfReader(str(path))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in ("BÁO CÁO PHÂN LOẠI NỢ", "Quỹ Trợ vốn CNVC-LĐ nghèo Hà Nội", "31/03/2025", "123.456.789", "100,00",
                     "Người lập biểu", "Prepared by", "Kế toán trưởng", "Chief accountant", "Giám đốc", "Director",
                     "01/04/2025 08:30"):
        assert expected in text, expected
    fonts = {str(f.get("/BaseFont")) for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert any(name.endswith("+DejaVuSans") for name in fonts), fonts  # embedded subset: the glyphs travel with the file


def test_vietnamese_print_convention():
    assert display(Decimal(15000000), "money") == "15.000.000"
    assert display(Decimal("7.234"), "percent") == "7,23"
    assert display(Decimal(-1234), "money") == "-1.234"
    assert display(None, "money") == ""
