"""Servicing commands (ARCHITECTURE.md: `<thing>_<action>`, keyword-only, atomic, rows locked)."""

from .collection import RepaymentLine, collection_sheet_post
from .disbursement import loan_disburse
from .lifecycle import loan_restructure, loan_write_off
from .repayment import accrue_loan, repayment_post, repayment_reverse

__all__ = ["RepaymentLine", "accrue_loan", "collection_sheet_post", "loan_disburse", "loan_restructure", "loan_write_off", "repayment_post", "repayment_reverse"]
