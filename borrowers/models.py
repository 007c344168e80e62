"""Who borrows: grassroots unions (công đoàn cơ sở) and their members (đoàn viên).

Depends on the fund core only (ARCHITECTURE.md). Business flow lives in borrowers/services.py.
"""

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from loanfund.fields import money_field
from loanfund.history import HistoricalRecords

# CCCD (căn cước công dân): exactly 12 digits (3 province, 1 century/sex, 2 year, 6 serial).
NATIONAL_ID_RE = r"^[0-9]{12}$"
# Vietnamese mobile: 0 or +84, then a 3/5/7/8/9 network prefix and 8 digits (10 digits national).
MOBILE_RE = r"^(0|\+84)(3|5|7|8|9)[0-9]{8}$"

national_id_validator = RegexValidator(NATIONAL_ID_RE, "A national ID (CCCD) is exactly 12 digits.", code="invalid_national_id")
mobile_validator = RegexValidator(MOBILE_RE, "A Vietnamese mobile number: 0 or +84, then 9 digits starting 3, 5, 7, 8 or 9.",
                                  code="invalid_phone")


class UnionBranch(models.Model):
    """A grassroots union (công đoàn cơ sở): recommends (endorses) its members' applications."""

    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="branches")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    employer = models.CharField(max_length=200, blank=True)
    address = models.CharField(max_length=300, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_phone = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fund", "code"], name="branch_code_unique_per_fund")]
        ordering = ["fund", "code"]
        verbose_name = "grassroots union"

    def __str__(self):
        return f"{self.code} {self.name}"


class Member(models.Model):
    class Gender(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"

    class HouseholdStatus(models.TextChoices):
        POOR = "poor", "Poor household"
        NEAR_POOR = "near_poor", "Near-poor household"
        NEWLY_ESCAPED_POVERTY = "newly_escaped_poverty", "Newly escaped poverty"
        LOW_INCOME = "low_income", "Low income"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        LEFT_UNION = "left_union", "Left the union"
        DECEASED = "deceased", "Deceased"

    fund = models.ForeignKey("loanfund.Fund", on_delete=models.PROTECT, related_name="members")
    branch = models.ForeignKey(UnionBranch, on_delete=models.PROTECT, related_name="members")
    # The member's own login (role member), or a STAFF user's link to their own member record: how
    # "no staff lends to themselves" is detected.
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="member_profile")
    national_id = models.CharField(max_length=12, validators=[national_id_validator])
    full_name = models.CharField(max_length=200)
    date_of_birth = models.DateField()
    gender = models.CharField(max_length=10, choices=Gender.choices, blank=True)
    phone = models.CharField(max_length=13, blank=True, validators=[mobile_validator])
    address = models.CharField(max_length=300, blank=True)
    employer = models.CharField(max_length=200, blank=True)
    monthly_income = money_field()
    household_size = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    household_status = models.CharField(max_length=30, choices=HouseholdStatus.choices)
    household_certificate_number = models.CharField(max_length=50, blank=True)
    joined_union_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fund", "national_id"], name="member_national_id_unique_per_fund"),
            models.CheckConstraint(condition=models.Q(national_id__regex=NATIONAL_ID_RE), name="member_national_id_12_digits"),
            models.CheckConstraint(condition=models.Q(monthly_income__gte=0), name="member_income_not_negative"),
            models.CheckConstraint(condition=models.Q(household_size__gte=1), name="member_household_size_positive"),
        ]
        indexes = [models.Index(fields=["fund", "status"], name="member_fund_status_idx")]
        ordering = ["fund", "full_name", "id"]

    def __str__(self):
        return f"{self.full_name} ({self.national_id})"
