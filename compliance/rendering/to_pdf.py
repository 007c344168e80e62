"""PDF with reportlab: the paper copy a director signs.

Title (Vietnamese, English beneath), fund, period, data date, each section as a table whose
header rows repeat on every page, the generation time and author, and the three signature lines.
"""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from compliance.rendering.document import TEXT, Document, display
from compliance.rendering.fonts import register_fonts


def printed(value, kind: str) -> str:
    """What the paper shows: Vietnamese number print; a dash where a figure is undefined (0 ÷ 0)."""
    if value is None:
        return "" if kind == TEXT else "—"
    return display(value, kind)


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_pdf(document: Document, path: str) -> None:
    fonts = register_fonts()
    regular, bold, italic = fonts["regular"], fonts["bold"], fonts["italic"]
    base = ParagraphStyle("base", fontName=regular, fontSize=8.5, leading=10.5)
    styles = {
        "title": ParagraphStyle("title", parent=base, fontName=bold, fontSize=15, leading=19, alignment=TA_CENTER),
        "title_en": ParagraphStyle("title_en", parent=base, fontName=italic, fontSize=11, leading=14, alignment=TA_CENTER,
                                   textColor=colors.HexColor("#444444")),
        "meta": ParagraphStyle("meta", parent=base, fontSize=9.5, leading=13, alignment=TA_CENTER),
        "section": ParagraphStyle("section", parent=base, fontName=bold, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4),
        "head": ParagraphStyle("head", parent=base, fontName=bold, fontSize=8, leading=9.5),
        "head_en": ParagraphStyle("head_en", parent=base, fontName=italic, fontSize=7, leading=8.5, textColor=colors.HexColor("#555555")),
        "head_num": ParagraphStyle("head_num", parent=base, fontName=bold, fontSize=8, leading=9.5, alignment=TA_RIGHT),
        "head_en_num": ParagraphStyle("head_en_num", parent=base, fontName=italic, fontSize=7, leading=8.5, alignment=TA_RIGHT,
                                      textColor=colors.HexColor("#555555")),
        "cell": base,
        "num": ParagraphStyle("num", parent=base, alignment=TA_RIGHT),
        "sign": ParagraphStyle("sign", parent=base, fontName=bold, fontSize=10, leading=13, alignment=TA_CENTER),
        "sign_en": ParagraphStyle("sign_en", parent=base, fontName=italic, fontSize=8.5, leading=11, alignment=TA_CENTER),
        "note": ParagraphStyle("note", parent=base, fontName=italic, fontSize=7.5, textColor=colors.HexColor("#555555")),
    }
    page = landscape(A4)
    margin = 14 * mm
    usable = page[0] - 2 * margin

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(margin, 8 * mm, f"{document.fund_name} — {document.title_vi} — {document.period_label}")
        canvas.drawRightString(page[0] - margin, 8 * mm, f"Trang / Page {doc.page}")
        canvas.restoreState()

    story = [
        Paragraph(_esc(document.title_vi.upper()), styles["title"]),
        Paragraph(_esc(document.title_en), styles["title_en"]),
        Spacer(1, 3 * mm),
        Paragraph(f"Đơn vị / Fund: <b>{_esc(document.fund_name)}</b>", styles["meta"]),
        Paragraph(f"Kỳ báo cáo / Period: <b>{_esc(document.period_label)}</b> — "
                  f"Số liệu đến ngày / Data as of: <b>{document.snapshot_date.strftime('%d/%m/%Y')}</b>", styles["meta"]),
        Paragraph("Đơn vị tính: đồng / Amounts in VND (đồng)", styles["meta"]),
    ]
    if document.subtitle:
        story.append(Paragraph(_esc(document.subtitle), styles["meta"]))
    for section in document.sections:
        columns = [c for c in section.columns if c.in_pdf]
        total_width = sum(c.width for c in columns)
        widths = [usable * c.width / total_width for c in columns]
        data = [
            [Paragraph(_esc(c.label_vi), styles["head_num" if c.numeric else "head"]) for c in columns],
            [Paragraph(_esc(c.label_en), styles["head_en_num" if c.numeric else "head_en"]) for c in columns],
        ]
        bold_rows = []
        for row in section.rows():
            if row.get("_heading"):
                bold_rows.append(len(data))
            data.append([
                Paragraph(_esc(printed(row.get(c.key), c.kind_for(row))), styles["num" if c.numeric else "cell"]) for c in columns
            ])
        if len(data) == 2:
            data.append([Paragraph("—", styles["cell"])] + [""] * (len(columns) - 1))
        table = Table(data, colWidths=widths, repeatRows=2)
        table.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#888888")),
            ("BACKGROUND", (0, 0), (-1, 1), colors.HexColor("#DDE7F0")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            *[("BACKGROUND", (0, r), (-1, r), colors.HexColor("#F1F4F7")) for r in bold_rows],
        ]))
        heading = Paragraph(f"{_esc(section.title_vi)} <font name='{italic}' size='9' color='#555555'>/ {_esc(section.title_en)}</font>",
                            styles["section"])
        story.append(KeepTogether([heading, table]) if len(data) < 25 else heading)
        if len(data) >= 25:
            story.append(table)
        if section.note:
            story.append(Paragraph(_esc(section.note), styles["note"]))
    story += [
        Spacer(1, 5 * mm),
        Paragraph(f"Lập lúc / Generated at: {document.generated_at.strftime('%d/%m/%Y %H:%M')} — "
                  f"Người lập / Generated by: {_esc(document.generated_by)}", styles["note"]),
        Spacer(1, 4 * mm),
    ]
    place_line = Paragraph("……………, ngày …… tháng …… năm ……", ParagraphStyle("place", parent=base, alignment=TA_RIGHT, fontSize=9.5))
    signature_cells = [
        [Paragraph(_esc(vi), styles["sign"]), Paragraph(_esc(en), styles["sign_en"]),
         Paragraph("(Ký, ghi rõ họ tên / Signature, full name)", styles["sign_en"]), Spacer(1, 22 * mm),
         Paragraph("………………………………", styles["sign_en"])]
        for vi, en in document.signatures
    ]
    signatures = Table([signature_cells], colWidths=[usable / len(signature_cells)] * len(signature_cells))
    signatures.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(KeepTogether([place_line, Spacer(1, 3 * mm), signatures]))
    SimpleDocTemplate(path, pagesize=page, leftMargin=margin, rightMargin=margin, topMargin=12 * mm, bottomMargin=14 * mm,
                      title=f"{document.title_vi} — {document.period_label}", author=document.generated_by,
                      subject=document.title_en).build(story, onFirstPage=footer, onLaterPages=footer)
