"""Reads of loans: state, dues, balances, payoff quote. A constant number of queries per loan."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Max, Min, Q, Sum, Value
from django.db.models.functions import Coalesce

from loanfund import chart, tenancy
from loanfund.exposure import MemberExposure
from loanfund.rows import RowLoader, converted, native_placeholders, prepared_cursor, token_users  # noqa: F401 - RowLoader, converted: re-exported
from loanfund.selectors.fund import fund_settings_as_of

from . import sql
from .allocation import Due
from .classification import Thresholds, classification_group
from .models import Allocation, Installment, Loan, LoanLedgerLine
from .settlement import may_have_allocations

ZERO = Decimal(0)
_Z = Value(Decimal(0))


@dataclass
class InstallmentState:
    id: int
    number: int
    schedule_version: int
    due_on: date
    principal: Decimal
    interest: Decimal
    savings: Decimal
    superseded_on: date | None
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    savings_paid: Decimal = ZERO
    penalty_balance: Decimal = ZERO  # accrued (memo 9113) not yet collected
    interest_receivable: Decimal = ZERO  # 1331 for this installment
    interest_memo: Decimal = ZERO  # 9112 for this installment
    # loan_state(as_of=D): principal and interest settled by allocations effective by D, and before D
    paid_through: tuple[Decimal, Decimal, Decimal, Decimal] | None = None

    def add_to_balance(self, account: str, amount: Decimal) -> None:
        """A subledger amount on one of the installment's own accounts (penalty, interest receivable
        or memo interest); other accounts are loan-level."""
        if account == chart.MEMO_OVERDUE_PENALTY:
            self.penalty_balance += amount
        elif account == chart.INTEREST_RECEIVABLE:
            self.interest_receivable += amount
        elif account == chart.MEMO_OVERDUE_INTEREST:
            self.interest_memo += amount

    @property
    def principal_unpaid(self) -> Decimal:
        return self.principal - self.principal_paid

    @property
    def interest_unpaid(self) -> Decimal:
        return self.interest - self.interest_paid

    @property
    def savings_unpaid(self) -> Decimal:
        return self.savings - self.savings_paid


@dataclass
class LoanState:
    loan: Loan
    installments: list[InstallmentState]
    accounts: dict[str, Decimal] = field(default_factory=dict)  # loan-level subledger balances (debit +)
    penalty_later: dict[int, Decimal] = field(default_factory=dict)  # penalty accrued for days after `after`
    # loan_states(due_by=D): of the installments only those due by D and the loan's last
    # LAST_READ (the first read of posting, on a collection sheet or one repayment at a time; see
    # repayment_plan), and whether a subledger balance names an installment that was not read.
    due_by: date | None = None
    names_unread: bool = False

    def add_accruals(self, rows) -> None:
        """Apply (loan, installment, account, amount) accrual deltas not yet posted, in memory."""
        by_id = {i.id: i for i in self.installments}
        for _, inst_id, account, amount in rows:
            amount = Decimal(amount)
            self.accounts[account] = self.accounts.get(account, ZERO) + amount
            by_id[inst_id].add_to_balance(account, amount)

    @property
    def principal_outstanding(self) -> Decimal:
        return self.accounts.get(chart.LOANS_CURRENT, ZERO) + self.accounts.get(chart.LOANS_OVERDUE, ZERO)

    @property
    def savings_balance(self) -> Decimal:
        return -self.accounts.get(chart.COMPULSORY_SAVINGS, ZERO)

    def days_past_due(self, as_of: date) -> int:
        late = [i.due_on for i in self.installments if i.due_on <= as_of and (i.principal_unpaid > 0 or i.interest_unpaid > 0)]
        return (as_of - min(late)).days if late else 0


# Settled before the day asked (settled_on, repayments.settlement): every component fully paid, so
# its allocations need not be summed; the others' are. Without a day: settled as of today.
_SETTLED = "i.settled_on IS NOT NULL AND (%(on)s IS NULL OR i.settled_on < %(on)s)"

_STATE_ALLOCATION_SUMS = """
        SUM(CASE WHEN a.component = 'principal' THEN a.amount ELSE 0 END) AS p,
        SUM(CASE WHEN a.component = 'interest' THEN a.amount ELSE 0 END) AS i,
        SUM(CASE WHEN a.component = 'savings' THEN a.amount ELSE 0 END) AS s,
        SUM(CASE WHEN a.component = 'principal' AND a.effective_on <= %(on)s THEN a.amount ELSE 0 END) AS p_on,
        SUM(CASE WHEN a.component = 'interest' AND a.effective_on <= %(on)s THEN a.amount ELSE 0 END) AS i_on,
        SUM(CASE WHEN a.component = 'principal' AND a.effective_on < %(on)s THEN a.amount ELSE 0 END) AS p_before,
        SUM(CASE WHEN a.component = 'interest' AND a.effective_on < %(on)s THEN a.amount ELSE 0 END) AS i_before"""


def _state_sql(loan_ids: str, due_by: bool = False) -> str:
    """The state statement for the loans whose ids are listed in `loan_ids` (comma-separated integers);
    with `due_by`, of their installments only those due by %(due_by)s and each loan's last
    LAST_READ due after it.

    The allocations summed are those of the installments not settled before the day. On
    PostgreSQL each such installment probes the allocation index (LATERAL): reading them by loan
    would fetch every allocation of the loan, one heap page each when the pages are cold, and for a
    sheet's hundreds of loans the planner could hash-join every allocation of the fund. The
    settled test is inside the probe: a settled installment is then not probed at all."""
    if connection.vendor == "postgresql":
        allocations = f"""LEFT JOIN LATERAL (
        SELECT {_STATE_ALLOCATION_SUMS}
        FROM repayments_allocation a
        WHERE NOT ({_SETTLED}) AND {may_have_allocations('i')} AND a.installment_id = i.id
          AND a.component IN ('principal', 'interest', 'savings')
    ) a ON TRUE"""
    else:
        allocations = f"""LEFT JOIN (
        SELECT a.installment_id, {_STATE_ALLOCATION_SUMS}
        FROM repayments_installment i
        JOIN repayments_allocation a ON a.installment_id = i.id AND a.component IN ('principal', 'interest', 'savings')
        WHERE i.loan_id IN ({loan_ids}) AND a.loan_id IN ({loan_ids}) AND NOT ({_SETTLED})
        GROUP BY a.installment_id
    ) a ON a.installment_id = i.id"""
    return f"""
    SELECT 0, i.id, i.number, i.schedule_version, i.due_on, i.principal, i.interest, i.savings, i.superseded_on,
           CASE WHEN {_SETTLED} THEN i.principal ELSE COALESCE(a.p, 0) END,
           CASE WHEN {_SETTLED} THEN i.interest ELSE COALESCE(a.i, 0) END,
           CASE WHEN {_SETTLED} THEN i.savings ELSE COALESCE(a.s, 0) END,
           CASE WHEN {_SETTLED} THEN i.principal ELSE COALESCE(a.p_on, 0) END,
           CASE WHEN {_SETTLED} THEN i.interest ELSE COALESCE(a.i_on, 0) END,
           CASE WHEN {_SETTLED} THEN i.principal ELSE COALESCE(a.p_before, 0) END,
           CASE WHEN {_SETTLED} THEN i.interest ELSE COALESCE(a.i_before, 0) END, NULL, i.loan_id
    FROM repayments_installment i
    {allocations}
    WHERE i.loan_id IN ({loan_ids}){_due_by_sql(loan_ids) if due_by else ""}
    UNION ALL
    SELECT 1, installment_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           SUM(amount), SUM(CASE WHEN kind = 'penalty_accrual' AND entry_date > %(after)s AND amount > 0 THEN amount ELSE 0 END),
           NULL, NULL, NULL, NULL, NULL, account, loan_id
    FROM repayments_loanledgerline
    WHERE loan_id IN ({loan_ids})
    GROUP BY loan_id, installment_id, account
    HAVING SUM(amount) <> 0 OR SUM(CASE WHEN kind = 'penalty_accrual' AND entry_date > %(after)s AND amount > 0 THEN amount ELSE 0 END) <> 0
    ORDER BY 18, 1, 5, 4, 3
"""


def _sqlite_state_row(row) -> tuple:
    """A state row as PostgreSQL returns it: dates and Decimals."""
    if row[0] == 0:
        return (*row[:4], _as_date(row[4]), *(Decimal(v) for v in row[5:8]), _as_date(row[8]),
                *(None if v is None else Decimal(v) for v in row[9:16]), *row[16:])
    return (*row[:9], Decimal(row[9]), None if row[10] is None else Decimal(row[10]), *row[11:])


def _as_date(value) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value  # SQLite (the demo) returns ISO strings


def loan_state(loan: Loan, *, after: date | None = None, as_of: date | None = None) -> LoanState:
    """The loan's installments with what settled them, and its subledger balances: one statement
    (raw SQL: this is the hot read of posting). Only the allocations of installments not settled
    before the day are summed (the settlement projection); penalty collected is not a figure here
    (the penalty still owed is the 9113 balance per installment). With `after`: also the
    penalty accrued for days after that date, per installment. With `as_of`: also the principal
    and interest settled by allocations effective by that day and before it (InstallmentState
    .paid_through), for the per-loan accrual catch-up."""
    return loan_states([loan], after=after, as_of=as_of)[loan.pk]


# A partial state's later installments: the last ones, which a reduce_term prepayment settles first
# (a member paying the next installment before its due date prepays about one installment).
LAST_READ = 4


def _due_by_sql(loan_ids: str) -> str:
    return f""" AND (i.due_on <= %(due_by)s OR i.id IN (
        SELECT id FROM (SELECT j.id, ROW_NUMBER() OVER (PARTITION BY j.loan_id ORDER BY j.due_on DESC, j.schedule_version DESC,
                                                        j.number DESC) AS k
                        FROM repayments_installment j WHERE j.loan_id IN ({loan_ids}) AND j.due_on > %(due_by)s) last
        WHERE k <= {LAST_READ}))"""


def loan_states(loans, *, after: date | None = None, as_of: date | None = None, due_by: date | None = None) -> dict[int, LoanState]:
    """loan_state of several loans in one statement (a collection sheet), by loan id. With
    `due_by`, a partial state (LoanState.due_by): of the installments only those due by that day
    and the last LAST_READ (most of a loan's installments are later ones); every subledger
    balance is read."""
    on = as_of or after
    states = {loan.pk: LoanState(loan, [], due_by=due_by) for loan in loans}
    with connection.cursor() as cursor:
        cursor.execute(_state_sql(", ".join(str(int(pk)) for pk in states), due_by=due_by is not None),
                       {"on": on, "after": after} if due_by is None else {"on": on, "after": after, "due_by": due_by})
        rows = cursor.fetchall()
    if connection.vendor != "postgresql":  # SQLite (the demo): ISO dates, numbers not yet Decimal
        rows = [_sqlite_state_row(row) for row in rows]
    state, loan_id, by_id, accounts = None, None, {}, None
    for row in rows:
        if row[17] != loan_id:
            loan_id = row[17]
            state = states[loan_id]
            by_id, accounts = {}, defaultdict(Decimal)
            state.accounts = accounts
        if row[0] == 0:
            inst = InstallmentState(*row[1:12])
            if on is not None:
                inst.paid_through = row[12:16]
            state.installments.append(inst)
            by_id[inst.id] = inst
            continue
        inst_id, account, total, later = row[1], row[16], row[9], row[10]
        if later:
            state.penalty_later[inst_id] = state.penalty_later.get(inst_id, ZERO) + Decimal(later)
        accounts[account] += total
        inst = by_id.get(inst_id)
        if inst is not None:
            inst.add_to_balance(account, total)
        elif inst_id is not None and due_by is not None:
            state.names_unread = True
    for state in states.values():
        state.accounts = dict(state.accounts)
    return states


def pending_penalty(loan: Loan, as_of: date) -> dict[int, Decimal]:
    """Penalty not yet accrued through `as_of`, per installment (what a catch-up would post)."""
    rows = sql.fetch(sql.penalty_accrual_select(fund_id=loan.fund_id, as_of=as_of, loan_id=loan.pk,
                                                interest_rate=sql.overdue_interest_rate(loan.fund, as_of)))
    return {inst: Decimal(amount) for _, inst, _, amount in rows}


def penalty_adjustments(loan: Loan, as_of: date) -> dict[int, Decimal]:
    adjust = pending_penalty(loan, as_of)
    for inst, later in penalty_accrued_after(loan, as_of).items():
        adjust[inst] = adjust.get(inst, ZERO) - later
    return adjust


def penalty_accrued_after(loan: Loan, as_of: date) -> dict[int, Decimal]:
    """Penalty accrued for days after `as_of` (a back-dated payment does not owe it yet)."""
    rows = (LoanLedgerLine.objects.filter(loan=loan, kind="penalty_accrual", entry_date__gt=as_of, amount__gt=0)
            .values_list("installment_id").annotate(t=Sum("amount")).values_list("installment_id", "t"))
    return {inst: Decimal(total) for inst, total in rows if total}


def dues_as_of(state: LoanState, as_of: date, pending: dict[int, Decimal] | None = None) -> tuple[list[Due], list[InstallmentState]]:
    """What is due and unpaid by `as_of` (allocation.Due per installment), and the later installments
    with unpaid principal (for a prepayment). `pending`: penalty adjustments per installment (not yet
    accrued through `as_of`: +; accrued for later days: -)."""
    pending = pending or {}
    dues, future = [], []
    for i in state.installments:
        penalty = max(i.penalty_balance + pending.get(i.id, ZERO), ZERO)
        if i.due_on <= as_of:
            due = Due(i.id, i.due_on, penalty, max(i.interest_unpaid, ZERO), max(i.principal_unpaid, ZERO), ZERO, max(i.savings_unpaid, ZERO))
            if due.penalty or due.interest or due.principal or due.savings:
                dues.append(due)
        else:
            if penalty:
                dues.append(Due(i.id, i.due_on, penalty, ZERO, ZERO))
            if i.principal_unpaid > 0:
                future.append(i)
    return dues, future


def payoff_total(dues: list[Due], future: list[InstallmentState]) -> Decimal:
    """payoff_amount(...)["total"] from dues_as_of's result (posting computes the dues once)."""
    total = sum((i.principal_unpaid for i in future), ZERO)
    for d in dues:
        total += d.penalty + d.interest + d.principal + d.fees + d.savings
    return total


def payoff_amount(state: LoanState, as_of: date, pending: dict[int, Decimal] | None = None) -> dict[str, Decimal]:
    """What closes the loan on `as_of`: all principal, and the interest, penalty and savings due by then."""
    dues, future = dues_as_of(state, as_of, pending)
    parts = {
        "principal": sum((d.principal for d in dues), ZERO) + sum((i.principal_unpaid for i in future), ZERO),
        "interest": sum((d.interest for d in dues), ZERO),
        "penalty": sum((d.penalty for d in dues), ZERO),
        "fees": sum((d.fees for d in dues), ZERO),
        "savings": sum((d.savings for d in dues), ZERO),
    }
    parts["total"] = sum(parts.values(), ZERO)
    return parts


def member_user_load(user) -> None:
    """For a member's request: their member record, its fund and the user's roles in one
    statement, cached on the user where tenancy.fund_of / user_roles and the views look
    (user.staff_profile: none, user.member_profile, member.fund, the roles), instead of one query
    for each. Leaves a staff user (or one without a member record) alone: tenancy reads those the
    usual way."""
    from django.contrib.auth.models import Group

    from borrowers.models import Member
    from loanfund.models import Fund, StaffProfile

    if not getattr(user, "is_authenticated", False) or "member_profile" in user._state.fields_cache:
        return
    members, funds = RowLoader.of(Member, "m"), RowLoader.of(Fund, "f")
    memberships = user._meta.get_field("groups").remote_field.through._meta.db_table
    statement = f"""
        SELECT {members.columns}, {funds.columns}, g.name
        FROM {Member._meta.db_table} m
        JOIN {Fund._meta.db_table} f ON f.id = m.fund_id
        LEFT JOIN {memberships} ug ON ug.user_id = m.user_id
        LEFT JOIN {Group._meta.db_table} g ON g.id = ug.group_id
        WHERE m.user_id = %(user)s AND NOT EXISTS (SELECT 1 FROM {StaffProfile._meta.db_table} p WHERE p.user_id = %(user)s)"""
    with prepared_cursor() as cursor:
        cursor.execute(statement, {"user": user.pk})
        rows = cursor.fetchall()
    if not rows:
        return
    _member_cache(user, members.build(rows[0]), funds.build(rows[0], len(members.fields)), (row[-1] for row in rows))


def _member_cache(user, member, fund, role_names) -> None:
    """Where tenancy.fund_of / user_roles and the views look: the user's member record and its
    fund, no staff profile, and the roles."""
    from borrowers.models import Member
    from loanfund.models import StaffProfile

    Member._meta.get_field("fund").set_cached_value(member, fund)
    user_field = Member._meta.get_field("user")
    user_field.set_cached_value(member, user)
    user_field.remote_field.set_cached_value(user, member)
    StaffProfile._meta.get_field("user").remote_field.set_cached_value(user, None)
    tenancy.user_scope_set(user, fund=fund, roles=(name for name in role_names if name is not None))


def member_loan_balances(user, *, loan_id: int, today: date) -> tuple[bool, dict | None]:
    """GET /me/loans/{id}/ in one statement after the user: whether `user` is a member (a member
    record, no staff profile), and loan_balances' shape of their loan `loan_id` (None when it is
    not theirs or not in their fund: 404). For a member, their fund and roles are recorded for
    tenancy (the role check that follows reads them); a staff user, or one without a member record,
    gets (False, None) and nothing recorded: the caller takes the general path."""
    rows = _member_balances_rows(user.pk, loan_id=loan_id, today=today)
    if not rows or rows[0][0] != 0:  # no such user (the penalty's aggregate row is there whatever)
        return False, None
    return _member_balances_of(user, rows, today=today)


def user_and_member_loan_balances(user_id, *, loan_id: int, today: date):
    """member_loan_balances for the user whose id a token names, read in the same statement as
    the balances (the JWT authentication's one round trip on GET /me/loans/{id}/): (the user, or
    None when there is none; whether they are a member; the balances). The caller authenticates
    the user (active, token not revoked) before it uses anything else."""
    rows = _member_balances_rows(user_id, loan_id=loan_id, today=today)
    if not rows or rows[0][0] != 0:  # no such user (the penalty's aggregate row is there whatever)
        return None, False, None
    user = token_users().build(rows[0], _MEMBER_BALANCES_WIDTH)
    return (user, *_member_balances_of(user, rows, today=today))


def _member_balances_rows(user_id, *, loan_id: int, today: date) -> list:
    statement, native = _member_balances_statement()
    params = {"user": user_id, "loan": loan_id, "today": today}
    with prepared_cursor(native=native) as cursor:
        cursor.execute(statement, tuple(params[name] for name in _MEMBER_BALANCES_PARAMS) if native else params)
        return cursor.fetchall()


def _member_balances_of(user, rows, *, today: date) -> tuple[bool, dict | None]:
    """Only the figures are read, no model instance is built (the loan's, member's and fund's rows
    cost more to turn into instances than to read); tenant isolation is in the SQL (the loan is
    joined to this user's member record and its fund)."""
    from loanfund.models import Fund, StaffProfile

    if rows[0][1] is None:  # the user has no member record, or has a staff profile
        return False, None
    fund = Fund.from_db(connection.alias, ["id"], [rows[0][2]])  # the fund's other fields load if read
    tenancy.user_scope_set(user, fund=fund, roles=(row[14] for row in rows if row[0] == 0 and row[14] is not None))
    StaffProfile._meta.get_field("user").remote_field.set_cached_value(user, None)
    loan = next((row for row in rows if row[0] == 1), None)
    if loan is None:
        return True, None
    _, pk, member, restructure_count, *limits, disbursed_on, closed_on, written_off_on, principal, apr, eir, number, status = loan[:16]
    if connection.vendor != "postgresql":  # SQLite (the demo): ISO dates, decimals as numbers
        disbursed_on, closed_on, written_off_on = _as_date(disbursed_on), _as_date(closed_on), _as_date(written_off_on)
        principal, apr, eir = (converted(Loan._meta.get_field(name), value)
                               for name, value in (("principal_disbursed", principal), ("apr", apr), ("eir", eir)))
    return True, _balance_figures(rows, tag=2, at=16, today=today, thresholds=Thresholds(*(int(v) for v in limits)), id=pk, number=number,
                                  status=status, principal_disbursed=Decimal(principal), apr=apr, eir=eir, disbursed_on=disbursed_on,
                                  closed_on=closed_on, written_off_on=written_off_on, member=member, restructure_count=restructure_count)


_member_balances_statements: dict = {}
_MEMBER_BALANCES_PARAMS = ("user", "loan", "today")
_MEMBER_BALANCES_WIDTH = 23  # the columns before the user's


def _member_balances_statement() -> tuple[str, bool]:
    """The rows, tagged: 0 the user once per role (the role's name in the loan number's column),
    with their member record (member id, fund id; NULL when they have none or are staff) and,
    from column _MEMBER_BALANCES_WIDTH on, the user's own columns (loanfund.rows.token_users); 1 the loan if it is the member's (id, member, restructure count, the four
    classification thresholds in force today, the three dates, principal disbursed, apr, eir,
    number, status); then _balances_select's rows (tags 2-4), read only when the loan is theirs.
    With whether it is in PostgreSQL's own placeholders (prepared_cursor's `native`)."""
    if connection.vendor in _member_balances_statements:
        return _member_balances_statements[connection.vendor]
    from django.contrib.auth.models import Group

    from borrowers.models import Member
    from loanfund.models import FundSettings, StaffProfile

    memberships = Member._meta.get_field("user").remote_field.model._meta.get_field("groups").remote_field.through._meta.db_table
    pick = f"(SELECT s.id FROM {FundSettings._meta.db_table} s WHERE s.fund_id = l.fund_id {{}} ORDER BY s.effective_from {{}} LIMIT 1)"
    # PostgreSQL types a UNION's columns by its first branches: the balance columns are typed here.
    balance_types = [Installment._meta.get_field(name).db_type(connection)
                     for name in ("due_on", "schedule_version", "number", "principal", "interest", "savings")]
    balance_types.append(LoanLedgerLine._meta.get_field("account").db_type(connection))
    typed_nulls = ", ".join(f"CAST(NULL AS {t})" for t in balance_types)
    users = token_users()
    user_nulls = ", ".join(["NULL"] * len(users.fields))  # typed by the first branch's user columns
    statement = f"""
    WITH me AS (
        SELECT m.id, m.fund_id FROM {Member._meta.db_table} m
        WHERE m.user_id = %(user)s AND NOT EXISTS (SELECT 1 FROM {StaffProfile._meta.db_table} p WHERE p.user_id = %(user)s)
    ), l AS (
        SELECT l.id, l.member_id, l.fund_id, l.restructure_count, l.disbursed_on, l.closed_on, l.written_off_on, l.principal_disbursed,
               l.apr, l.eir, l.number, l.status
        FROM repayments_loan l JOIN me ON me.id = l.member_id AND me.fund_id = l.fund_id
        WHERE l.id = %(loan)s
    ), {_balances_with(gate="EXISTS (SELECT 1 FROM l)")}
    SELECT 0, me.id, me.fund_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, g.name, NULL, {typed_nulls}, {users.columns}
    FROM {connection.ops.quote_name(users.model._meta.db_table)} u LEFT JOIN me ON TRUE
         LEFT JOIN {memberships} ug ON ug.user_id = u.id LEFT JOIN {Group._meta.db_table} g ON g.id = ug.group_id
    WHERE u.id = %(user)s
    UNION ALL
    SELECT 1, l.id, l.member_id, l.restructure_count, t.group2_from_days, t.group3_from_days, t.group4_from_days, t.group5_from_days,
           l.disbursed_on, l.closed_on, l.written_off_on, l.principal_disbursed, l.apr, l.eir, l.number, l.status,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, {user_nulls}
    FROM l LEFT JOIN {FundSettings._meta.db_table} t
         ON t.id = COALESCE({pick.format("AND s.effective_from <= %(today)s", "DESC")}, {pick.format("", "ASC")})
    UNION ALL
    {_balances_select(2, ", ".join(["NULL"] * 15), gate="EXISTS (SELECT 1 FROM l)", after=user_nulls)}
    ORDER BY 1, 17, 18, 19"""
    native = connection.vendor == "postgresql"
    if native:
        statement = native_placeholders(statement, _MEMBER_BALANCES_PARAMS)
    _member_balances_statements[connection.vendor] = statement, native
    return statement, native


def _balances_with(gate: str = "") -> str:
    """The CTE _balances_select reads (`owing`): the one pass over the loan's installments and their
    allocations (sql.installments_owing_select), made only when `gate` holds."""
    return f"owing AS ({sql.installments_owing_select(loan='%(loan)s', today='%(today)s', gate=gate)})"


def _balances_select(tag: int, columns: str = "", gate: str = "", after: str = "") -> str:
    """loan_balances' rows for loan %(loan)s, tagged `tag` (unsettled installments: those due by
    %(today)s and the next one, all the figures need), `tag` + 1
    (principal and savings balances) and `tag` + 2 (penalty accrued, not collected); `columns`
    before the row's own and `after` after them, and each part only when `gate` holds. The
    statement begins WITH _balances_with(gate)."""
    before = f"{columns}, " if columns else ""
    when = f" AND {gate}" if gate else ""
    after = f", {after}" if after else ""
    return f"""
    SELECT {tag}, {before}i.due_on, i.schedule_version, i.number, i.principal_left, i.interest_left, i.savings_left, NULL{after}
    FROM owing i
    WHERE i.settled_on IS NULL
    UNION ALL
    SELECT {tag + 1}, {before}NULL, NULL, NULL, SUM(amount), NULL, NULL, account{after}
    FROM repayments_loanledgerline
    WHERE loan_id = %(loan)s AND account IN ('{chart.LOANS_CURRENT}', '{chart.LOANS_OVERDUE}', '{chart.COMPULSORY_SAVINGS}'){when}
    GROUP BY account
    UNION ALL
    SELECT {tag + 2}, {before}NULL, NULL, NULL, SUM(p.owed), NULL, NULL, NULL{after}
    FROM ({sql.penalty_owed_select(loan="%(loan)s", today="%(today)s", installments="owing")}) p
    WHERE p.owed > 0{when}"""


_BALANCES_SQL = f"WITH {_balances_with()}" + _balances_select(0) + "\n    ORDER BY 1, 2, 3, 4\n"


def loan_balances(loan: Loan, *, today: date, thresholds: Thresholds | None = None) -> dict:
    """The API.md balance shape of one loan as of today. `thresholds`: the classification
    thresholds in force today when the caller has them, else read here.

    One statement that reads only what the figures need: the installments not settled (the
    settlement projection: a settled installment owes no principal, interest or savings), the
    loan's principal and savings balances, and the penalty accrued and not collected per
    installment. tests/servicing/test_posting_fast_paths.py compares it with loan_state."""
    if thresholds is None:
        thresholds = Thresholds.of(fund_settings_as_of(fund=loan.fund, on=today))
    with connection.cursor() as cursor:
        cursor.execute(_BALANCES_SQL, {"loan": loan.pk, "today": today})
        rows = cursor.fetchall()
    return _balance_figures(rows, tag=0, at=1, today=today, thresholds=thresholds, id=loan.pk, number=loan.number, status=loan.status,
                            principal_disbursed=loan.principal_disbursed.amount, apr=loan.apr, eir=loan.eir,
                            disbursed_on=loan.disbursed_on, closed_on=loan.closed_on, written_off_on=loan.written_off_on,
                            member=loan.member_id, restructure_count=loan.restructure_count)


def _balance_figures(rows, *, tag: int, at: int, today: date, thresholds: Thresholds, status: str, restructure_count: int, **loan) -> dict:
    """loan_balances' shape from _balances_select(tag)'s rows (their own columns from `at`; rows
    of other tags are skipped) and the loan's fields."""
    is_open = status in Loan.OPEN_STATUSES
    accounts: dict[str, Decimal] = {}
    interest_due = principal_due = savings_due = penalty_due = ZERO
    late, nxt = None, None
    for row in rows:
        kind = row[0] - tag
        if kind == 1:
            accounts[row[at + 6]] = Decimal(row[at + 3])
        elif kind == 2:
            penalty_due = Decimal(row[at + 3] or 0)
        elif kind == 0:
            due_on, principal, interest, savings = _as_date(row[at]), Decimal(row[at + 3]), Decimal(row[at + 4]), Decimal(row[at + 5])
            if due_on <= today:
                interest_due += max(interest, ZERO)
                principal_due += max(principal, ZERO)
                savings_due += max(savings, ZERO)
                if late is None and (principal > 0 or interest > 0):
                    late = due_on
            elif nxt is None and (principal > 0 or interest > 0 or savings > 0):
                nxt = {"due_on": due_on, "amount": principal + interest + savings}
    dpd = (today - late).days if late is not None and is_open else 0
    if not is_open:
        interest_due = penalty_due = principal_due = savings_due = ZERO
        nxt = None
    principal_outstanding = accounts.get(chart.LOANS_CURRENT, ZERO) + accounts.get(chart.LOANS_OVERDUE, ZERO)
    return {
        "id": loan["id"],
        "number": loan["number"],
        "status": status,
        "principal_disbursed": loan["principal_disbursed"],
        "principal_outstanding": principal_outstanding,
        "interest_due": interest_due,
        "penalty_due": penalty_due,
        "fees_due": ZERO,
        "savings_due": savings_due,
        "total_due_now": principal_due + interest_due + penalty_due + savings_due,
        "next_installment": nxt,
        "days_past_due": dpd,
        "classification_group": classification_group(dpd, restructure_count, thresholds),
        "restructure_count": restructure_count,
        "compulsory_savings_balance": -accounts.get(chart.COMPULSORY_SAVINGS, ZERO),
        "currency": "VND",
        "apr": loan["apr"],
        "eir": loan["eir"],
        "disbursed_on": loan["disbursed_on"],
        "closed_on": loan["closed_on"],
        "written_off_on": loan["written_off_on"],
        "member": loan["member"],
    }


def member_exposure_provider(member_ids, as_of: date) -> dict[int, MemberExposure]:
    """loanfund.exposure provider: outstanding principal (loans not written off) and worst arrears."""
    ids = list(member_ids)
    outstanding = dict(
        LoanLedgerLine.objects.filter(loan__member_id__in=ids, account__in=[chart.LOANS_CURRENT, chart.LOANS_OVERDUE], entry_date__lte=as_of)
        .values_list("loan__member_id").annotate(t=Sum("amount")).values_list("loan__member_id", "t")
    )
    worst = dict(
        Loan.objects.filter(member_id__in=ids, status__in=Loan.OPEN_STATUSES).values_list("member_id")
        .annotate(m=Max("days_past_due")).values_list("member_id", "m")
    )
    return {m: MemberExposure(Decimal(outstanding.get(m) or 0), int(worst.get(m) or 0)) for m in ids if m in outstanding or m in worst}


def member_outstanding(member_id: int) -> Decimal:
    total = LoanLedgerLine.objects.filter(loan__member_id=member_id, account__in=[chart.LOANS_CURRENT, chart.LOANS_OVERDUE]).aggregate(
        t=Sum("amount"))["t"]
    return Decimal(total or 0)


def allocations_of(repayment_id: int):
    return Allocation.objects.filter(repayment_id=repayment_id).select_related("installment").order_by("id")


def schedule_rows(loan: Loan, *, today: date) -> list[dict]:
    """The schedule with what is paid; `penalty_due` per installment to the day (its memo balance and
    what a catch-up would post today, as the balance reads), so the rows add up to `penalty_due`."""
    state = loan_state(loan)
    pending = pending_penalty(loan, today) if loan.is_open else {}
    return [
        {"number": i.number, "schedule_version": i.schedule_version, "due_on": i.due_on, "principal": i.principal, "interest": i.interest,
         "savings": i.savings, "total": i.principal + i.interest + i.savings, "principal_paid": i.principal_paid,
         "interest_paid": i.interest_paid, "savings_paid": i.savings_paid, "penalty_due": max(i.penalty_balance + pending.get(i.id, ZERO), ZERO),
         "superseded_on": i.superseded_on}
        for i in state.installments
    ]


def loan_transactions(loan: Loan) -> list[dict]:
    """Every money event of the loan, oldest first: disbursement, repayments and their reversals or
    replays (per component), rescheduling, write-off, recoveries. Three queries."""
    events = [{"date": loan.disbursed_on, "kind": "disbursement", "reference": loan.number, "repayment": None,
               "principal": str(loan.principal_disbursed.amount), "interest": "0", "penalty": "0", "savings": "0",
               "other": str(-loan.upfront_fee.amount), "total": str(loan.principal_disbursed.amount - loan.upfront_fee.amount)}]
    rows = (
        Allocation.objects.filter(loan=loan)
        .values("repayment_id", "repayment__reference", "kind", "effective_on")
        .annotate(
            principal=Coalesce(Sum("amount", filter=Q(component="principal")), _Z),
            interest=Coalesce(Sum("amount", filter=Q(component="interest")), _Z),
            penalty=Coalesce(Sum("amount", filter=Q(component="penalty")), _Z),
            savings=Coalesce(Sum("amount", filter=Q(component="savings")), _Z),
            other=Coalesce(Sum("amount", filter=Q(component__in=["fees", "recovery"])), _Z),
            first=Min("id"),
        )
        .order_by("effective_on", "first")
    )
    for r in rows:
        parts = {k: Decimal(r[k]) for k in ("principal", "interest", "penalty", "savings", "other")}
        events.append({"date": r["effective_on"], "kind": r["kind"], "reference": r["repayment__reference"], "repayment": r["repayment_id"],
                       **{k: str(v) for k, v in parts.items()}, "total": str(sum(parts.values(), ZERO))})
    for r in loan.restructures.order_by("restructured_on", "id"):
        events.append({"date": r.restructured_on, "kind": "restructure", "reference": r.reason[:100], "repayment": None,
                       "principal": str(r.principal.amount), "interest": "0", "penalty": "0", "savings": "0", "other": "0", "total": "0"})
    events.sort(key=lambda e: e["date"])
    for e in events:
        e["currency"] = "VND"
    return events


def payoff_quote(loan: Loan, as_of: date) -> dict:
    state = loan_state(loan)
    if loan.status == Loan.Status.WRITTEN_OFF:
        claim = state.accounts.get(chart.MEMO_WRITTEN_OFF, ZERO)
        parts = {"principal": ZERO, "interest": ZERO, "penalty": ZERO, "fees": ZERO, "savings": ZERO, "total": claim}
    elif not loan.is_open:
        parts = {k: ZERO for k in ("principal", "interest", "penalty", "fees", "savings", "total")}
    else:
        parts = payoff_amount(state, as_of, penalty_adjustments(loan, as_of))
    savings_after = state.savings_balance + parts["savings"]
    settings_row = fund_settings_as_of(fund=loan.fund, on=as_of)
    return {"as_of": as_of, **parts, "currency": "VND",
            "compulsory_savings_returned": savings_after if settings_row.return_savings_at_payoff and loan.is_open else ZERO}
