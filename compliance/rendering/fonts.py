"""A TrueType font with Vietnamese glyphs for the PDF (reportlab's built-in fonts lack them).

DejaVu Sans ships with Debian's `fonts-dejavu-core` (in `.ci/run`'s install list) and most Linux
distributions; `COMPLIANCE_PDF_FONT_DIR` points elsewhere. Missing fonts fail loudly: a PDF with
boxes instead of "Người lập biểu" is worse than no PDF.
"""

from __future__ import annotations

import os
from functools import cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FACES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf", "italic": "DejaVuSans-Oblique.ttf"}
SEARCH_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian / Ubuntu: fonts-dejavu-core
    "/usr/share/fonts/dejavu",  # Fedora, Alpine
    "/usr/share/fonts/TTF",  # Arch
    "/usr/local/share/fonts",
    "/Library/Fonts",
)


class FontMissing(RuntimeError):
    pass


def font_dirs() -> list[str]:
    dirs = [os.environ["COMPLIANCE_PDF_FONT_DIR"]] if os.environ.get("COMPLIANCE_PDF_FONT_DIR") else []
    try:  # matplotlib bundles DejaVu Sans when it is installed
        import matplotlib

        dirs.append(os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf"))
    except ImportError:
        pass
    return dirs + list(SEARCH_DIRS)


@cache
def register_fonts() -> dict[str, str]:
    """Register the faces with reportlab once; returns face -> reportlab font name."""
    for directory in font_dirs():
        paths = {face: os.path.join(directory, name) for face, name in FACES.items()}
        if all(os.path.exists(p) for p in paths.values()):
            names = {}
            for face, path in paths.items():
                name = f"ReportSans-{face}"
                pdfmetrics.registerFont(TTFont(name, path))
                names[face] = name
            pdfmetrics.registerFontFamily("ReportSans", normal=names["regular"], bold=names["bold"],
                                          italic=names["italic"], boldItalic=names["bold"])
            return names
    raise FontMissing("DejaVu Sans not found (install Debian's fonts-dejavu-core or set COMPLIANCE_PDF_FONT_DIR).")
