"""The Must-show portfolio (tests/compliance/portfolio.py): every figure of June 2025 and Q2 2025
worked out by hand below, then asserted in each report and each format (XLSX read back with
openpyxl, CSV with csv, PDF text with pypdf); and the provisioning entries against the ledger."""

import csv
import re
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from pypdf import PdfReader

from compliance.models import ClassificationSnapshot, ComplianceReport, ProvisionRun
from compliance.rendering.document import display, format_number
from compliance.reports import definitions
from compliance.reports.sbv_template import load_template
from compliance.services.provisioning import period_classify
from compliance.services.reports import report_generate, report_request
from loanfund import chart
from loanfund.models import JournalEntry
from repayments.services import repayment_post
from tests.compliance.portfolio import build

pytestmark = pytest.mark.django_db
M = 1_000_000
JUNE = date(2025, 6, 30)

# ---- June 30, 2025 by hand -------------------------------------------------------------------
# loan: (group, days past due, restructurings, principal outstanding)
#   L1 7M (12M - 5 x 1M), current; L2 22M, oldest unpaid May 10 -> 51 days (group 3);
#   L3 6M, Jun 20 unpaid -> 10 days (group 2); L4 18M new; L5 12M, Jan 10 unpaid -> 171 days (group 4);
#   L6 8M, restructured once, current (group 2); L8 16M; L9 33M, Jun 10 unpaid -> 20 days (group 2);
#   L11 7M, restructured twice, current (group 4); L12 9M new. L7 written off, L10 closed: outside.
JUNE_SNAPSHOT = {
    "L1": (1, 0, 0, 7 * M), "L2": (3, 51, 0, 22 * M), "L3": (2, 10, 0, 6 * M), "L4": (1, 0, 0, 18 * M),
    "L5": (4, 171, 0, 12 * M), "L6": (2, 0, 1, 8 * M), "L8": (1, 0, 0, 16 * M), "L9": (2, 20, 0, 33 * M),
    "L11": (4, 0, 2, 7 * M), "L12": (1, 0, 0, 9 * M),
}
# required provision: group 2: 2 % x (6 + 8 + 33)M = 940,000; group 3: 25 % x 22M = 5,500,000;
# group 4: 50 % x (12 + 7)M = 9,500,000 -> 15,940,000. May 31 required 16,620,000 (group 2: 2 % x
# (22 + 9)M = 620,000; group 4: 50 % x (12 + 8)M = 10,000,000; group 5: L7 6,000,000); the write-off
# of L7 used 6,000,000 of it, so 10,620,000 was held and the June run posts 5,320,000.
GROUPS = [  # group, loans, principal, rate %, provision, previous provision, change
    (1, 4, 50 * M, "0.00", 0, 0, 0),
    (2, 3, 47 * M, "2.00", 940_000, 620_000, 320_000),
    (3, 1, 22 * M, "25.00", 5_500_000, 0, 5_500_000),
    (4, 2, 19 * M, "50.00", 9_500_000, 10_000_000, -500_000),
    (5, 0, 0, "100.00", 0, 6_000_000, -6_000_000),
]
MOVEMENT = [16_620_000, 5_320_000, 0, 6_000_000, 15_940_000, 15_940_000, 0]

# gross 138M over 10 loans and 9 members (M1 holds L1 and L4); average gross = (122M at May 31 +
# 138M) / 2 = 130M; PAR1 = (22+6+12+8+33+7)/138 = 63.77 %; PAR30 = (22+12+8+7)/138 = 35.51 %;
# PAR90 = (12+8+7)/138 = 19.57 %; NPL = (22+12+7)/138 = 29.71 %; write-off 6/130 = 4.62 %;
# revenue = L1's June interest 120,000 + L12's fee 90,000 = 210,000 -> yield 0.16 %, annualised
# 1.94 %; expenses = provision 5,320,000 + operating 1,000,000 -> OSS 3.32 %.
INDICATORS = [
    ("portfolio.gross", 138 * M), ("portfolio.active_borrowers", 9), ("portfolio.active_loans", 10),
    ("portfolio.average_outstanding_per_borrower", 15_333_333), ("portfolio.average_gross", 130 * M),
    ("disbursements.count", 2), ("disbursements.amount", 27 * M),
    ("collections.principal", 5 * M), ("collections.interest", 120_000), ("collections.penalty", 0), ("collections.fees", 0),
    ("collections.savings", 240_000), ("collections.recovery", 500_000), ("collections.total", 5_860_000),
    ("portfolio.par1", "63.77"), ("portfolio.par30", "35.51"), ("portfolio.par90", "19.57"),
    ("portfolio.npl_principal", 41 * M), ("portfolio.npl_ratio", "29.71"),
    ("write_offs.principal", 6 * M), ("write_offs.ratio", "4.62"),
    ("portfolio.yield", "0.16"), ("portfolio.yield_annualised", "1.94"), ("oss", "3.32"),
    ("provision.required", 15_940_000), ("exposure.breaches", 1),
    ("savings.compulsory", 960_000), ("savings.voluntary", 0), ("capital.allocated", 10_000 * M),
    ("savings.voluntary_ratio", "0.00"), ("savings.voluntary_flag", "Đạt / Within"),
]
BY_PRODUCT = [  # code, loans, borrowers, principal, share %, PAR30 principal, PAR30 %
    ("FLAT", 3, 2, 58 * M, "42.03", 0, "0.00"),
    ("SAVE", 2, 2, 25 * M, "18.12", 0, "0.00"),
    ("ZERO", 5, 5, 55 * M, "39.86", 49 * M, "89.09"),
]
BY_BRANCH = [
    ("CD-A", 4, 3, 53 * M, "38.41", 22 * M, "41.51"),
    ("CD-B", 3, 3, 36 * M, "26.09", 20 * M, "55.56"),
    ("CD-C", 3, 3, 49 * M, "35.51", 7 * M, "14.29"),
]
BY_HOUSEHOLD = [
    ("low_income", 2, 2, 39 * M, "28.26", 0, "0.00"),
    ("near_poor", 2, 2, 30 * M, "21.74", 30 * M, "100.00"),
    ("other", 1, 1, 16 * M, "11.59", 0, "0.00"),
    ("poor", 5, 4, 53 * M, "38.41", 19 * M, "35.85"),
]
AGING = [  # Vietnamese label, loans, principal, share %
    ("Trong hạn (0 ngày)", 6, 65 * M, "47.10"), ("1–9 ngày", 0, 0, "0.00"), ("10–29 ngày", 2, 39 * M, "28.26"),
    ("30–89 ngày", 1, 22 * M, "15.94"), ("90–179 ngày", 1, 12 * M, "8.70"), ("Từ 180 ngày trở lên", 0, 0, "0.00"),
]
BREACHES = [("001090000008", "Nguyễn Văn M9", "CD-C", 33 * M, 30 * M, 3 * M)]

# ---- Q2 2025 (April-June) by hand ------------------------------------------------------------
# principal collected: Apr 10 (L1 1, L2 2, L8 2, L10 1) + May 10 (L1 1, L8 2, L9 3, L10 1) + May 15/20
# (L6 1, L11 1) + Jun (L1 1, L8 2, L6 1, L11 1) = 20M; disbursed L9 36 + L3 6 + L4 18 + L12 9 = 69M;
# interest income L1 3 x 120,000 + L9 360,000 = 720,000; provision expense 16,620,000 (May) +
# 5,320,000 (June); OSS = 810,000 / 22,940,000 = 3.53 %.
SBV_Q2 = [
    ("A", None), ("A1", 10_000 * M), ("A2", 0), ("A3", 0), ("A4", 0), ("A5", 960_000), ("A6", 0), ("A7", 10_000_960_000),
    ("A8", "0.00"), ("A9", "30.00"), ("A10", "Đạt / Within"),
    ("B", None), ("B1", 138 * M), ("B2", 9), ("B3", 10), ("B4", 69 * M), ("B5", 4), ("B6", 20 * M), ("B7", 73 * M),
    ("B8", 41 * M), ("B9", "29.71"), ("B10", 6 * M), ("B11", 15_940_000),
    ("C", None), ("C1", 720_000), ("C2", 0), ("C3", 90_000), ("C4", 500_000), ("C5", 0), ("C6", 1_310_000),
    ("C7", 21_940_000), ("C8", 0), ("C9", 1_000_000), ("C10", 22_940_000), ("C11", -21_630_000), ("C12", "3.53"),
]


@pytest.fixture
def portfolio(fund, staff):
    return build(fund, staff)


# ---- reading the files back --------------------------------------------------------------------

def generate(portfolio, kind, period):
    report = report_request(fund=portfolio.fund, kind=kind, period=period, requested_by=portfolio.staff.accountant, enqueue=False)
    report = report_generate(report_id=report.pk)
    assert report.status == ComplianceReport.Status.READY, report.error
    return {f.format: f.file.path for f in report.files.all()}


def xlsx_sections(path) -> list[list[list]]:
    wb = openpyxl.load_workbook(path)
    return [[list(row) for row in ws.iter_rows(min_row=5, values_only=True)] for ws in wb.worksheets]


def csv_sections(path) -> dict[str, list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    sections, key = {}, None
    for row in rows[2:]:
        if row and row[0].startswith("# "):
            key, skip = row[0][2:], 2
            sections[key] = []
        elif key and row:
            if skip:
                skip -= 1
            else:
                sections[key].append(row)
    return sections


def pdf_text(path) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(path).pages))


def xlsx_equal(cell, expected) -> bool:
    if expected is None:
        return cell is None
    if isinstance(expected, int):
        return cell == expected
    if re.fullmatch(r"-?\d+\.\d\d", expected):
        return Decimal(str(cell)).quantize(Decimal("0.01")) == Decimal(expected)
    return cell == expected


def csv_text(expected) -> str:
    if expected is None:
        return ""
    return format_number(expected, "money") if isinstance(expected, int) else expected


def pdf_print(expected) -> str:
    if isinstance(expected, int):
        return display(expected, "money")
    if re.fullmatch(r"-?\d+\.\d\d", expected):
        return display(Decimal(expected), "percent")
    return expected


# ---- the tests ---------------------------------------------------------------------------------

def test_classification_and_provisioning_post_the_change_once(portfolio):
    fund = portfolio.fund
    run = period_classify(fund=fund, period_end=JUNE, classified_by=portfolio.staff.accountant)
    ids = {key: loan.pk for key, loan in portfolio.loans.items()}
    got = {s.loan_id: (s.group, s.days_past_due, s.restructure_count, int(s.principal_outstanding.amount))
           for s in ClassificationSnapshot.objects.filter(run=run)}
    assert got == {ids[key]: value for key, value in JUNE_SNAPSHOT.items()}
    assert run.total_required.amount == 15_940_000 and run.previous_required.amount == 16_620_000
    assert run.balance_before.amount == 10_620_000 and run.change == 5_320_000
    lines = sorted(run.journal_entry.lines.values_list("account__code", "side", "amount"))
    assert lines == [(chart.LOAN_LOSS_PROVISION, "C", 5_320_000), (chart.PROVISION_EXPENSE, "D", 5_320_000)]
    assert run.journal_entry.entry_date == JUNE

    again = period_classify(fund=fund, period_end=JUNE)  # running it twice posts once
    assert again.pk == run.pk and again.change == 5_320_000
    assert again.classified_at == run.classified_at  # nothing new since: the run is reused, not recomputed
    refreshed = period_classify(fund=fund, period_end=JUNE, refresh=True)  # recomputed on demand: still nothing to post
    assert refreshed.classified_at > run.classified_at and refreshed.change == 5_320_000
    assert JournalEntry.objects.filter(fund=fund, kind="provision").count() == 2  # May's and June's
    assert ClassificationSnapshot.objects.filter(run=run).count() == 10

    # a late correction: L2's member pays May and June on Jun 28 -> L2 current (group 1), 18M; the
    # required provision falls by 5,500,000 and the re-run posts the reverse direction for that only
    repayment_post(fund=fund, loan_id=ids["L2"], amount=Decimal(4 * M), paid_on=date(2025, 6, 28), reference="LATE-1",
                   channel="cash", posted_by=portfolio.staff.officer)
    corrected = period_classify(fund=fund, period_end=JUNE)
    assert corrected.total_required.amount == 10_440_000 and corrected.change == 5_320_000 - 5_500_000
    adjustment = JournalEntry.objects.filter(fund=fund, kind="provision", source_id=str(run.pk)).order_by("-id").first()
    assert sorted(adjustment.lines.values_list("account__code", "side", "amount")) == [
        (chart.LOAN_LOSS_PROVISION, "D", 5_500_000), (chart.PROVISION_EXPENSE, "C", 5_500_000)]
    assert ProvisionRun.objects.filter(fund=fund, period_end=JUNE).count() == 1


def test_classification_provisioning_report_in_every_format(portfolio):
    files = generate(portfolio, "classification_provisioning", "2025-06")
    groups_x, movement_x = xlsx_sections(files["xlsx"])
    for row, (g, loans, principal, rate, provision, previous, change) in zip(groups_x, GROUPS, strict=False):
        assert row[0].startswith(f"Nhóm {g} ") and row[2:4] == [loans, principal]
        assert xlsx_equal(row[4], rate) and row[5:8] == [provision, previous, change]
    assert groups_x[5][0] == "Tổng cộng" and groups_x[5][2:4] == [10, 138 * M] and groups_x[5][5:8] == [15_940_000, 16_620_000, -680_000]
    assert [r[2] for r in movement_x] == MOVEMENT

    sections = csv_sections(files["csv"])
    for row, (_, loans, principal, rate, provision, previous, change) in zip(sections["groups"], GROUPS, strict=False):
        assert row[2:] == [str(loans), str(principal), rate, str(provision), str(previous), str(change)]
    assert sections["groups"][5][2:] == ["10", "138000000", "", "15940000", "16620000", "-680000"]
    assert [r[2] for r in sections["movement"]] == [str(v) for v in MOVEMENT]

    text = pdf_text(files["pdf"])
    for _, loans, principal, rate, provision, previous, change in GROUPS:
        printed = " ".join([str(loans), display(principal, "money"), display(Decimal(rate), "percent"), display(provision, "money"),
                            display(previous, "money"), display(change, "money")])
        assert printed in text, printed
    assert "Tổng cộng Total 10 138.000.000 — 15.940.000 16.620.000 -680.000" in text
    for label, amount in (("Số dư dự phòng đầu kỳ", 16_620_000), ("Số dư dự phòng cuối kỳ", 15_940_000), ("Sử dụng để xử lý rủi ro", 6 * M)):
        assert re.search(re.escape(label) + r".*?" + re.escape(display(amount, "money")), text), label
    for line in ("Người lập biểu", "Kế toán trưởng", "Giám đốc", "30/06/2025", "Quỹ alpha"):
        assert line in text


def test_monthly_portfolio_report_in_every_format(portfolio):
    files = generate(portfolio, "monthly_portfolio", "2025-06")
    indicators_x, product_x, branch_x, household_x, aging_x, breaches_x = xlsx_sections(files["xlsx"])
    assert [r[4] for r in indicators_x] == [key for key, _ in INDICATORS]  # the figure-key column
    for row, (key, expected) in zip(indicators_x, INDICATORS, strict=True):
        assert xlsx_equal(row[3], expected), (key, row[3], expected)
    for rows, expected_rows in ((product_x, BY_PRODUCT), (branch_x, BY_BRANCH), (household_x, BY_HOUSEHOLD)):
        assert len(rows) == len(expected_rows)
        for row, (code, loans, borrowers, principal, share, par30, par30_ratio) in zip(rows, expected_rows, strict=True):
            assert row[0] == code and row[2:5] == [loans, borrowers, principal] and row[6] == par30
            assert xlsx_equal(row[5], share) and xlsx_equal(row[7], par30_ratio)
    assert [(r[0], r[2], r[3]) for r in aging_x] == [(label, n, p) for label, n, p, _ in AGING]
    assert all(xlsx_equal(r[4], share) for r, (*_, share) in zip(aging_x, AGING, strict=True))
    assert [tuple(r) for r in breaches_x] == BREACHES

    sections = csv_sections(files["csv"])
    assert [(r[0], r[3], r[4]) for r in sections["indicators"]] == [
        (f"{n:02d}", csv_text(v), key) for n, (key, v) in enumerate(INDICATORS, start=1)]
    for key, expected_rows in (("by_product", BY_PRODUCT), ("by_branch", BY_BRANCH), ("by_household", BY_HOUSEHOLD)):
        assert [[r[0], *r[2:]] for r in sections[key]] == [[code, *map(csv_text, rest)] for code, *rest in expected_rows]
    assert [[r[0], r[2], r[3], r[4]] for r in sections["aging"]] == [[label, str(n), str(p), s] for label, n, p, s in AGING]
    assert sections["exposure_breaches"] == [[*row[:3], *(str(v) for v in row[3:])] for row in BREACHES]

    text = pdf_text(files["pdf"])
    labels = {key: (vi, en) for key, vi, en in definitions.INDICATORS}
    for n, (key, expected) in enumerate(INDICATORS, start=1):
        printed = f"{n:02d} {labels[key][0]} {labels[key][1]} {pdf_print(expected)}"
        assert printed in text, printed
    for code, loans, borrowers, principal, share, par30, par30_ratio in BY_PRODUCT + BY_BRANCH:
        printed = " ".join([str(loans), str(borrowers), display(principal, "money"), display(Decimal(share), "percent"),
                            display(par30, "money"), display(Decimal(par30_ratio), "percent")])
        assert printed in text, (code, printed)
    assert "001090000008 Nguyễn Văn M9 CD-C 33.000.000 30.000.000 3.000.000" in text
    assert "Tháng 06/2025" in text and "Người lập biểu" in text


def test_sbv_operations_report_from_the_template_in_every_format(portfolio):
    files = generate(portfolio, "sbv_operations", "2025-Q2")
    [rows_x] = xlsx_sections(files["xlsx"])
    assert [r[0] for r in rows_x] == [code for code, _ in SBV_Q2]
    for row, (code, expected) in zip(rows_x, SBV_Q2, strict=True):
        assert xlsx_equal(row[3], expected), (code, row[3], expected)
    csv_rows = csv_sections(files["csv"])["operations"]
    assert [(r[0], r[3]) for r in csv_rows] == [(code, csv_text(v)) for code, v in SBV_Q2]
    text = pdf_text(files["pdf"])
    template = {row["code"]: row for row in load_template(portfolio.fund)["rows"]}
    for code, expected in SBV_Q2:
        printed = f"{code} {template[code]['label_vi']} {template[code]['label_en']}" + (f" {pdf_print(expected)}" if expected else "")
        assert printed in text, printed
    assert "Quý 2/2025" in text and "30/06/2025" in text


def test_a_finalised_period_stays_frozen_and_a_correction_is_a_new_version(portfolio, api, django_capture_on_commit_callbacks):
    from django.db import InternalError, ProgrammingError, connection, transaction

    from compliance.services.reports import report_finalise

    staff, fund = portfolio.staff, portfolio.fund
    generate(portfolio, "classification_provisioning", "2025-06")
    v1 = ComplianceReport.objects.get(fund=fund, kind="classification_provisioning", period="2025-06")
    report_finalise(report=v1, finalised_by=staff.director)
    run1 = ProvisionRun.objects.get(pk=v1.provision_run_id)
    assert run1.frozen
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM compliance_classificationsnapshot WHERE run_id = %s", [run1.pk])
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic(), connection.cursor() as cur:
        cur.execute('UPDATE compliance_classificationsnapshot SET "group" = 1 WHERE run_id = %s', [run1.pk])

    # a late payment dated in June: the frozen run does not move ...
    repayment_post(fund=fund, loan_id=portfolio.loans["L2"].pk, amount=Decimal(4 * M), paid_on=date(2025, 6, 28), reference="LATE-2",
                   channel="cash", posted_by=staff.officer)
    assert period_classify(fund=fund, period_end=JUNE).pk == run1.pk
    assert ClassificationSnapshot.objects.filter(run=run1, loan_id=portfolio.loans["L2"].pk).get().group == 3
    # ... until the director asks for a corrected version, which reclassifies as run v2 and posts the difference only
    with django_capture_on_commit_callbacks(execute=True):
        r = api(staff.director).post("/api/v1/reports/", {"kind": "classification_provisioning", "period": "2025-06", "supersede": True,
                                                         "reason": "Khoản trả nợ ngày 28/6 nhập muộn / late entry"}, format="json")
    assert r.status_code == 202 and r.json()["version"] == 2
    v2 = ComplianceReport.objects.get(pk=r.json()["id"])
    assert v2.status == "ready" and v2.supersedes_id == v1.pk
    run2 = v2.provision_run
    assert (run2.version, run2.supersedes_id, run2.total_required.amount, run2.change) == (2, run1.pk, 10_440_000, -5_500_000)
    assert ClassificationSnapshot.objects.filter(run=run2, loan_id=portfolio.loans["L2"].pk).get().group == 1
    assert ClassificationSnapshot.objects.filter(run=run1).count() == 10  # the finalised figures are still there
    [_, movement] = xlsx_sections(v2.files.get(format="xlsx").file.path)
    assert movement[4][2] == 10_440_000 and movement[6][2] == 0  # closing held = required
    v1.refresh_from_db()
    assert v1.status == "finalised" and v1.provision_run_id == run1.pk


def test_a_fund_aligns_the_sbv_rows_with_its_form_without_code(portfolio, settings, tmp_path):
    import json

    settings.COMPLIANCE_SBV_TEMPLATE_DIR = str(tmp_path)
    (tmp_path / f"{portfolio.fund.code}.json").write_text(json.dumps({
        "title_vi": "Báo cáo hoạt động (mẫu của Quỹ)", "title_en": "Operations report (the fund's form)",
        "rows": [
            {"code": "01", "label_vi": "Dư nợ", "label_en": "Outstanding", "figure": "portfolio.gross"},
            {"code": "02", "label_vi": "Nợ nhóm 3–5", "label_en": "Groups 3–5", "figure": "portfolio.npl_principal"},
            {"code": "03", "label_vi": "Cộng", "label_en": "Sum", "sum": ["01", "02"]},
            {"code": "04", "label_vi": "Lãi phạt phải thu", "label_en": "Penalty receivable", "figure": "account.1332"},
        ]}, ensure_ascii=False), encoding="utf-8")
    files = generate(portfolio, "sbv_operations", "2025-Q2")
    [rows] = xlsx_sections(files["xlsx"])
    assert [(r[0], r[3]) for r in rows] == [("01", 138 * M), ("02", 41 * M), ("03", 179 * M), ("04", 0)]
    assert "Báo cáo hoạt động (mẫu của Quỹ)".upper() in pdf_text(files["pdf"])

    (tmp_path / f"{portfolio.fund.code}.json").write_text(json.dumps({"title_vi": "x", "title_en": "x", "rows": [
        {"code": "01", "label_vi": "?", "label_en": "?", "figure": "portfolio.nonsense"}]}), encoding="utf-8")
    report = report_request(fund=portfolio.fund, kind="sbv_operations", period="2025-Q2", enqueue=False)
    report = report_generate(report_id=report.pk)
    assert report.status == "failed" and "invalid_template" in report.error and "portfolio.nonsense" in report.error


def test_a_fund_may_deduct_compulsory_savings_from_the_provision_base(portfolio):
    from loanfund.services.fund import fund_settings_update

    fund_settings_update(fund=portfolio.fund, effective_from=date(2025, 6, 1), changed_by=portfolio.staff.director,
                         changes={"provision_rate_group1": Decimal("0.01"), "provision_deducts_savings": True})
    run = period_classify(fund=portfolio.fund, period_end=JUNE)
    snap = {s.loan_id: s for s in ClassificationSnapshot.objects.filter(run=run)}
    l8, l1 = snap[portfolio.loans["L8"].pk], snap[portfolio.loans["L1"].pk]
    # L8 holds 4 x 240,000 of compulsory savings: 1 % x (16,000,000 - 960,000) = 150,400; L1 holds none: 1 % x 7,000,000
    assert (l8.savings_deducted.amount, l8.required_provision.amount) == (960_000, 150_400)
    assert (l1.savings_deducted.amount, l1.required_provision.amount) == (0, 70_000)
    # group 1 = L1 7M + L4 18M + L8 (16M - 0.96M) + L12 9M at 1 % = 490,400 on top of 15,940,000
    assert run.total_required.amount == 15_940_000 + 490_400


def test_monthly_ledger_totals_equal_the_trial_balance_even_after_back_dated_entries(portfolio):
    from compliance.periods import month_end
    from compliance.services.ledger_months import balances_and_movement
    from loanfund.selectors.ledger import trial_balance
    from loanfund.services.ledger import credit, debit, journal_entry_post

    fund = portfolio.fund
    ends = [month_end(2024, m) for m in (9, 10, 11, 12)] + [month_end(2025, m) for m in range(1, 7)]

    def assert_equal_to_trial_balance():
        balances, _ = balances_and_movement(fund=fund, dates=ends, start=date(2025, 1, 1), end=JUNE)
        for d, book in zip(ends, balances, strict=True):
            expected = {a["code"]: a["debit"] - a["credit"] for a in trial_balance(fund=fund, as_of=d)["accounts"]
                        if a["debit"] or a["credit"]}
            assert {c: v for c, v in book.items() if v or c in expected} == expected, d

    assert_equal_to_trial_balance()
    journal_entry_post(fund=fund, entry_date=date(2025, 3, 15), kind="operating_expense", memo="back-dated",
                       lines=[debit(chart.OPERATING_EXPENSE, Decimal(250_000)), credit(chart.CASH, Decimal(250_000))])
    assert_equal_to_trial_balance()  # the March entry written today reaches March and every month after
    _, march = balances_and_movement(fund=fund, dates=[date(2025, 2, 28)], start=date(2025, 3, 1), end=date(2025, 3, 31))
    assert march[chart.OPERATING_EXPENSE] == 250_000


def test_a_periods_collections_are_read_from_the_allocation_index_alone(portfolio):
    """The collections statement of every period report must be answerable from
    allocation_fund_date_cover_idx alone (at 1,000,000 loans its heap form read 8.4 million rows
    scattered over 13 GB: 177 s cold). Fails if the statement reads a column the index lacks."""
    from django.db import connection

    from compliance.periods import parse_period
    from compliance.reports.figures import COLLECTIONS_SQL, period_flows

    q2 = parse_period("sbv_operations", "2025-Q2")
    params = {"fund": portfolio.fund.pk, "start": q2.start, "end": q2.end}
    with connection.cursor() as cursor:
        # The test tables are tiny: take sequential and bitmap scans off the table so the plan
        # shows whether an index-only scan can answer the statement at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + COLLECTIONS_SQL, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using allocation_fund_date_cover_idx" in plan, plan
    # principal collected in Q2 by hand (above): 20M
    assert period_flows(fund=portfolio.fund, period=q2)["collected"]["principal"] == 20 * M
