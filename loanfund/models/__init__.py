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
