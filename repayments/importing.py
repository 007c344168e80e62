"""Collection sheet import: a grassroots union's payroll deductions, the whole file or nothing.

Columns (header row, any order): `national_id` or `loan_number`, `amount`, `date` (YYYY-MM-DD),
`reference`, optional `channel` (default payroll_deduction). A reference already posted in the
fund is skipped (importing the same sheet twice moves money once).
"""

from __future__ import annotations

import csv
import io
from datetime import date

from django.db import transaction

from loanfund.errors import DomainError
from loanfund.money import AmountError, parse_amount

from .models import Loan, Repayment
from .services import RepaymentLine, collection_sheet_post

MAX_ROWS = 5000


def _rows(upload) -> list[dict]:
    name = (getattr(upload, "name", "") or "").lower()
    data = upload.read()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        except Exception:  # noqa: BLE001 - any unreadable workbook is the client's error
            raise DomainError("invalid_file", "The file is not a readable XLSX workbook.", attr="file", status=400)
        values = list(sheet.iter_rows(values_only=True))
        if not values:
            return []
        header = [str(h or "").strip().lower() for h in values[0]]
        return [{header[i]: ("" if v is None else (v.isoformat()[:10] if hasattr(v, "isoformat") else str(v))).strip()
                 for i, v in enumerate(row) if i < len(header)} for row in values[1:] if any(v not in (None, "") for v in row)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("invalid_file", "A CSV collection sheet must be UTF-8.", attr="file", status=400)
    reader = csv.DictReader(io.StringIO(text))
    return [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader if any((v or "").strip() for v in row.values())]


@transaction.atomic
def collection_sheet_import(*, fund, upload, posted_by) -> dict:
    rows = _rows(upload)
    if not rows:
        raise DomainError("empty_file", "The collection sheet has no rows.", attr="file", status=400)
    if len(rows) > MAX_ROWS:
        raise DomainError("too_many_rows", f"At most {MAX_ROWS} rows per sheet.", attr="file", status=400)
    errors, parsed = [], []
    seen = set()
    by_number, by_member = _open_loans(fund, rows)
    for number, row in enumerate(rows, start=2):
        def fail(code, detail, attr, number=number):
            errors.append({"row": number, "code": code, "detail": detail, "attr": attr})

        try:
            amount = parse_amount(row.get("amount", ""))
        except AmountError as exc:
            fail(exc.code, exc.detail, "amount")
            continue
        try:
            paid_on = date.fromisoformat(row.get("date", ""))
        except ValueError:
            fail("invalid", "date must be YYYY-MM-DD.", "date")
            continue
        reference = row.get("reference", "")
        if not reference:
            fail("required", "reference is required.", "reference")
            continue
        if reference in seen:
            fail("duplicate_reference", "The reference appears twice in the sheet.", "reference")
            continue
        seen.add(reference)
        if row.get("loan_number"):
            found = [by_number[row["loan_number"]]] if row["loan_number"] in by_number else []
        elif row.get("national_id"):
            found = by_member.get(row["national_id"], [])
        else:
            fail("required", "Give national_id or loan_number.", "national_id")
            continue
        if len(found) != 1:
            fail("loan_not_found" if not found else "ambiguous_member", "No open loan matches." if not found
                 else "The member has several open loans: give loan_number.", "loan_number")
            continue
        parsed.append((number, found[0], amount, paid_on, reference, row.get("channel") or Repayment.Channel.PAYROLL_DEDUCTION))
    if errors:
        raise DomainError("import_failed", f"{len(errors)} row(s) are invalid: nothing was imported.", attr="file", status=400,
                          extra={"rows": errors})
    existing = set(Repayment.objects.filter(fund=fund, reference__in=[p[4] for p in parsed]).values_list("reference", flat=True))
    todo = sorted((p for p in parsed if p[4] not in existing), key=lambda p: (p[3], p[0]))
    try:
        created = collection_sheet_post(fund=fund, lines=[RepaymentLine(loan_id, amount, paid_on, reference, channel)
                                                          for _, loan_id, amount, paid_on, reference, channel in todo], posted_by=posted_by)
    except DomainError as exc:
        if exc.code != "repayments_refused":
            raise
        raise DomainError("import_failed", f"{len(exc.extra['lines'])} row(s) could not be posted: nothing was imported.", attr="file",
                          status=400, extra={"rows": [{"row": todo[r["line"]][0], "code": r["code"], "detail": r["detail"], "attr": r["attr"]}
                                                      for r in exc.extra["lines"]]}) from None
    return {"imported": len(created), "skipped_existing": len(existing), "repayments": [r.pk for r in created]}


def _open_loans(fund, rows) -> tuple[dict[str, int], dict[str, list[int]]]:
    """The loans the sheet's rows name, in two queries: by loan number (open or written off: a
    recovery), and the open loans by the member's national id."""
    numbers = {row["loan_number"] for row in rows if row.get("loan_number")}
    national_ids = {row["national_id"] for row in rows if row.get("national_id") and not row.get("loan_number")}
    by_number = dict(Loan.objects.filter(fund=fund, number__in=numbers, status__in=Loan.OPEN_STATUSES + (Loan.Status.WRITTEN_OFF,))
                     .values_list("number", "pk")) if numbers else {}
    by_member: dict[str, list[int]] = {}
    if national_ids:
        for national_id, pk in (Loan.objects.filter(fund=fund, member__national_id__in=national_ids, status__in=Loan.OPEN_STATUSES)
                                .order_by("pk").values_list("member__national_id", "pk")):
            by_member.setdefault(national_id, []).append(pk)
    return by_number, by_member
