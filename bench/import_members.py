"""Benchmark: import 10,000 members from one XLSX file through POST /api/v1/members/import/.

    python -m tests.services -- python bench/import_members.py [--rows 10000] [--keep-file PATH]

Generates the file (openpyxl, write-only), migrates a fresh database (PostgreSQL when run under
tests.services, which starts a throwaway cluster), creates a fund with 20 grassroots unions and
an officer, then times: the first import (all rows created), the same file again (all unchanged,
nothing written), and the file with 1 bad row (rejected, nothing written). Target: < 30 s for the
first import.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "0")

import django  # noqa: E402

django.setup()

import openpyxl  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

STATUSES = ["poor", "near_poor", "newly_escaped_poverty", "low_income", "other"]
HEADER = ["national_id", "full_name", "date_of_birth", "gender", "phone", "address", "branch_code", "employer", "monthly_income",
          "currency", "household_size", "household_status", "household_certificate_number", "joined_union_on"]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
GIVEN = ["Thị Lan", "Văn An", "Thị Hoa", "Văn Bình", "Thị Mai", "Văn Cường", "Thị Hạnh", "Văn Dũng"]


def build_xlsx(rows: int, bad_row: int | None = None) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("members")
    sheet.append(HEADER)
    for i in range(rows):
        national_id = f"0{(i % 96) + 1:02d}1{85 + i % 15:02d}{i:06d}"
        income = str(4_000_000 + (i % 60) * 100_000)
        if bad_row is not None and i == bad_row:
            income = "5000000.5"
        sheet.append([national_id, f"{SURNAMES[i % 10]} {GIVEN[i % 8]}", date(1970 + i % 35, 1 + i % 12, 1 + i % 28),
                      "female" if i % 3 else "male", f"09{i:08d}", f"Số {i % 300} phố Lò Đúc, Hà Nội", f"CD-{i % 20:02d}",
                      f"Công ty {i % 20}", income, "VND", 1 + i % 7, STATUSES[i % 5], f"CN-{i:06d}" if i % 5 < 2 else "",
                      date(2010 + i % 14, 1 + i % 12, 1 + i % 28)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client: APIClient, content: bytes):
    file = io.BytesIO(content)
    file.name = "members.xlsx"
    started = time.perf_counter()
    response = client.post("/api/v1/members/import/", {"file": file}, format="multipart")
    return response, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--keep-file")
    args = parser.parse_args()

    from django.db import connection

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    from borrowers.models import Member, UnionBranch
    from loanfund.services.fund import fund_create, staff_user_create

    fund = fund_create(code=f"bench{int(time.time())}", name="Benchmark fund")
    UnionBranch.objects.bulk_create(UnionBranch(fund=fund, code=f"CD-{i:02d}", name=f"CĐCS {i}") for i in range(20))
    officer = staff_user_create(fund=fund, username=f"{fund.code}-officer", password="bench-pass-123", role_names=["officer"])
    client = APIClient()
    client.force_authenticate(officer)

    started = time.perf_counter()
    content = build_xlsx(args.rows)
    print(f"generated {args.rows} rows: {len(content) / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
    if args.keep_file:
        Path(args.keep_file).write_bytes(content)

    response, first = upload(client, content)
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == args.rows, response.json()
    assert Member.objects.filter(fund=fund).count() == args.rows
    print(f"first import:  {first:6.2f} s  {response.json()}")

    response, again = upload(client, content)
    assert response.json()["unchanged"] == args.rows, response.json()
    print(f"re-import:     {again:6.2f} s  {response.json()}")

    bad = build_xlsx(args.rows, bad_row=args.rows - 1)
    history = Member.history.count()
    response, rejected = upload(client, bad)
    assert response.status_code == 400 and Member.history.count() == history
    print(f"one bad row:   {rejected:6.2f} s  400, errors={[(e['row'], e['attr'], e['code']) for e in response.json()['errors']]}")

    verdict = "PASS" if first < 30 else "FAIL"
    print(f"RESULT {verdict}: {args.rows} members imported from XLSX in {first:.2f} s (target < 30 s)")
    return 0 if first < 30 else 1


if __name__ == "__main__":
    sys.exit(main())
