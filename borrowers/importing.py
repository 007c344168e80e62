"""Member import from CSV or XLSX (tablib + openpyxl): all rows or none, matched on national ID.

Every row is parsed and checked first; any error (row, column, message) rejects the whole file
and nothing is written. Then the whole file is applied in one transaction with bulk statements
(a few queries for the file, never one per row) and history rows written in bulk too. Re-importing
the same file finds every member unchanged and writes nothing.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import tablib
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from borrowers.models import MOBILE_RE, NATIONAL_ID_RE, Member, UnionBranch
from loanfund.models import Fund
from loanfund.money import VND, AmountError, parse_amount

FIRST_DATA_ROW = 2  # row numbers as a spreadsheet shows them: the header is row 1
MAX_ROWS = 100_000
MAX_ERRORS = 1000

COLUMNS = ("national_id", "full_name", "date_of_birth", "gender", "phone", "address", "branch_code", "employer",
           "monthly_income", "currency", "household_size", "household_status", "household_certificate_number",
           "joined_union_on", "status")
REQUIRED = ("national_id", "full_name", "date_of_birth", "branch_code", "monthly_income", "household_status", "joined_union_on")
# Fields compared to decide updated / unchanged (the file wins for every one of them).
COMPARED = ("full_name", "date_of_birth", "gender", "phone", "address", "branch_id", "employer", "monthly_income",
            "household_size", "household_status", "household_certificate_number", "joined_union_on", "status")
GENDER_ALIASES = {"nam": "male", "nữ": "female", "nu": "female", "m": "male", "f": "female"}

_national_id = re.compile(NATIONAL_ID_RE)
_mobile = re.compile(MOBILE_RE)


@dataclass
class RowError:
    row: int | None
    column: str | None
    code: str
    message: str

    def as_error(self) -> dict:
        return {"code": self.code, "detail": self.message, "attr": self.column, "row": self.row}


class ImportRejected(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    created_ids: list[int] = field(default_factory=list)


def load_rows(content: bytes, filename: str) -> tablib.Dataset:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    try:
        if ext == "xlsx":
            return tablib.Dataset().load(io.BytesIO(content), format="xlsx")
        if ext == "csv":
            return tablib.Dataset().load(content.decode("utf-8-sig"), format="csv")
    except UnicodeDecodeError as exc:
        raise ImportRejected([RowError(None, None, "invalid_file", "A CSV file must be UTF-8 encoded.")]) from exc
    except Exception as exc:  # noqa: BLE001 - any parser failure means an unreadable file, never a 500
        raise ImportRejected([RowError(None, None, "invalid_file", f"The file cannot be read as {ext.upper()}: {type(exc).__name__}.")]) from exc
    raise ImportRejected([RowError(None, "file", "unsupported_format", "Send a .csv or .xlsx file.")])


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value, column: str, row: int, errors: list[RowError]) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    errors.append(RowError(row, column, "invalid_date", "A date as YYYY-MM-DD (or DD/MM/YYYY)."))
    return None


def _amount(value, column: str, row: int, errors: list[RowError]) -> Decimal | None:
    # Spreadsheet cells holding whole numbers arrive as int (or an integral float); never round one.
    if isinstance(value, bool):
        value = "invalid"
    if isinstance(value, int):
        value = str(value)
    elif isinstance(value, float):
        value = str(int(value)) if value.is_integer() else f"{value}"
    try:
        return parse_amount(_text(value), allow_zero=True)
    except AmountError as exc:
        errors.append(RowError(row, column, exc.code, exc.detail))
        return None


def _parse_row(raw: dict, row: int, branches: dict[str, int], today: date, errors: list[RowError]) -> dict | None:
    before = len(errors)
    for column in REQUIRED:
        if _text(raw.get(column)) == "":
            errors.append(RowError(row, column, "required", "This column is required."))
    if len(errors) > before:
        return None
    out: dict = {}
    national_id = raw["national_id"]
    # A spreadsheet that stored the CCCD as a number dropped its leading zeros (Hà Nội's begin 001).
    national_id = str(national_id).zfill(12) if isinstance(national_id, int) else _text(national_id)
    if not _national_id.match(national_id):
        errors.append(RowError(row, "national_id", "invalid_national_id", "A national ID (CCCD) is exactly 12 digits."))
    out["national_id"] = national_id
    out["full_name"] = _text(raw["full_name"])[:200]
    out["date_of_birth"] = _date(raw["date_of_birth"], "date_of_birth", row, errors)
    out["joined_union_on"] = _date(raw["joined_union_on"], "joined_union_on", row, errors)
    for column in ("date_of_birth", "joined_union_on"):
        if out[column] and out[column] > today:
            errors.append(RowError(row, column, "future_date", "This date is in the future."))
    gender = _text(raw.get("gender")).lower()
    gender = GENDER_ALIASES.get(gender, gender)
    if gender not in ("", *Member.Gender.values):
        errors.append(RowError(row, "gender", "invalid_choice", f"One of {', '.join(Member.Gender.values)}."))
    out["gender"] = gender
    phone = raw.get("phone")
    phone = ("0" + str(phone)) if isinstance(phone, int) and len(str(phone)) == 9 else _text(phone).replace(" ", "").replace(".", "")
    if phone and not _mobile.match(phone):
        errors.append(RowError(row, "phone", "invalid_phone", "A Vietnamese mobile number: 0 or +84, then 9 digits starting 3, 5, 7, 8 or 9."))
    out["phone"] = phone
    branch_code = _text(raw["branch_code"])
    out["branch_id"] = branches.get(branch_code)
    if out["branch_id"] is None:
        errors.append(RowError(row, "branch_code", "unknown_branch", f"No grassroots union with code {branch_code!r} in this fund."))
    currency = _text(raw.get("currency")) or VND
    if currency != VND:
        errors.append(RowError(row, "currency", "unsupported_currency", "Only VND is accepted."))
    out["monthly_income"] = _amount(raw["monthly_income"], "monthly_income", row, errors)
    size = _text(raw.get("household_size")) or "1"
    if not size.isdigit() or int(size) < 1 or int(size) > 100:
        errors.append(RowError(row, "household_size", "invalid", "A whole number of people, at least 1."))
    else:
        out["household_size"] = int(size)
    status = _text(raw["household_status"]).lower()
    if status not in Member.HouseholdStatus.values:
        errors.append(RowError(row, "household_status", "invalid_choice", f"One of {', '.join(Member.HouseholdStatus.values)}."))
    out["household_status"] = status
    member_status = _text(raw.get("status")).lower() or Member.Status.ACTIVE
    if member_status not in Member.Status.values:
        errors.append(RowError(row, "status", "invalid_choice", f"One of {', '.join(Member.Status.values)}."))
    out["status"] = member_status
    out["household_certificate_number"] = _text(raw.get("household_certificate_number"))[:50]
    out["address"] = _text(raw.get("address"))[:300]
    out["employer"] = _text(raw.get("employer"))[:200]
    return None if len(errors) > before else out


def parse_members(dataset: tablib.Dataset, *, fund: Fund, today: date) -> list[dict]:
    """Every row checked; raises ImportRejected with every error found (up to MAX_ERRORS)."""
    headers = [_text(h).lower() for h in (dataset.headers or [])]
    errors: list[RowError] = []
    unknown = [h for h in headers if h and h not in COLUMNS]
    for h in unknown:
        errors.append(RowError(1, h, "unknown_column", f"Unknown column; the columns are {', '.join(COLUMNS)}."))
    for column in REQUIRED:
        if column not in headers:
            errors.append(RowError(1, column, "missing_column", "This column is required in the header row."))
    if errors:
        raise ImportRejected(errors)
    if dataset.height == 0:
        raise ImportRejected([RowError(None, None, "empty_file", "The file has no member rows.")])
    if dataset.height > MAX_ROWS:
        raise ImportRejected([RowError(None, None, "too_many_rows", f"At most {MAX_ROWS} rows per file.")])
    branches = dict(UnionBranch.objects.filter(fund=fund).values_list("code", "id"))
    rows, seen = [], {}
    for index, values in enumerate(dataset):
        row = index + FIRST_DATA_ROW
        raw = dict(zip(headers, values, strict=False))
        if all(_text(v) == "" for v in values):
            continue  # trailing blank lines spreadsheets leave behind
        parsed = _parse_row(raw, row, branches, today, errors)
        if parsed is not None:
            if parsed["national_id"] in seen:
                errors.append(RowError(row, "national_id", "duplicate_in_file", f"The same national ID is on row {seen[parsed['national_id']]}."))
            seen[parsed["national_id"]] = row
            rows.append(parsed)
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise ImportRejected(errors)
    return rows


@transaction.atomic
def members_import(*, fund: Fund, content: bytes, filename: str, imported_by, today: date | None = None) -> ImportResult:
    today = today or timezone.localdate()
    rows = parse_members(load_rows(content, filename), fund=fund, today=today)
    # Lock the fund's members touched by the file: a concurrent edit waits rather than being lost.
    existing = {m.national_id: m for m in Member.objects.select_for_update().filter(fund=fund, national_id__in=[r["national_id"] for r in rows])}
    now = timezone.now()
    to_create, to_update = [], []
    result = ImportResult(total=len(rows))
    for values in rows:
        member = existing.get(values["national_id"])
        if member is None:
            to_create.append(Member(fund=fund, created_at=now, updated_at=now, **values))
            continue
        if all(_same(getattr(member, name), values[name]) for name in COMPARED):
            result.unchanged += 1
            continue
        for name in COMPARED:
            setattr(member, name, values[name])
        member.updated_at = now
        to_update.append(member)
    if to_create:
        created = bulk_create_with_history(to_create, Member, batch_size=2000, default_user=imported_by,
                                           default_change_reason="member import")
        result.created_ids = [m.pk for m in created]
    if to_update:
        bulk_update_with_history(to_update, Member, fields=[*COMPARED, "updated_at"], batch_size=500, default_user=imported_by,
                                 default_change_reason="member import")
    result.created, result.updated = len(to_create), len(to_update)
    return result


def _same(current, new) -> bool:
    current = getattr(current, "amount", current)  # Money -> Decimal
    return current == new
