"""The State Bank operations report's rows come from a template, not from code.

A template is a JSON file: {"title_vi", "title_en", "basis", "rows": [...]}, each row
{"code", "label_vi", "label_en"} plus one of
- "figure": a figure key (see `compliance.reports.figures.compute_figures`: "portfolio.gross",
  "savings.voluntary", "account.<code>" for any ledger account's balance at the period end,
  "movement.<code>" for its movement in the period, ...);
- "sum": a list of earlier row codes whose figures are added up;
- neither: a heading row.
A fund aligns the report with the form it files by placing `<fund code>.json` in
`settings.COMPLIANCE_SBV_TEMPLATE_DIR` (default: this app's `sbv_templates/`); otherwise
`default.json` applies. An unknown figure or row code fails the report with a message naming it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from loanfund.errors import DomainError

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "sbv_templates"


def template_dir() -> Path:
    return Path(getattr(settings, "COMPLIANCE_SBV_TEMPLATE_DIR", "") or DEFAULT_DIR)


def load_template(fund) -> dict:
    for directory in (template_dir(), DEFAULT_DIR):
        path = directory / f"{fund.code}.json"
        if path.exists():
            break
    else:
        path = template_dir() / "default.json"
        if not path.exists():
            path = DEFAULT_DIR / "default.json"
    with open(path, encoding="utf-8") as handle:
        template = json.load(handle)
    template["source"] = str(path)
    return template


def template_rows(template: dict, figures) -> list[dict]:
    rows, by_code = [], {}
    for spec in template["rows"]:
        code = str(spec["code"])
        row = {"code": code, "label_vi": spec["label_vi"], "label_en": spec["label_en"], "value": None, "_kind": "text"}
        if "figure" in spec:
            key = spec["figure"]
            if key not in figures.values:
                raise DomainError("invalid_template", f"Template row {code}: unknown figure {key!r} ({template.get('source')}).")
            row["value"], row["_kind"] = figures[key], figures.kinds[key]
        elif "sum" in spec:
            missing = [c for c in spec["sum"] if c not in by_code]
            if missing:
                raise DomainError("invalid_template", f"Template row {code}: sums unknown or later rows {missing}.")
            row["value"] = sum((Decimal(by_code[c]["value"] or 0) for c in spec["sum"]), Decimal(0))
            row["_kind"] = by_code[spec["sum"][0]]["_kind"] if spec["sum"] else "money"
        else:
            row["_heading"] = True
        by_code[code] = row
        rows.append(row)
    return rows
