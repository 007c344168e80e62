"""The three reports as declarative documents: sections, bilingual columns, rows from SQL."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from compliance.models import ComplianceReport, ProvisionRun
from compliance.periods import Period, previous_month_end
from compliance.rendering.document import BY_ROW, COUNT, MONEY, PERCENT, TEXT, Column, Document, Section
from compliance.reports import figures as fig
from compliance.reports.sbv_template import load_template, template_rows
from compliance.services.provisioning import latest_run

GROUP_LABELS = {
    1: ("Nhóm 1 – Nợ đủ tiêu chuẩn", "Group 1 – Current"),
    2: ("Nhóm 2 – Nợ cần chú ý", "Group 2 – Special mention"),
    3: ("Nhóm 3 – Nợ dưới tiêu chuẩn", "Group 3 – Substandard"),
    4: ("Nhóm 4 – Nợ nghi ngờ", "Group 4 – Doubtful"),
    5: ("Nhóm 5 – Nợ có khả năng mất vốn", "Group 5 – Loss"),
}
HOUSEHOLD_LABELS = {
    "poor": ("Hộ nghèo", "Poor household"),
    "near_poor": ("Hộ cận nghèo", "Near-poor household"),
    "newly_escaped_poverty": ("Hộ mới thoát nghèo", "Newly escaped poverty"),
    "low_income": ("Người thu nhập thấp", "Low income"),
    "other": ("Khác", "Other"),
}

# (figure key, Vietnamese label, English label) of the monthly indicator list, in print order.
INDICATORS = (
    ("portfolio.gross", "Tổng dư nợ cho vay", "Gross loan portfolio"),
    ("portfolio.active_borrowers", "Số khách hàng còn dư nợ", "Active borrowers"),
    ("portfolio.active_loans", "Số món vay còn dư nợ", "Active loans"),
    ("portfolio.average_outstanding_per_borrower", "Dư nợ bình quân một khách hàng", "Average outstanding balance per borrower"),
    ("portfolio.average_gross", "Dư nợ bình quân trong kỳ", "Average gross portfolio in the period"),
    ("disbursements.count", "Số món giải ngân trong kỳ", "Loans disbursed (number)"),
    ("disbursements.amount", "Doanh số giải ngân trong kỳ", "Loans disbursed (amount)"),
    ("collections.principal", "Thu nợ gốc", "Collections: principal"),
    ("collections.interest", "Thu lãi", "Collections: interest"),
    ("collections.penalty", "Thu lãi phạt", "Collections: penalty"),
    ("collections.fees", "Thu phí", "Collections: fees"),
    ("collections.savings", "Thu tiết kiệm bắt buộc", "Collections: compulsory savings"),
    ("collections.recovery", "Thu hồi nợ đã xử lý", "Collections: recoveries"),
    ("collections.total", "Tổng số tiền thu", "Collections: total"),
    ("portfolio.par1", "PAR1 (%)", "PAR > 1 day (%)"),
    ("portfolio.par30", "PAR30 (%)", "PAR > 30 days (%)"),
    ("portfolio.par90", "PAR90 (%)", "PAR > 90 days (%)"),
    ("portfolio.npl_principal", "Nợ xấu (nhóm 3–5)", "Non-performing loans (groups 3–5)"),
    ("portfolio.npl_ratio", "Tỷ lệ nợ xấu (%)", "NPL ratio (%)"),
    ("write_offs.principal", "Nợ gốc đã xử lý rủi ro trong kỳ", "Principal written off in the period"),
    ("write_offs.ratio", "Tỷ lệ xóa nợ (%)", "Write-off ratio (%)"),
    ("portfolio.yield", "Lợi suất danh mục trong kỳ (%)", "Portfolio yield, period (%)"),
    ("portfolio.yield_annualised", "Lợi suất danh mục quy năm (%)", "Portfolio yield, annualised (%)"),
    ("oss", "Tự bền vững hoạt động – OSS (%)", "Operational self-sufficiency (%)"),
    ("provision.required", "Dự phòng phải trích", "Required provision"),
    ("exposure.breaches", "Số khách hàng vượt hạn mức dư nợ", "Members over the exposure cap"),
    ("savings.compulsory", "Tiết kiệm bắt buộc", "Compulsory savings"),
    ("savings.voluntary", "Tiết kiệm tự nguyện", "Voluntary savings"),
    ("capital.allocated", "Vốn được cấp", "Allocated capital"),
    ("savings.voluntary_ratio", "Tiết kiệm tự nguyện / vốn được cấp (%)", "Voluntary savings / allocated capital (%)"),
    ("savings.voluntary_flag", "Giới hạn tiết kiệm tự nguyện", "Voluntary savings limit"),
)

TITLES = {
    ComplianceReport.Kind.MONTHLY_PORTFOLIO: ("Báo cáo danh mục cho vay tháng", "Monthly portfolio report"),
    ComplianceReport.Kind.CLASSIFICATION_PROVISIONING: ("Báo cáo phân loại nợ và trích lập dự phòng rủi ro",
                                                        "Debt classification and loan-loss provisioning report"),
}


def _indicator_columns():
    return [Column("code", "STT", "No.", TEXT, 5), Column("label_vi", "Chỉ tiêu", "Indicator (Vietnamese)", TEXT, 40),
            Column("label_en", "Chỉ tiêu (tiếng Anh)", "Indicator", TEXT, 36), Column("value", "Giá trị", "Value", BY_ROW, 18),
            Column("key", "Mã số liệu", "Figure key", TEXT, 30, in_pdf=False)]


def indicator_rows(figures: fig.Figures) -> list[dict]:
    return [{"code": f"{n:02d}", "key": key, "label_vi": vi, "label_en": en, "value": figures[key], "_kind": figures.kinds[key]}
            for n, (key, vi, en) in enumerate(INDICATORS, start=1)]


def _breakdown_section(key, title_vi, title_en, rows_fn, gross, label_columns) -> Section:
    def rows():
        for row in rows_fn():
            yield {**row, "par30_ratio": fig.pct(row["par30"], row["principal"]), "share": fig.pct(row["principal"], gross)}

    return Section(key, title_vi, title_en, [
        *label_columns,
        Column("loans", "Số món vay", "Loans", COUNT, 10),
        Column("borrowers", "Số khách hàng", "Borrowers", COUNT, 10),
        Column("principal", "Dư nợ gốc", "Principal outstanding", MONEY, 16),
        Column("share", "Tỷ trọng (%)", "Share of portfolio (%)", PERCENT, 10),
        Column("par30", "Dư nợ PAR30", "PAR30 principal", MONEY, 16),
        Column("par30_ratio", "PAR30 (%)", "PAR30 (%)", PERCENT, 10),
    ], rows)


def monthly_portfolio(*, report: ComplianceReport, period: Period, run: ProvisionRun, settings_row, figures: fig.Figures):
    gross = figures["portfolio.gross"]
    breaches = fig.exposure_breaches(run=run, cap=settings_row.exposure_cap.amount)
    figures.put("exposure.breaches", len(breaches), COUNT)
    bounds = [settings_row.group2_from_days, settings_row.group3_from_days, settings_row.group4_from_days, settings_row.group5_from_days]

    def household_rows():
        for row in fig.breakdown(run=run, by="household_status"):
            vi, en = HOUSEHOLD_LABELS.get(row["code"], (row["code"], row["code"]))
            yield {**row, "name": f"{vi} / {en}"}

    def aging_rows():
        for row in fig.aging(run=run, bounds=bounds):
            yield {**row, "share": fig.pct(row["principal"], gross)}

    return [
        Section("indicators", "Chỉ tiêu hoạt động", "Portfolio indicators", _indicator_columns(), lambda: indicator_rows(figures)),
        _breakdown_section("by_product", "Dư nợ theo sản phẩm", "Portfolio by product", lambda: fig.breakdown(run=run, by="product"), gross,
                           [Column("code", "Mã sản phẩm", "Product code", TEXT, 12), Column("name", "Sản phẩm", "Product", TEXT, 26)]),
        _breakdown_section("by_branch", "Dư nợ theo công đoàn cơ sở", "Portfolio by grassroots union", lambda: fig.breakdown(run=run, by="branch"),
                           gross, [Column("code", "Mã CĐCS", "Union code", TEXT, 12), Column("name", "Công đoàn cơ sở", "Grassroots union", TEXT, 26)]),
        _breakdown_section("by_household", "Dư nợ theo loại hộ", "Portfolio by household status", household_rows, gross,
                           [Column("code", "Mã", "Code", TEXT, 14), Column("name", "Loại hộ", "Household status", TEXT, 24)]),
        Section("aging", "Phân tích tuổi nợ quá hạn", "Arrears aging", [
            Column("label_vi", "Số ngày quá hạn", "Days past due (Vietnamese)", TEXT, 22),
            Column("label_en", "Số ngày quá hạn (tiếng Anh)", "Days past due", TEXT, 22),
            Column("loans", "Số món vay", "Loans", COUNT, 10),
            Column("principal", "Dư nợ gốc", "Principal outstanding", MONEY, 16),
            Column("share", "Tỷ trọng (%)", "Share of portfolio (%)", PERCENT, 10),
        ], aging_rows),
        Section("exposure_breaches", "Khách hàng vượt hạn mức dư nợ", "Members over the exposure cap", [
            Column("national_id", "Số CCCD", "National ID", TEXT, 14),
            Column("full_name", "Họ và tên", "Full name", TEXT, 24),
            Column("branch", "CĐCS", "Union", TEXT, 10),
            Column("outstanding", "Dư nợ", "Outstanding", MONEY, 16),
            Column("cap", "Hạn mức", "Cap", MONEY, 16),
            Column("excess", "Vượt", "Excess", MONEY, 16),
        ], lambda: breaches, note="Theo quy định phải bằng không / Required to be none."),
    ]


def classification_provisioning(*, report: ComplianceReport, period: Period, run: ProvisionRun, settings_row, figures: fig.Figures):
    previous = latest_run(fund=report.fund, period_end=previous_month_end(period.end))
    groups = fig.group_rows(run, previous)
    opening, closing = figures["provision.held_opening"], figures["provision.held"]

    def group_rows():
        for row in groups:
            vi, en = GROUP_LABELS[row["group"]]
            yield {**row, "label_vi": vi, "label_en": en}
        yield {"label_vi": "Tổng cộng", "label_en": "Total", "loans": sum(r["loans"] for r in groups),
               "principal": sum((r["principal"] for r in groups), Decimal(0)),
               "provision": sum((r["provision"] for r in groups), Decimal(0)),
               "previous_provision": sum((r["previous_provision"] for r in groups), Decimal(0)),
               "change": sum((r["change"] for r in groups), Decimal(0))}

    movement = [
        ("Số dư dự phòng đầu kỳ", "Provision held at the start of the period", opening),
        ("Trích lập thêm trong kỳ", "Charged to expense in the period", figures["provision.charged"]),
        ("Hoàn nhập trong kỳ", "Released in the period", figures["provision.released"]),
        ("Sử dụng để xử lý rủi ro", "Used for write-offs", figures["provision.used"]),
        ("Số dư dự phòng cuối kỳ", "Provision held at the end of the period", closing),
        ("Dự phòng phải trích theo phân loại", "Required by the classification", figures["provision.required"]),
        ("Chênh lệch", "Difference (held − required)", closing - figures["provision.required"]),
    ]
    return [
        Section("groups", "Phân loại nợ và trích lập dự phòng theo nhóm", "Classification and provision by group", [
            Column("label_vi", "Nhóm nợ", "Debt group (Vietnamese)", TEXT, 26),
            Column("label_en", "Nhóm nợ (tiếng Anh)", "Debt group", TEXT, 20),
            Column("loans", "Số món vay", "Loans", COUNT, 9),
            Column("principal", "Dư nợ gốc", "Principal outstanding", MONEY, 15),
            Column("rate", "Tỷ lệ trích (%)", "Provision rate (%)", PERCENT, 9),
            Column("provision", "Dự phòng phải trích", "Required provision", MONEY, 15),
            Column("previous_provision", "Dự phòng kỳ trước", "Previous period", MONEY, 15),
            Column("change", "Tăng/giảm", "Change", MONEY, 14),
        ], group_rows, note=f"Số liệu đến ngày / As of {period.end.strftime('%d/%m/%Y')}; "
                            f"lần phân loại / classification run v{run.version}."),
        Section("movement", "Biến động dự phòng rủi ro", "Movement of the loan-loss provision", [
            Column("label_vi", "Khoản mục", "Item (Vietnamese)", TEXT, 34),
            Column("label_en", "Khoản mục (tiếng Anh)", "Item", TEXT, 34),
            Column("amount", "Số tiền", "Amount", MONEY, 18),
        ], lambda: [{"label_vi": vi, "label_en": en, "amount": amount} for vi, en, amount in movement]),
    ]


def sbv_operations(*, report: ComplianceReport, period: Period, run: ProvisionRun, settings_row, figures: fig.Figures):
    template = load_template(report.fund)
    rows = template_rows(template, figures)
    return [Section("operations", "Báo cáo hoạt động", "Operations report", [
        Column("code", "Mã số", "Row code", TEXT, 8),
        Column("label_vi", "Chỉ tiêu", "Item (Vietnamese)", TEXT, 44),
        Column("label_en", "Chỉ tiêu (tiếng Anh)", "Item", TEXT, 40),
        Column("value", "Số liệu", "Figure", BY_ROW, 18),
    ], lambda: rows, note=template.get("basis", ""))], template


BUILDERS = {
    ComplianceReport.Kind.MONTHLY_PORTFOLIO: monthly_portfolio,
    ComplianceReport.Kind.CLASSIFICATION_PROVISIONING: classification_provisioning,
    ComplianceReport.Kind.SBV_OPERATIONS: sbv_operations,
}


def build_document(*, report: ComplianceReport, period: Period, run: ProvisionRun, settings_row, generated_by: str) -> Document:
    figures = fig.compute_figures(fund=report.fund, period=period, run=run, settings_row=settings_row)
    fig.add_provision_movement(figures, fund=report.fund, period=period)
    builder = BUILDERS[report.kind]
    if report.kind == ComplianceReport.Kind.SBV_OPERATIONS:
        sections, template = builder(report=report, period=period, run=run, settings_row=settings_row, figures=figures)
        title_vi, title_en = template["title_vi"], template["title_en"]
    else:
        sections = builder(report=report, period=period, run=run, settings_row=settings_row, figures=figures)
        title_vi, title_en = TITLES[report.kind]
    subtitle = f"Phiên bản / Version {report.version}"
    if report.supersedes_id:
        subtitle += f" — thay thế phiên bản / supersedes version {report.supersedes.version}: {report.supersede_reason}"
    return Document(
        title_vi=title_vi, title_en=title_en, fund_name=report.fund.name, period_label=period.label,
        snapshot_date=period.end, generated_at=timezone.localtime(report.generated_at or timezone.now()),
        generated_by=generated_by, sections=sections, subtitle=subtitle,
    )
