"""CSV in UTF-8 with a byte-order mark, so spreadsheet programs read the Vietnamese diacritics.

Sections follow one another in one file: a `#` line naming the section, the Vietnamese header, the
English header, the rows, and an empty line. Amounts are plain whole đồng digits.
"""

from __future__ import annotations

import csv

from compliance.rendering.document import Document, format_number


def write_csv(document: Document, path: str) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow([f"# {document.title_vi} / {document.title_en}", document.fund_name, document.period_label,
                      document.snapshot_date.isoformat()])
        out.writerow([])
        for section in document.sections:
            out.writerow([f"# {section.key}", section.title_vi, section.title_en])
            out.writerow([c.label_vi for c in section.columns])
            out.writerow([c.label_en for c in section.columns])
            for row in section.rows():
                out.writerow([format_number(row.get(c.key), c.kind_for(row)) for c in section.columns])
            out.writerow([])
