from .fund import CapitalContribution, Fund, FundSettings, IdempotencyRecord, Job, StaffProfile
from .ledger import Account, JournalEntry, JournalLine

__all__ = [
    "Account",
    "CapitalContribution",
    "Fund",
    "FundSettings",
    "IdempotencyRecord",
    "Job",
    "JournalEntry",
    "JournalLine",
    "StaffProfile",
]

from .origination import (  # noqa: E402
    ApplicationEvent,
    Appraisal,
    ApproverLimit,
    ImmutableVersionError,
    LoanApplication,
    LoanProduct,
    LoanProductVersion,
)

__all__ += [
    "ApplicationEvent",
    "Appraisal",
    "ApproverLimit",
    "ImmutableVersionError",
    "LoanApplication",
    "LoanProduct",
    "LoanProductVersion",
]
