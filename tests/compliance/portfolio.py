"""A fixed portfolio built through the real services (origination, servicing, ledger), whose every
reported figure for June 2025 and Q2 2025 the tests compute by hand (tests/compliance/test_must_show.py).

Three products, three grassroots unions, twelve loans (all monthly, 12 installments unless said):

| loan | member (union, household) | product | principal | disbursed | what happens |
| --- | --- | --- | --- | --- | --- |
| L1 | M1 (CD-A, poor) | FLAT 12 % | 12,000,000 | 2025-01-10 | pays 1,120,000 on every due date Feb..Jun |
| L2 | M2 (CD-A, near poor) | ZERO | 24,000,000 | 2025-03-10 | pays Apr 10 only (2,000,000) |
| L3 | M3 (CD-A, low income) | ZERO | 6,000,000 | 2025-05-20 | first due Jun 20, unpaid (10 days past due at Jun 30) |
| L4 | M1 (CD-A, poor) | FLAT 12 % | 18,000,000 | 2025-06-05 | first due Jul 5 |
| L5 | M5 (CD-B, poor) | ZERO | 12,000,000 | 2024-12-10 | never pays |
| L6 | M6 (CD-B, near poor) | ZERO | 12,000,000 | 2025-01-10 | pays Feb, Mar; restructured Apr 15 (10 × 1,000,000 from May 15); pays May 15, Jun 15 |
| L7 | M7 (CD-B, other) | ZERO | 6,000,000 | 2024-10-10 | never pays; written off Jun 20; recovery 500,000 Jun 25 |
| L8 | M8 (CD-B, other) | SAVE (fee 1 %, savings 1 %) | 24,000,000 | 2025-02-10 | pays 2,240,000 on every due date Mar..Jun |
| L9 | M9 (CD-C, low income) | FLAT 12 % | 36,000,000 | 2025-04-10 | pays May 10 (3,360,000); Jun 10 unpaid |
| L10 | M10 (CD-C, poor) | ZERO, 3 installments | 3,000,000 | 2025-02-10 | pays all three: closed May 10 |
| L11 | M11 (CD-C, poor) | ZERO | 12,000,000 | 2024-11-10 | pays Dec, Jan; restructured Feb 15 (10 × 1,000,000 from Mar 15); pays Mar 15; restructured again Apr 20 (9 × 1,000,000 from May 20); pays May 20, Jun 20 |
| L12 | M12 (CD-C, poor) | SAVE | 9,000,000 | 2025-06-10 | first due Jul 10 |

May 2025 is classified after May's events (the provision the June write-off uses), then June's
events happen, an operating expense of 1,000,000 is booked on Jun 30, and the exposure cap is
lowered to 30,000,000 from 2025-06-01 (so M9, with 33,000,000 outstanding, is named as a breach).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from borrowers.services import branch_create, member_register
from compliance.services.provisioning import period_classify
from loanfund import chart
from loanfund.origination.products import product_create
from loanfund.origination.services import application_appraise, application_approve, application_create, application_submit
from loanfund.services.fund import fund_settings_update
from loanfund.services.ledger import credit, debit, journal_entry_post
from repayments.models import Loan
from repayments.services import loan_disburse, loan_restructure, loan_write_off, repayment_post

_refs = itertools.count(1)
ALL_HOUSEHOLDS = ["poor", "near_poor", "newly_escaped_poverty", "low_income", "other"]
BASE_TERMS = {
    "min_amount": Decimal(1_000_000), "max_amount": Decimal(50_000_000), "min_installments": 3, "max_installments": 36,
    "frequency": "monthly", "interest_method": "flat", "penalty_rate": Decimal(0), "rounding_multiple": 1000,
    "eligible_household_statuses": ALL_HOUSEHOLDS, "min_membership_months": 0,
}


@dataclass
class Portfolio:
    fund: object
    staff: object
    loans: dict[str, Loan] = field(default_factory=dict)
    members: dict[str, object] = field(default_factory=dict)
    products: dict[str, object] = field(default_factory=dict)
    branches: dict[str, object] = field(default_factory=dict)


def build(fund, staff) -> Portfolio:
    p = Portfolio(fund, staff)
    today = date(2025, 1, 1)
    # The books are migrated from spreadsheets in one sitting: M1's second loan is appraised "today",
    # when L1's projection is long overdue, so the fund tolerates arrears for this migration.
    fund_settings_update(fund=fund, effective_from=date(2024, 1, 1), changes={"arrears_tolerance_days": 3650},
                         changed_by=staff.director)
    for code, name in (("CD-A", "Công đoàn cơ sở Công ty May Hà Nội"), ("CD-B", "Công đoàn cơ sở Công ty Điện tử Bắc Ninh"),
                       ("CD-C", "Công đoàn cơ sở Bệnh viện Xanh Pôn")):
        p.branches[code] = branch_create(fund=fund, code=code, name=name)
    for code, name, terms in (
        ("FLAT", "Vay cải thiện đời sống (lãi phẳng 12 %)", {"annual_rate": Decimal("0.12")}),
        ("ZERO", "Vay không lãi hỗ trợ hộ nghèo", {"annual_rate": Decimal(0)}),
        ("SAVE", "Vay kèm tiết kiệm bắt buộc", {"annual_rate": Decimal(0), "upfront_fee_rate": Decimal("0.01"),
                                                "savings_rate": Decimal("0.01")}),
    ):
        p.products[code] = product_create(fund=fund, code=code, name=name, terms={**BASE_TERMS, **terms}, created_by=staff.director,
                                          on=today)
    members = {"M1": ("CD-A", "poor"), "M2": ("CD-A", "near_poor"), "M3": ("CD-A", "low_income"), "M5": ("CD-B", "poor"),
               "M6": ("CD-B", "near_poor"), "M7": ("CD-B", "other"), "M8": ("CD-B", "other"), "M9": ("CD-C", "low_income"),
               "M10": ("CD-C", "poor"), "M11": ("CD-C", "poor"), "M12": ("CD-C", "poor")}
    for n, (key, (branch, household)) in enumerate(members.items(), start=1):
        p.members[key] = member_register(
            fund=fund, branch=p.branches[branch], national_id=f"0010900{n:05d}", full_name=f"Nguyễn Văn {key}",
            date_of_birth=date(1985, 1, n), gender="male", phone="0912000000", monthly_income=Decimal(20_000_000), household_size=4,
            household_status=household, joined_union_on=date(2015, 1, 1),
        )

    def open_loan(key, member, product, amount, disbursed_on, installments=12):
        app = application_create(fund=fund, member=p.members[member], product=p.products[product], amount=Decimal(amount),
                                 installments=installments, purpose="Sản xuất", created_by=staff.officer)
        application_submit(application=app, submitted_by=staff.officer)
        application_appraise(application=app, appraised_by=staff.officer, endorsed_by="Chủ tịch CĐCS", endorsed_on=date(2024, 9, 1),
                             recommendation="approve")
        application_approve(application=app, approved_by=staff.approver)
        p.loans[key] = loan_disburse(fund=fund, application_id=app.pk, disbursed_on=disbursed_on, method="bank",
                                     disbursed_by=staff.accountant)

    def pay(key, amount, on):
        repayment_post(fund=fund, loan_id=p.loans[key].pk, amount=Decimal(amount), paid_on=on, reference=f"R{next(_refs):05d}",
                       channel="cash", posted_by=staff.officer)

    def restructure(key, on, installments, first_due_on):
        loan_restructure(fund=fund, loan_id=p.loans[key].pk, installments=installments, reason="Khó khăn tạm thời",
                         approved_by=staff.approver, restructured_on=on, first_due_on=first_due_on)

    # loans in disbursement order, events in date order up to May 31
    open_loan("L7", "M7", "ZERO", 6_000_000, date(2024, 10, 10))
    open_loan("L11", "M11", "ZERO", 12_000_000, date(2024, 11, 10))
    open_loan("L5", "M5", "ZERO", 12_000_000, date(2024, 12, 10))
    pay("L11", 1_000_000, date(2024, 12, 10))
    open_loan("L1", "M1", "FLAT", 12_000_000, date(2025, 1, 10))
    open_loan("L6", "M6", "ZERO", 12_000_000, date(2025, 1, 10))
    pay("L11", 1_000_000, date(2025, 1, 10))
    open_loan("L8", "M8", "SAVE", 24_000_000, date(2025, 2, 10))
    open_loan("L10", "M10", "ZERO", 3_000_000, date(2025, 2, 10), installments=3)
    pay("L1", 1_120_000, date(2025, 2, 10))
    pay("L6", 1_000_000, date(2025, 2, 10))
    restructure("L11", date(2025, 2, 15), 10, date(2025, 3, 15))
    open_loan("L2", "M2", "ZERO", 24_000_000, date(2025, 3, 10))
    for key, amount in (("L1", 1_120_000), ("L6", 1_000_000), ("L8", 2_240_000), ("L10", 1_000_000)):
        pay(key, amount, date(2025, 3, 10))
    pay("L11", 1_000_000, date(2025, 3, 15))
    open_loan("L9", "M9", "FLAT", 36_000_000, date(2025, 4, 10))
    for key, amount in (("L1", 1_120_000), ("L2", 2_000_000), ("L8", 2_240_000), ("L10", 1_000_000)):
        pay(key, amount, date(2025, 4, 10))
    restructure("L6", date(2025, 4, 15), 10, date(2025, 5, 15))
    restructure("L11", date(2025, 4, 20), 9, date(2025, 5, 20))
    for key, amount in (("L1", 1_120_000), ("L8", 2_240_000), ("L9", 3_360_000), ("L10", 1_000_000)):
        pay(key, amount, date(2025, 5, 10))
    pay("L6", 1_000_000, date(2025, 5, 15))
    open_loan("L3", "M3", "ZERO", 6_000_000, date(2025, 5, 20))
    pay("L11", 1_000_000, date(2025, 5, 20))

    period_classify(fund=fund, period_end=date(2025, 5, 31), classified_by=staff.accountant)

    # June
    open_loan("L4", "M1", "FLAT", 18_000_000, date(2025, 6, 5))
    pay("L1", 1_120_000, date(2025, 6, 10))
    pay("L8", 2_240_000, date(2025, 6, 10))
    open_loan("L12", "M12", "SAVE", 9_000_000, date(2025, 6, 10))
    pay("L6", 1_000_000, date(2025, 6, 15))
    pay("L11", 1_000_000, date(2025, 6, 20))
    loan_write_off(fund=fund, loan_id=p.loans["L7"].pk, reason="Mất khả năng trả nợ", approved_by=staff.director,
                   written_off_on=date(2025, 6, 20))
    pay("L7", 500_000, date(2025, 6, 25))
    journal_entry_post(fund=fund, entry_date=date(2025, 6, 30), kind="operating_expense", memo="Chi phí hoạt động tháng 6",
                       lines=[debit(chart.OPERATING_EXPENSE, Decimal(1_000_000)), credit(chart.BANK, Decimal(1_000_000))])
    fund_settings_update(fund=fund, effective_from=date(2025, 6, 1), changes={"exposure_cap": Decimal(30_000_000)},
                         changed_by=staff.director)
    for key, loan in p.loans.items():
        p.loans[key] = Loan.objects.get(pk=loan.pk)
    return p
