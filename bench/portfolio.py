"""The synthetic loans themselves: what servicing would have written for one loan (pure Python).

Used by bench/generate.py (which describes the portfolio and loads it). No Django here: the
workers of the generator only need the schedule functions and these row builders.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from loanfund.money import to_dong
from repayments.schedule import ScheduleTerms, build_schedule, price_disclosure, reamortize

ZERO = Decimal(0)
VND = "VND"
BRANCHES = 300
# Stride of per-loan ids (installments, repayments, journal entry slots): sparse but deterministic,
# so parallel workers never need to ask the database for ids.
INST_STRIDE = 256
REPAY_STRIDE = 128
BATCH_KINDS = ("repayment", "cob_interest", "cob_aging", "cob_penalty")
DAY_SLOTS = 20000
# Tables the generator bulk-loads (their secondary indexes are rebuilt after the load).
BIG_TABLES = ("repayments_installment", "repayments_allocation", "repayments_loanledgerline", "repayments_repayment",
              "repayments_loan", "borrowers_member", "loanfund_loanapplication", "loanfund_journalentry", "loanfund_journalline")

# code, name, frequency, method, annual rate, penalty rate, savings rate, fee rate, multiple, weight
PRODUCTS = (
    ("W-FLAT", "Weekly flat", "weekly", "flat", "0.072", "0.108", "0.0025", "0", 1000, 30),
    ("W-ANN", "Weekly annuity", "weekly", "annuity", "0.090", "0.135", "0", "0.01", 100, 20),
    ("W-EP", "Weekly declining", "weekly", "equal_principal", "0.084", "0.126", "0.0025", "0", 1000, 20),
    ("B-FLAT", "Biweekly flat", "biweekly", "flat", "0.078", "0.117", "0.005", "0", 1000, 15),
    ("M-ANN", "Monthly annuity", "monthly", "annuity", "0.096", "0.144", "0", "0.01", 1, 8),
    ("M-EP", "Monthly declining", "monthly", "equal_principal", "0.090", "0", "0.01", "0", 1000, 7),
)
PERIODS = {"weekly": 52, "biweekly": 26, "monthly": 12}


# ------------------------------------------------------------------------------------------------
# One loan: the rows servicing would have written
# ------------------------------------------------------------------------------------------------


class Out:
    """Rows of one chunk, per table, plus the per-(kind, day) journal totals of batched entries."""

    def __init__(self):
        self.rows = defaultdict(list)
        self.batches: dict[tuple[int, int], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        self.counts = defaultdict(int)

    def post(self, kind: str, day: date, account: str, amount: Decimal) -> None:
        """Signed (debit +) amount into the batch entry of `kind` on `day`."""
        self.batches[(BATCH_KINDS.index(kind), day.toordinal())][account] += amount


def _due_groups(rows):
    """Paid installments grouped by calendar month of the due date (one payroll deduction each)."""
    groups: dict[tuple[int, int], list] = {}
    for row in rows:
        groups.setdefault((row[1].year, row[1].month), []).append(row)
    return list(groups.values())


class LoanWriter:
    def __init__(self, ctx: dict, out: Out):
        self.ctx = ctx
        self.out = out
        self.today: date = ctx["today"]
        self.yesterday = self.today - timedelta(days=1)

    def ledger(self, loan_id, inst_id, account, kind, day, amount, je_id):
        self.out.rows["ledger"].append((self.ctx["fund_id"], loan_id, inst_id, account, kind, day, amount, VND, je_id))

    def alloc(self, loan_id, repayment_id, inst_id, component, kind, amount, day, je_id):
        self.out.rows["alloc"].append((self.ctx["fund_id"], loan_id, repayment_id, inst_id, component, kind, amount, VND, day, je_id))

    def batch_je(self, kind: str, day: date) -> int:
        return self.ctx["je_base"] + 2 * self.ctx["n"] + BATCH_KINDS.index(kind) * DAY_SLOTS + (day.toordinal() - self.ctx["epoch"])

    # -- the schedule's life -----------------------------------------------------------------

    def pay(self, loan_id: int, rows, state: dict) -> None:
        """Settle `rows` (installment tuples) month by month, as payroll deductions."""
        for group in _due_groups(rows):
            paid_on = group[0][1]
            state["repay_seq"] += 1
            rep_id = self.ctx["repay_base"] + state["idx"] * REPAY_STRIDE + state["repay_seq"]
            principal = sum((r[2] for r in group), ZERO)
            interest = sum((r[3] for r in group), ZERO)
            savings = sum((r[4] for r in group), ZERO)
            total = principal + interest + savings
            self.out.rows["repayment"].append((rep_id, self.ctx["fund_id"], loan_id, total, VND, paid_on,
                                               f"P{state['idx']:08d}-{state['repay_seq']:03d}", "payroll_deduction", self.ctx["user_id"]))
            je = self.batch_je("repayment", paid_on)
            for inst_id, _, p, i, s in group:
                state["settled"][inst_id] = paid_on
                self.alloc(loan_id, rep_id, inst_id, "interest", "payment", i, paid_on, je)
                self.alloc(loan_id, rep_id, inst_id, "principal", "payment", p, paid_on, je)
                if s:
                    self.alloc(loan_id, rep_id, inst_id, "savings", "payment", s, paid_on, je)
            self.ledger(loan_id, None, "1311", "repayment", paid_on, -principal, je)
            if savings:
                self.ledger(loan_id, None, "2111", "repayment", paid_on, -savings, je)
            out = self.out
            out.post("repayment", paid_on, "1121", total)
            out.post("repayment", paid_on, "1311", -principal)
            out.post("repayment", paid_on, "5111", -interest)
            out.post("repayment", paid_on, "2111", -savings)
            out.counts["repayments"] += 1

    def fall_behind(self, loan_id: int, unpaid, until: date, penalty_rate: Decimal) -> dict:
        """Close of business on every day up to `until` for a loan that stopped paying at unpaid[0].
        Returns the balances it leaves on the loan's subledger accounts."""
        first = unpaid[0][1]
        outstanding = sum((r[2] for r in unpaid), ZERO)
        balances = {"1311": outstanding, "1312": ZERO, "1331": {}, "9112": {}, "9113": {}}
        for inst_id, due, _p, i, _s in unpaid:
            if due > until or not i:
                continue
            account = "1331" if due == first else "9112"
            je = self.batch_je("cob_interest", due)
            self.ledger(loan_id, inst_id, account, "interest_accrual", due, i, je)
            self.out.post("cob_interest", due, account, i)
            self.out.post("cob_interest", due, "5111" if account == "1331" else "9199", -i)
            balances[account][inst_id] = i
        if first < until:
            aged = first + timedelta(days=1)
            je = self.batch_je("cob_aging", aged)
            self.ledger(loan_id, None, "1311", "aging", aged, -outstanding, je)
            self.ledger(loan_id, None, "1312", "aging", aged, outstanding, je)
            self.out.post("cob_aging", aged, "1311", -outstanding)
            self.out.post("cob_aging", aged, "1312", outstanding)
            balances["1311"], balances["1312"] = ZERO, outstanding
        if penalty_rate:
            je = self.batch_je("cob_penalty", until)
            for inst_id, due, p, _i, _s in unpaid:
                if due >= until:
                    break
                target = to_dong(p * (until - due).days * penalty_rate / 365)
                if target:
                    self.ledger(loan_id, inst_id, "9113", "penalty_accrual", until, target, je)
                    self.out.post("cob_penalty", until, "9113", target)
                    self.out.post("cob_penalty", until, "9199", -target)
                    balances["9113"][inst_id] = target
        return balances

    def write_off(self, loan_id: int, idx: int, unpaid, on: date, balances: dict, settled: dict) -> None:
        ctx = self.ctx
        je = ctx["je_base"] + ctx["n"] + idx
        current, overdue = balances["1311"], balances["1312"]
        receivable = sum(balances["1331"].values(), ZERO)
        memo_interest = sum(balances["9112"].values(), ZERO)
        memo_penalty = sum(balances["9113"].values(), ZERO)
        on_books = current + overdue + receivable
        claim = on_books + memo_interest + memo_penalty
        self.out.rows["je"].append((je, ctx["fund_id"], on, "write_off", f"Write-off of loan {loan_id}", "loan", str(loan_id)))
        for account, side, amount in (("6311", "D", on_books), ("1311", "C", current), ("1312", "C", overdue), ("1331", "C", receivable),
                                      ("9112", "C", memo_interest), ("9113", "C", memo_penalty), ("9111", "D", claim), ("9199", "C", on_books)):
            if amount:
                self.out.rows["jl"].append((je, ctx["accounts"][account], side, amount, VND))
        for account, amount in (("1311", -current), ("1312", -overdue), ("9111", claim)):
            if amount:
                self.ledger(loan_id, None, account, "write_off", on, amount, je)
        for account in ("1331", "9112", "9113"):
            for inst_id, amount in balances[account].items():
                self.ledger(loan_id, inst_id, account, "write_off", on, -amount, je)
        for inst_id, due, p, i, s in unpaid:
            self.alloc(loan_id, None, inst_id, "principal", "written_off", p, on, je)
            if due <= on and i:
                self.alloc(loan_id, None, inst_id, "interest", "written_off", i, on, je)
            if inst_id in balances["9113"]:
                self.alloc(loan_id, None, inst_id, "penalty", "written_off", balances["9113"][inst_id], on, je)
            if due > on:
                if i:
                    self.alloc(loan_id, None, inst_id, "interest", "rescheduled", i, on, None)
                if s:
                    self.alloc(loan_id, None, inst_id, "savings", "rescheduled", s, on, None)
            if due > on or not s:  # the savings of an installment fallen due stay unpaid
                settled[inst_id] = on
        self.out.rows["writeoff"].append((loan_id, on, "Uncollectable (synthetic)", current + overdue, VND, receivable + memo_interest, VND,
                                          memo_penalty, VND, ZERO, VND, on_books, VND, je, ctx["user_id"]))

    # -- one loan ----------------------------------------------------------------------------

    def loan(self, idx: int, rng: random.Random) -> None:
        ctx, out = self.ctx, self.out
        today, yesterday = self.today, self.yesterday
        product = rng.choices(ctx["products"], weights=[p["weight"] for p in ctx["products"]])[0]
        months = rng.randint(12, 36)
        n = months if product["frequency"] == "monthly" else round(months * PERIODS[product["frequency"]] / 12)
        amount = Decimal(int(min(50e6, max(2e6, rng.lognormvariate(math.log(13.5e6), 0.55))) // 100_000 * 100_000))
        roll = rng.random()
        fate = "written_off" if roll < 0.01 else "restructured" if roll < 0.03 else "arrears" if roll < 0.11 else "current"
        out.counts[fate] += 1
        term_days = int(months * 30.44)
        if fate == "written_off":
            elapsed = rng.randint(300, term_days + 250)
        elif fate == "restructured":
            elapsed = rng.randint(150, max(151, term_days - 30))
        else:
            elapsed = rng.randint(1, max(2, term_days - 40))
        disbursed_on = today - timedelta(days=elapsed)
        loan_id, member_id, app_id = ctx["loan_base"] + idx, ctx["member_base"] + idx, ctx["app_base"] + idx
        terms = ScheduleTerms(principal=amount, annual_rate=product["annual_rate"], installments=n, frequency=product["frequency"],
                              method=product["method"], disbursed_on=disbursed_on, multiple=product["multiple"],
                              savings_rate=product["savings_rate"], upfront_fee_rate=product["fee_rate"])
        schedule = build_schedule(terms)
        inst_base = ctx["inst_base"] + idx * INST_STRIDE
        v1 = [(inst_base + k, row.due_on, row.principal, row.interest, row.savings) for k, row in enumerate(schedule.installments)]
        state = {"idx": idx, "repay_seq": 0, "settled": {}}
        status, dpd, written_off_on, restructures, superseded_on = "active", 0, None, 0, None
        version, rate, count = 1, product["annual_rate"], n

        # Disbursement: its own entry (linked one-to-one from the loan).
        je = ctx["je_base"] + idx
        fee = schedule.upfront_fee
        method_account = "1121" if rng.random() < 0.7 else "1011"
        out.rows["je"].append((je, ctx["fund_id"], disbursed_on, "disbursement", f"Disbursement of application {app_id}",
                               "loan_application", str(app_id)))
        for account, side, value in (("1311", "D", amount), (method_account, "C", amount - fee), ("5113", "C", fee)):
            if value:
                out.rows["jl"].append((je, ctx["accounts"][account], side, value, VND))
        self.ledger(loan_id, None, "1311", "disbursement", disbursed_on, amount, je)
        out.counts["net_disbursed"] += int(amount - fee)

        live = v1
        if fate == "restructured":
            restructured_on = disbursed_on + timedelta(days=rng.randint(90, elapsed - 30))
            before = [r for r in v1 if r[1] <= restructured_on]
            after = [r for r in v1 if r[1] > restructured_on]
            self.pay(loan_id, before, state)
            if after:
                outstanding = sum((r[2] for r in after), ZERO)
                for inst_id, _due, p, i, s in after:
                    state["settled"][inst_id] = restructured_on
                    for component, value in (("principal", p), ("interest", i), ("savings", s)):
                        if value:
                            self.alloc(loan_id, None, inst_id, component, "rescheduled", value, restructured_on, None)
                count = min(len(after) + rng.randint(4, 26), INST_STRIDE - n)
                new = reamortize(outstanding=outstanding, terms_like=terms, start_on=restructured_on, installments=count)
                version, restructures, status, superseded_on = 2, 1, "restructured", restructured_on
                live = [(inst_base + n + k, row.due_on, row.principal, row.interest, row.savings) for k, row in enumerate(new.installments)]
                out.rows["restructure"].append((loan_id, restructured_on, "Hardship (synthetic)", outstanding, VND, count, rate, 2, ctx["user_id"]))
                fate = "arrears" if rng.random() < 0.3 else "current"
            else:
                fate = "current"

        if fate == "current":
            # Every month whose first due date has come is deducted from the payroll in full.
            months_due = {(r[1].year, r[1].month) for r in live if r[1] <= yesterday}
            paid = [r for r in live if (r[1].year, r[1].month) in months_due]
            if len(paid) == len(live):  # an open portfolio: the last month stays to be paid
                last = (live[-1][1].year, live[-1][1].month)
                paid = [r for r in paid if (r[1].year, r[1].month) != last]
            self.pay(loan_id, paid, state)
        else:
            due_rows = [r for r in live if r[1] <= (yesterday if fate == "arrears" else yesterday - timedelta(days=200))]
            if not due_rows:
                self.pay(loan_id, [], state)
            else:
                wanted = self._dpd_tail(rng) if fate == "arrears" else rng.randint(181, 500)
                horizon = yesterday if fate == "arrears" else None
                if fate == "written_off":
                    first_idx = max(0, min(len(due_rows) - 1, rng.randint(0, len(due_rows) - 1)))
                    first_due = due_rows[first_idx][1]
                    written_off_on = min(yesterday, first_due + timedelta(days=wanted))
                    horizon = written_off_on
                else:
                    first_idx = next((k for k, r in enumerate(due_rows) if r[1] >= yesterday - timedelta(days=wanted)), len(due_rows) - 1)
                self.pay(loan_id, live[:first_idx], state)
                unpaid = live[first_idx:]
                balances = self.fall_behind(loan_id, unpaid, horizon, ctx["penalty"][product["code"]])
                dpd = (horizon - unpaid[0][1]).days
                if fate == "written_off":
                    # first_due <= yesterday - 200: always past the 180-day write-off threshold.
                    self.write_off(loan_id, idx, unpaid, written_off_on, balances, state["settled"])
                    status = "written_off"
                elif status != "restructured":
                    status = "in_arrears" if dpd else "active"

        # The schedule rows, with the settlement projection (repayments.settlement) of what was paid.
        settled = state["settled"]
        for inst_id, due, p, i, s in v1:
            out.rows["inst"].append((inst_id, loan_id, 1, inst_id - inst_base + 1, due, p, VND, i, VND, s, VND, superseded_on,
                                     settled.get(inst_id, None if p or i or s else due)))
        if version == 2:
            for k, (inst_id, due, p, i, s) in enumerate(live):
                out.rows["inst"].append((inst_id, loan_id, 2, k + 1, due, p, VND, i, VND, s, VND, None,
                                         settled.get(inst_id, None if p or i or s else due)))

        member = ctx["member_row"](idx, rng)
        out.rows["member"].append(member)
        pv = product["version_id"]
        out.rows["app"].append((app_id, ctx["fund_id"], member_id, pv, amount, VND, n, "disbursed", ctx["user_id"], None))
        apr, eir = ctx["disclosure"](product, n)
        out.rows["loan"].append((loan_id, ctx["fund_id"], member_id, app_id, pv, f"B{idx + 1:08d}", amount, VND, fee, VND, disbursed_on,
                                 "bank" if method_account == "1121" else "cash", rate, ctx["penalty"][product["code"]], count, version,
                                 apr, eir, status, dpd, restructures, None, written_off_on, je, ctx["user_id"]))

    @staticmethod
    def _dpd_tail(rng: random.Random) -> int:
        """Days past due of a loan in arrears: most are days or weeks late, a long tail is not."""
        u = rng.random()
        if u < 0.45:
            return rng.randint(1, 29)
        if u < 0.75:
            return rng.randint(30, 89)
        if u < 0.90:
            return rng.randint(90, 179)
        return rng.randint(180, 720)



def _member_row_factory(ctx):
    statuses = ("poor", "near_poor", "newly_escaped_poverty", "low_income", "other")
    weights = (25, 25, 10, 35, 5)
    branch_ids = ctx["branch_ids"]
    surnames = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ")
    given = ("Thị Lan", "Văn Hùng", "Thị Hoa", "Văn Nam", "Thị Mai", "Minh Tuấn", "Thị Hương", "Quốc Bảo", "Thu Trang", "Đức Anh")

    def row(idx, rng):
        member_id = ctx["member_base"] + idx
        return (member_id, ctx["fund_id"], branch_ids[rng.randrange(len(branch_ids))], f"{ctx['nid_prefix']}{idx:09d}",
                f"{rng.choice(surnames)} {rng.choice(given)}", date(1965 + rng.randrange(40), 1 + rng.randrange(12), 1 + rng.randrange(28)),
                rng.choice(("female", "male")), Decimal(rng.randrange(4_000_000, 12_000_000, 100_000)), VND, 1 + rng.randrange(6),
                rng.choices(statuses, weights)[0], date(2005 + rng.randrange(18), 1 + rng.randrange(12), 1 + rng.randrange(28)))

    return row


def _disclosure_cache():
    """APR/EIR per product and term (they do not depend on the amount beyond rounding): the IRR
    bisection is the one slow part of pricing, so it runs once per (product, installments)."""
    cache: dict = {}

    def get(product, n):
        key = (product["code"], n)
        if key not in cache:
            terms = ScheduleTerms(principal=Decimal(16_000_000), annual_rate=product["annual_rate"], installments=n,
                                  frequency=product["frequency"], method=product["method"], disbursed_on=date(2025, 1, 6),
                                  multiple=product["multiple"], savings_rate=product["savings_rate"], upfront_fee_rate=product["fee_rate"])
            d = price_disclosure(build_schedule(terms))
            cache[key] = (d.apr, d.eir)
        return cache[key]

    return get


