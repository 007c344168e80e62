"""Demo data for borrowers: three grassroots unions and ~50 members of every household status."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from borrowers.models import Member, UnionBranch
from borrowers.services import branch_create, member_grant_access, member_register
from loanfund.models import Fund

BRANCHES = [
    ("CD-MAY10", "Công đoàn cơ sở Tổng công ty May 10", "Tổng công ty May 10", "765A Nguyễn Văn Linh, Long Biên, Hà Nội", "Nguyễn Thị Hằng",
     "0912345001"),
    ("CD-DET83", "Công đoàn cơ sở Công ty Dệt 8-3", "Công ty CP Dệt 8-3", "460 Minh Khai, Hai Bà Trưng, Hà Nội", "Trần Văn Hùng", "0987654002"),
    ("CD-CANON", "Công đoàn cơ sở Canon Việt Nam (Thăng Long)", "Canon Việt Nam", "KCN Thăng Long, Đông Anh, Hà Nội", "Lê Thị Thu",
     "0968111003"),
]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
FEMALE = ["Thị Lan", "Thị Hoa", "Thị Mai", "Thị Hạnh", "Thị Thu", "Thị Ngọc"]
MALE = ["Văn An", "Văn Bình", "Văn Cường", "Văn Dũng", "Đức Minh", "Quang Huy"]
STATUSES = ["poor", "near_poor", "near_poor", "newly_escaped_poverty", "low_income", "low_income", "other"]
DEMO_MEMBER_USERNAME = "member"


def seed_members(*, fund: Fund, count: int = 50, password: str | None = None) -> dict:
    """Three unions and `count` members; the first member gets the login "member" (password given)."""
    branches = [branch_create(fund=fund, code=code, name=name, employer=employer, address=address, contact_name=contact,
                              contact_phone=phone) for code, name, employer, address, contact, phone in BRANCHES]
    members: list[Member] = []
    for i in range(count):
        female = i % 3 != 0
        status = STATUSES[i % len(STATUSES)]
        members.append(member_register(
            fund=fund, branch=branches[i % 3], national_id=f"001{1 if female else 0}{85 + i % 14:02d}{100000 + i:06d}",
            full_name=f"{SURNAMES[i % 10]} {(FEMALE if female else MALE)[i % 6]}",
            date_of_birth=date(1975 + i % 25, 1 + i % 12, 1 + i % 28), gender="female" if female else "male",
            phone=f"09{12000000 + i * 7919:08d}"[:10], address=f"Tổ {1 + i % 20}, phường Bồ Đề, Long Biên, Hà Nội",
            employer=BRANCHES[i % 3][2], monthly_income=Decimal(5_000_000 + (i % 15) * 500_000), household_size=2 + i % 5,
            household_status=status, household_certificate_number=f"GCN-{status[:2].upper()}-{2024}-{i:04d}" if status in
            ("poor", "near_poor", "newly_escaped_poverty") else "",
            joined_union_on=date(2012 + i % 12, 1 + (i * 5) % 12, 1 + i % 27),
            status=Member.Status.LEFT_UNION if i == count - 1 else Member.Status.ACTIVE,
        ))
    user, _ = member_grant_access(member=members[0], granted_by=None)
    user.username = DEMO_MEMBER_USERNAME
    if password:
        user.set_password(password)
    user.save(update_fields=["username", "password"])
    return {"branches": branches, "members": members, "member_user": user}


__all__ = ["seed_members", "UnionBranch", "DEMO_MEMBER_USERNAME"]
