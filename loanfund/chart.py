"""The chart of accounts every fund starts with (codes are stable; names are what reports show)."""

ASSET, LIABILITY, EQUITY, INCOME, EXPENSE, MEMO = "asset", "liability", "equity", "income", "expense", "memo"
DEBIT_NORMAL = {ASSET, EXPENSE, MEMO}

CASH = "1011"
BANK = "1121"
LOANS_CURRENT = "1311"
LOANS_OVERDUE = "1312"
INTEREST_RECEIVABLE = "1331"
PENALTY_RECEIVABLE = "1332"
FEES_RECEIVABLE = "1333"
LOAN_LOSS_PROVISION = "1391"
COMPULSORY_SAVINGS = "2111"
VOLUNTARY_SAVINGS = "2112"
CAPITAL_UNION = "3111"
CAPITAL_DONOR = "3112"
CAPITAL_OTHER = "3113"
RETAINED_SURPLUS = "3211"
INTEREST_INCOME = "5111"
PENALTY_INCOME = "5112"
FEE_INCOME = "5113"
RECOVERY_INCOME = "5114"
GRANT_INCOME = "5115"
PROVISION_EXPENSE = "6311"
FINANCIAL_EXPENSE = "6312"
OPERATING_EXPENSE = "6421"
# Off-balance memo accounts (Circular 37/2019: overdue interest/penalty are not income until
# collected; written-off claims are still pursued). Each memo posting balances against MEMO_CONTRA.
MEMO_WRITTEN_OFF = "9111"
MEMO_OVERDUE_INTEREST = "9112"
MEMO_OVERDUE_PENALTY = "9113"
MEMO_CONTRA = "9199"

CAPITAL_BY_SOURCE = {"union_allocation": CAPITAL_UNION, "donor": CAPITAL_DONOR, "other": CAPITAL_OTHER}

# code, kind, English name, Vietnamese name
ACCOUNTS = (
    (CASH, ASSET, "Cash on hand", "Tiền mặt"),
    (BANK, ASSET, "Cash at bank", "Tiền gửi ngân hàng"),
    (LOANS_CURRENT, ASSET, "Loans receivable - current", "Dư nợ cho vay trong hạn"),
    (LOANS_OVERDUE, ASSET, "Loans receivable - overdue", "Dư nợ cho vay quá hạn"),
    (INTEREST_RECEIVABLE, ASSET, "Interest receivable", "Lãi phải thu"),
    (PENALTY_RECEIVABLE, ASSET, "Penalty receivable", "Lãi phạt phải thu"),
    (FEES_RECEIVABLE, ASSET, "Fees receivable", "Phí phải thu"),
    (LOAN_LOSS_PROVISION, ASSET, "Loan-loss provision (contra)", "Dự phòng rủi ro cho vay"),
    (COMPULSORY_SAVINGS, LIABILITY, "Compulsory savings", "Tiết kiệm bắt buộc"),
    (VOLUNTARY_SAVINGS, LIABILITY, "Voluntary savings", "Tiết kiệm tự nguyện"),
    (CAPITAL_UNION, EQUITY, "Capital - union allocation", "Vốn Công đoàn cấp"),
    (CAPITAL_DONOR, EQUITY, "Capital - donors", "Vốn tài trợ"),
    (CAPITAL_OTHER, EQUITY, "Capital - other sources", "Vốn khác"),
    (RETAINED_SURPLUS, EQUITY, "Retained surplus", "Chênh lệch thu chi để lại"),
    (INTEREST_INCOME, INCOME, "Interest income", "Thu lãi cho vay"),
    (PENALTY_INCOME, INCOME, "Penalty interest income", "Thu lãi phạt"),
    (FEE_INCOME, INCOME, "Fee income", "Thu phí"),
    (RECOVERY_INCOME, INCOME, "Recoveries of written-off loans", "Thu hồi nợ đã xử lý"),
    (GRANT_INCOME, INCOME, "Grants", "Thu tài trợ"),
    (PROVISION_EXPENSE, EXPENSE, "Loan-loss provision expense", "Chi dự phòng rủi ro"),
    (FINANCIAL_EXPENSE, EXPENSE, "Financial expense", "Chi phí tài chính"),
    (OPERATING_EXPENSE, EXPENSE, "Operating expense", "Chi phí hoạt động"),
    (MEMO_WRITTEN_OFF, MEMO, "Written-off loans (off-balance)", "Nợ đã xử lý rủi ro (ngoại bảng)"),
    (MEMO_OVERDUE_INTEREST, MEMO, "Unrecognised overdue interest (off-balance)", "Lãi quá hạn chưa thu (ngoại bảng)"),
    (MEMO_OVERDUE_PENALTY, MEMO, "Unrecognised penalty (off-balance)", "Lãi phạt chưa thu (ngoại bảng)"),
    (MEMO_CONTRA, MEMO, "Off-balance contra", "Đối ứng ngoại bảng"),
)

CREDIT_NORMAL_CONTRA = {LOAN_LOSS_PROVISION, MEMO_CONTRA}


def normal_side(code: str, kind: str) -> str:
    """'D' for accounts that grow with debits, 'C' for those that grow with credits."""
    if code in CREDIT_NORMAL_CONTRA:
        return "C"
    return "D" if kind in DEBIT_NORMAL else "C"

MEMO_CODES = frozenset(code for code, kind, *_ in ACCOUNTS if kind == MEMO)
