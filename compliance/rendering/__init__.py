"""Report rendering from a declarative document: sections -> columns -> rows, to XLSX, CSV and PDF.

The renderers know nothing about loans: a report definition (compliance/reports/) builds a
`Document` whose sections yield rows from SQL; each writer streams them to a file.
"""

from compliance.rendering.document import Column, Document, Section, format_number
from compliance.rendering.to_csv import write_csv
from compliance.rendering.to_pdf import write_pdf
from compliance.rendering.to_xlsx import write_xlsx

WRITERS = {"xlsx": write_xlsx, "csv": write_csv, "pdf": write_pdf}

__all__ = ["Column", "Document", "Section", "WRITERS", "format_number", "write_csv", "write_pdf", "write_xlsx"]
