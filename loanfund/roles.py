"""Staff and member roles are Django groups of these names."""

OFFICER = "officer"
APPROVER = "approver"
ACCOUNTANT = "accountant"
DIRECTOR = "director"
AUDITOR = "auditor"
MEMBER = "member"

STAFF_ROLES = (OFFICER, APPROVER, ACCOUNTANT, DIRECTOR, AUDITOR)
ALL_ROLES = STAFF_ROLES + (MEMBER,)
