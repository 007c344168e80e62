"""Member import (CSV and XLSX): all rows or none, per-row errors, idempotent re-import."""

import csv
import io

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borrowers.models import Member
from tests.foundation.test_api_core import assert_error

pytestmark = pytest.mark.django_db

HEADER = ["national_id", "full_name", "date_of_birth", "gender", "phone", "branch_code", "employer", "monthly_income", "household_size",
          "household_status", "household_certificate_number", "joined_union_on"]


def rows(n=3, branch="CD-MAY10"):
    return [[f"0011900{i:05d}", f"Thành viên {i}", "1985-03-0" + str(1 + i % 9), "nữ" if i % 2 else "male", f"09{i:08d}", branch,
             "May 10", str(6_000_000 + i * 1000), str(1 + i % 6), "near_poor" if i % 2 else "low_income", "", "2018-01-15"] for i in range(n)]


def as_csv(data, header=HEADER) -> io.BytesIO:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(data)
    out = io.BytesIO(buf.getvalue().encode("utf-8-sig"))  # spreadsheet programs write a BOM
    out.name = "members.csv"
    return out


def as_xlsx(data, header=HEADER) -> io.BytesIO:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in data:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "members.xlsx"
    return out


def upload(api, user, file):
    file.seek(0)
    return api(user).post("/api/v1/members/import/", {"file": file}, format="multipart")


def test_csv_import_creates_then_reimport_changes_nothing_then_an_edit_updates(api, staff, branch):
    data = rows(3)
    r = upload(api, staff.officer, as_csv(data))
    assert r.status_code == 200, r.json()
    assert r.json() == {"total": 3, "created": 3, "updated": 0, "unchanged": 0}
    member = Member.objects.get(national_id="001190000001")
    assert member.gender == "female" and member.monthly_income.amount == 6_001_000 and member.branch == branch
    assert member.history.count() == 1  # bulk import keeps the audit trail

    history_rows = Member.history.count()
    r = upload(api, staff.officer, as_csv(data))
    assert r.json() == {"total": 3, "created": 0, "updated": 0, "unchanged": 3}
    assert Member.history.count() == history_rows  # nothing written at all

    data[1][7] = "6500000"
    data.append(rows(4)[3])
    r = upload(api, staff.officer, as_csv(data))
    assert r.json() == {"total": 4, "created": 1, "updated": 1, "unchanged": 2}
    member.refresh_from_db()
    assert member.monthly_income.amount == 6_500_000
    assert member.history.count() == 2


def test_xlsx_import_with_numbers_and_dates_as_spreadsheets_store_them(api, staff, branch):
    from datetime import datetime

    data = rows(2)
    # Numeric cells: the CCCD lost its leading zeros, the phone its leading 0; a real date cell.
    data[0][0], data[0][4], data[0][2], data[0][7] = 11900000000, 912345678, datetime(1985, 3, 2), 6000000
    r = upload(api, staff.officer, as_xlsx(data))
    assert r.status_code == 200, r.json()
    assert r.json()["created"] == 2
    m = Member.objects.get(national_id="011900000000")
    assert m.phone == "0912345678" and str(m.date_of_birth) == "1985-03-02"
    assert upload(api, staff.officer, as_xlsx(data)).json()["unchanged"] == 2


def test_one_bad_row_imports_nothing_and_reports_row_column_and_message(api, staff, branch):
    data = rows(5)
    data[2][0] = "12345"  # row 4 in the sheet (header is row 1)
    data[3][7] = "5000000.50"
    data[4][5] = "NO-SUCH-UNION"
    data[1][0] = data[0][0]  # duplicate in the file
    for build in (as_csv, as_xlsx):
        r = upload(api, staff.officer, build(data))
        assert r.status_code == 400
        errors = r.json()["errors"]
        assert r.json()["type"] == "validation_error"
        found = {(e["row"], e["attr"], e["code"]) for e in errors}
        assert found == {(3, "national_id", "duplicate_in_file"), (4, "national_id", "invalid_national_id"),
                         (5, "monthly_income", "fractional_amount"), (6, "branch_code", "unknown_branch")}
        assert all(e["detail"] for e in errors)
        assert Member.objects.count() == 0 and Member.history.count() == 0


def test_a_bad_row_after_valid_updates_rolls_back_everything(api, staff, branch):
    upload(api, staff.officer, as_csv(rows(2)))
    data = rows(3)
    data[0][7] = "9999000"  # would update
    data[2][9] = "wealthy"
    before = list(Member.objects.order_by("pk").values_list("monthly_income", flat=True))
    r = upload(api, staff.officer, as_csv(data))
    assert_error(r, 400, "invalid_choice", "household_status")
    assert list(Member.objects.order_by("pk").values_list("monthly_income", flat=True)) == before


@pytest.mark.parametrize("content, name, code", [
    (b"not a spreadsheet", "members.xlsx", "invalid_file"),
    (b"national_id,full_name\n", "members.csv", "missing_column"),
    (b"\xff\xfe\x00bad", "members.csv", "invalid_file"),
    (b"a,b", "members.txt", "unsupported_format"),
    (",".join(HEADER).encode() + b"\n", "members.csv", "empty_file"),
    (",".join(HEADER + ["shoe_size"]).encode() + b"\n", "members.csv", "unknown_column"),
])
def test_unreadable_files_get_400_never_500(api, staff, content, name, code):
    file = io.BytesIO(content)
    file.name = name
    assert_error(upload(api, staff.officer, file), 400, code)


def test_import_needs_a_file(api, staff):
    assert_error(api(staff.officer).post("/api/v1/members/import/", {}, format="multipart"), 400, "required", "file")


_funds = iter(range(10_000))


@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(incomes=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=12),
       names=st.lists(st.text(alphabet="aăâbdđeêghiklmnoôơpqrstuưvxyÀÁẠẢÃàáạảãệỗ ", min_size=1, max_size=20).map(str.strip)
                      .filter(bool), min_size=12, max_size=12),
       changed=st.sets(st.integers(min_value=0, max_value=11)))
def test_import_counts_are_exact_and_reimport_is_a_no_op(api, incomes, names, changed):
    """Any valid file: first import creates every row; the same file again changes nothing; a file
    with k rows edited updates exactly k and leaves the rest unchanged."""
    from borrowers.services import branch_create
    from loanfund.services.fund import fund_create, staff_user_create

    fund = fund_create(code=f"imp{next(_funds)}", name="Import property")
    branch_create(fund=fund, code="CD-MAY10", name="CĐCS")
    officer = staff_user_create(fund=fund, username=f"{fund.code}-officer", password="x" * 12, role_names=["officer"])
    data = rows(len(incomes))
    for row, income, name in zip(data, incomes, names, strict=False):
        row[7], row[1] = str(income), name
    assert upload(api, officer, as_csv(data)).json() == {"total": len(data), "created": len(data), "updated": 0, "unchanged": 0}
    history = Member.history.filter(fund=fund).count()
    assert upload(api, officer, as_xlsx(data)).json() == {"total": len(data), "created": 0, "updated": 0, "unchanged": len(data)}
    assert Member.history.filter(fund=fund).count() == history
    edited = {i for i in changed if i < len(data)}
    for i in edited:
        data[i][7] = str(int(data[i][7]) + 1)
    assert upload(api, officer, as_csv(data)).json() == {"total": len(data), "created": 0, "updated": len(edited),
                                                         "unchanged": len(data) - len(edited)}
    assert sorted(m.monthly_income.amount for m in Member.objects.filter(fund=fund)) == sorted(int(r[7]) for r in data)
