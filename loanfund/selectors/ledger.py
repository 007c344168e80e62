"""Reading the books: trial balance and account balances, as aggregates in SQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from loanfund.models import Account, Fund, JournalLine

_ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=0))




def trial_balance(*, fund: Fund, as_of: date) -> dict:
    """Every account's debits, credits and balance (in its normal direction) up to `as_of`.

    On-balance and off-balance (memo) accounts are totalled separately; each total must be zero.
    """
    rows = []
    totals = {"on_balance": {"debit": Decimal(0), "credit": Decimal(0)}, "off_balance": {"debit": Decimal(0), "credit": Decimal(0)}}
    sums = (
        JournalLine.objects.filter(entry__fund=fund, entry__entry_date__lte=as_of)
        .values("account_id")
        .annotate(
            debit=Coalesce(Sum("amount", filter=Q(side="D")), _ZERO),
            credit=Coalesce(Sum("amount", filter=Q(side="C")), _ZERO),
        )
    )
    by_account = {row["account_id"]: row for row in sums}
    for account in Account.objects.filter(fund=fund).order_by("code"):
        s = by_account.get(account.id, {"debit": Decimal(0), "credit": Decimal(0)})
        debit, credit = Decimal(s["debit"]), Decimal(s["credit"])
        balance = debit - credit if account.normal_side == "D" else credit - debit
        book = "off_balance" if account.off_balance else "on_balance"
        totals[book]["debit"] += debit
        totals[book]["credit"] += credit
        rows.append({"code": account.code, "name": account.name, "name_vi": account.name_vi, "kind": account.kind,
                     "normal_side": account.normal_side, "debit": debit, "credit": credit, "balance": balance})
    for book in totals.values():
        book["difference"] = book["debit"] - book["credit"]
    return {"as_of": as_of, "accounts": rows, "totals": totals}


def account_balance(*, fund: Fund, code: str, as_of: date | None = None) -> Decimal:
    """Balance of one account in its normal direction."""
    account = Account.objects.get(fund=fund, code=code)
    qs = JournalLine.objects.filter(account=account)
    if as_of is not None:
        qs = qs.filter(entry__entry_date__lte=as_of)
    agg = qs.aggregate(debit=Coalesce(Sum("amount", filter=Q(side="D")), _ZERO), credit=Coalesce(Sum("amount", filter=Q(side="C")), _ZERO))
    debit, credit = Decimal(agg["debit"]), Decimal(agg["credit"])
    return debit - credit if account.normal_side == "D" else credit - debit


def unbalanced_entries(*, fund: Fund | None = None):
    """Entries whose lines do not balance (should always be empty: enforced on write)."""
    qs = JournalLine.objects.all()
    if fund is not None:
        qs = qs.filter(entry__fund=fund)
    return (
        qs.values("entry_id", "amount_currency")
        .annotate(diff=Sum(Case(When(side="D", then=F("amount")), default=-F("amount"))))
        .exclude(diff=0)
    )
