"""SQL fragments shared by close of business and the per-loan catch-up in the services.

Set-based: each function returns one SELECT producing per-loan (and per-installment) rows
`(loan_id, installment_id, account, amount)`: the signed subledger delta to post. Close of business
runs them over the whole fund (INSERT ... SELECT into a work table); a service runs the same SELECT
for one loan. Written for PostgreSQL; the few vendor differences (date arithmetic) are helpers so
that the demo's embedded SQLite runs them too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection

from loanfund import chart

from .settlement import COMPONENTS, PAID_COMPONENTS, may_have_allocations

OPEN = "('active', 'in_arrears', 'restructured')"


def lit(d: date) -> str:
    """A date literal (a datetime.date renders only digits and dashes: nothing to inject)."""
    if not isinstance(d, date):
        raise TypeError("date expected")
    if connection.vendor == "postgresql":
        return f"DATE '{d.isoformat()}'"
    return f"'{d.isoformat()}'"


def days(a: str, b: str) -> str:
    """Whole days from date b to date a."""
    if connection.vendor == "postgresql":
        return f"({a} - {b})"
    return f"CAST(julianday({a}) - julianday({b}) AS INTEGER)"


def greatest(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if connection.vendor == "postgresql" else f"MAX({a}, {b})"


def _loan_filter(loan_id: int | Iterable[int] | None) -> str:
    """One loan, several loans (a collection sheet) or, with None, the whole fund."""
    if loan_id is None:
        return ""
    if isinstance(loan_id, int):
        return f" AND l.id = {int(loan_id)}"
    return f" AND l.id IN ({', '.join(str(int(pk)) for pk in loan_id)})"


def unsettled(d: str) -> str:
    """Installment `i` not settled as of date literal `d` (the settlement projection,
    repayments.settlement): the partial index of unsettled installments and the range on settled_on."""
    return f"(i.settled_on IS NULL OR i.settled_on > {d})"


def days_past_due_select(*, fund_id: int, as_of: date, loan_id: int | None = None) -> str:
    """(loan_id, dpd) for the open loans disbursed by `as_of` that have an installment past due that
    day (DOMAIN.md days past due); a loan not listed is 0 days past due.

    Reads only the installments due before the date and not settled as of it, and sums the
    principal and interest allocations of those alone (allocation_inst_cover_idx)."""
    d = lit(as_of)
    return f"""
        SELECT i.loan_id, MAX({days(d, 'i.due_on')}) AS dpd
        FROM repayments_installment i JOIN repayments_loan l ON l.id = i.loan_id
        WHERE l.fund_id = {int(fund_id)} AND l.status IN {OPEN} AND l.disbursed_on <= {d}{_loan_filter(loan_id)}
          AND i.due_on < {d} AND {unsettled(d)}
          AND i.principal + i.interest > COALESCE((
              SELECT SUM(a.amount) FROM repayments_allocation a
               WHERE {may_have_allocations('i', d)} AND a.installment_id = i.id AND a.component IN ('principal', 'interest')
                 AND a.effective_on <= {d}), 0)
        GROUP BY i.loan_id
    """


def interest_accrual_select(*, fund_id: int, as_of: date, loan_id: int | None = None, overdue: bool | str | None = None) -> str:
    """Interest of installments falling due: accrued as income for current loans, to the memo account
    for overdue ones (Circular 37/2019). Delta = unpaid interest - what is already accrued and not
    collected for the installment, so a re-run posts nothing and a reversal re-accrues.

    Close of business: installments due on `as_of`; a service (loan_id given): every installment due
    by `as_of` (catch-up before a repayment is allocated).
    """
    d = lit(as_of)
    # A superseded installment's interest fell due and was caught up before its restructuring, or
    # was moved to the new schedule: close of business reads only the current schedule's rows.
    # An installment settled before the day (prepaid: most of a payroll month's) has its interest
    # paid and nothing accrued: its delta is 0, so it is not read at all.
    due = f"i.due_on <= {d}" if loan_id is not None else f"i.due_on = {d} AND i.superseded_on IS NULL AND (i.settled_on IS NULL OR i.settled_on >= {d})"
    if overdue is None or isinstance(overdue, str):
        condition = overdue or "l.days_past_due > 0"
        account = f"CASE WHEN {condition} THEN '{chart.MEMO_OVERDUE_INTEREST}' ELSE '{chart.INTEREST_RECEIVABLE}' END"
    else:
        account = f"'{chart.MEMO_OVERDUE_INTEREST if overdue else chart.INTEREST_RECEIVABLE}'"
    return f"""
        SELECT x.loan_id, x.installment_id, x.account, x.delta AS amount FROM (
            SELECT i.loan_id, i.id AS installment_id, {account} AS account,
                   i.interest
                   - COALESCE((SELECT SUM(a.amount) FROM repayments_allocation a
                               WHERE {may_have_allocations('i')} AND a.installment_id = i.id AND a.component = 'interest'), 0)
                   - COALESCE((SELECT SUM(s.amount) FROM repayments_loanledgerline s
                               WHERE s.loan_id = i.loan_id AND s.installment_id = i.id
                                 AND s.account IN ('{chart.INTEREST_RECEIVABLE}', '{chart.MEMO_OVERDUE_INTEREST}')), 0) AS delta
            FROM repayments_installment i JOIN repayments_loan l ON l.id = i.loan_id
            WHERE l.fund_id = {int(fund_id)} AND l.status IN {OPEN} AND {due} AND i.interest > 0{_loan_filter(loan_id)}
        ) x WHERE x.delta <> 0
    """


def settlement_sums(d: str, *, within: str = "") -> str:
    """Aggregates over allocations `a` of installment `i` (those settling its principal or interest
    by the day `d`, an SQL date): p_weighted, i_weighted (each settlement weighted by the days it
    saved: the penalty), p_before, i_before (settled before the day), paid. `within`: a condition
    that picks those allocations among the ones joined, when the join has others too."""
    weighted = f"a.amount * {days(d, greatest('a.effective_on', 'i.due_on'))}"
    w = f" AND {within}" if within else ""
    paid = f"SUM(CASE WHEN {within} THEN a.amount ELSE 0 END)" if within else "SUM(a.amount)"
    return f"""SUM(CASE WHEN a.component = 'principal'{w} THEN {weighted} ELSE 0 END) AS p_weighted,
                   SUM(CASE WHEN a.component = 'interest'{w} THEN {weighted} ELSE 0 END) AS i_weighted,
                   SUM(CASE WHEN a.component = 'principal' AND a.effective_on < {d}{w} THEN a.amount ELSE 0 END) AS p_before,
                   SUM(CASE WHEN a.component = 'interest' AND a.effective_on < {d}{w} THEN a.amount ELSE 0 END) AS i_before,
                   {paid} AS paid"""


def settlement_sums_join(*, fund_id: int, as_of: date) -> str:
    """Joins alias `p` to installment `i`: its settlement_sums as of the day."""
    d = lit(as_of)
    sums = settlement_sums(d)
    settled_by = "a.component IN ('principal', 'interest') AND a.effective_on <= " + d
    if connection.vendor == "postgresql":
        # One index-only probe per candidate installment (allocation_inst_cover_idx),
        # none for one never paid by the day: a hash join would read every allocation of the fund.
        paid = f"""CROSS JOIN LATERAL (SELECT {sums} FROM repayments_allocation a
                                        WHERE {may_have_allocations('i', d)} AND a.installment_id = i.id AND {settled_by}) p"""
    else:
        paid = f"""LEFT JOIN (SELECT a.installment_id, {sums} FROM repayments_allocation a
                               JOIN repayments_installment i ON i.id = a.installment_id
                              WHERE a.fund_id = {int(fund_id)} AND {settled_by} GROUP BY a.installment_id) p ON p.installment_id = i.id"""
    return paid


def overdue_installments_select(*, fund_id: int, as_of: date) -> str:
    """Per installment of the fund's open loans due before the day and not settled before it: the
    columns days past due and the penalty read (its loan's penalty rate too), with its settlement
    sums as of the day. Close of
    business reads each such installment and its allocations once (a work table) for both."""
    d = lit(as_of)
    return f"""
        SELECT i.id, i.loan_id, i.due_on, i.settled_on, i.principal, i.interest, l.penalty_rate,
               COALESCE(p.p_weighted, 0) AS p_weighted, COALESCE(p.i_weighted, 0) AS i_weighted,
               COALESCE(p.p_before, 0) AS p_before, COALESCE(p.i_before, 0) AS i_before, COALESCE(p.paid, 0) AS paid
        FROM repayments_installment i JOIN repayments_loan l ON l.id = i.loan_id
        {settlement_sums_join(fund_id=fund_id, as_of=as_of)}
        WHERE l.fund_id = {int(fund_id)} AND l.status IN {OPEN} AND l.disbursed_on <= {d}
          AND i.due_on < {d} AND (i.settled_on IS NULL OR i.settled_on >= {d})"""


def days_past_due_from(source: str, *, as_of: date) -> str:
    """days_past_due_select's (loan_id, dpd) from a work table of overdue_installments_select."""
    d = lit(as_of)
    return f"""
        SELECT i.loan_id, MAX({days(d, 'i.due_on')}) AS dpd FROM {source} i
        WHERE {unsettled(d)} AND i.principal + i.interest > i.paid
        GROUP BY i.loan_id"""


def penalty_target(d: str, *, p_weighted: str, i_weighted: str, penalty_rate: str, interest_rate: str) -> str:
    """The penalty through day `d` of installment `i` on cumulative days, rounded once (DOMAIN.md):
    its principal (and, at `interest_rate`, its interest) times the days since it fell due, less
    each settlement times the days it saved (`p_weighted`, `i_weighted`)."""
    due_days = days(d, "i.due_on")
    return f"""ROUND(((i.principal * {due_days} - COALESCE({p_weighted}, 0)) * {penalty_rate}
                          + (i.interest * {due_days} - COALESCE({i_weighted}, 0)) * {interest_rate}) / 365, 0)"""


def unpaid_at_start(*, p_before: str, i_before: str, interest_rate: str) -> str:
    """Installment `i` still bears penalty on day d: principal (or, with interest on overdue
    interest, interest) unpaid at the start of the day; else its target is final."""
    return f"(i.principal - COALESCE({p_before}, 0) > 0 OR ({interest_rate} > 0 AND i.interest - COALESCE({i_before}, 0) > 0))"


def overdue_interest_rate_sql(*, fund: str, on: str) -> str:
    """sql.overdue_interest_rate as an SQL expression: the fund's rate of interest on overdue interest
    in the settings row in force on `on` (the earliest row before any), 0 when the option is off."""
    rate = ("(SELECT CASE WHEN s.interest_on_overdue_interest_enabled THEN s.max_interest_on_overdue_interest_rate ELSE 0 END "
            f"FROM loanfund_fundsettings s WHERE s.fund_id = {fund} {{}} ORDER BY s.effective_from {{}} LIMIT 1)")
    return f"COALESCE({rate.format(f'AND s.effective_from <= {on}', 'DESC')}, {rate.format('', 'ASC')})"


def penalty_memo_cohort(column: str, *, as_of: date, every_days: int) -> str:
    """SQL condition on the loan id `column` for the loans whose penalty close of business posts on
    `as_of`: those whose id falls on that day of an `every_days` cycle, and every loan on a month's
    last day (so the memo accounts are whole at each month-end). Empty: every loan."""
    if every_days <= 1 or (as_of + timedelta(days=1)).day == 1:
        return ""
    return f" AND {column} % {int(every_days)} = {as_of.toordinal() % int(every_days)}"  # executed without parameters


def penalty_accrual_select(*, fund_id: int, as_of: date, loan_id: int | Iterable[int] | None = None, interest_rate: Decimal = Decimal(0),
                           source: str | None = None, arrears: str | None = None, every_days: int = 1) -> str:
    """Penalty on overdue principal: unpaid x rate x days / 365 on CUMULATIVE days, rounded when posted.

    For an installment due on t0 with principal P and principal settlements a_k on dates t_k, the
    penalty through day D (each day on the balance unpaid at the start of that day) is
    rate / 365 x (P x (D - t0) - sum a_k x (D - max(t_k, t0))), rounded half-up; the delta to post is
    that target minus what is already accrued. Only installments still unpaid at the start of D are
    looked at (paid ones have a final target), and never past a later accrual already posted.
    With `interest_rate` (the fund's optional interest on overdue interest, off by default) the same
    formula on the installment's unpaid interest is added before rounding.

    `source`: a work table of overdue_installments_select (close of business: the settlement sums
    and loan terms aging already read), instead of probing the allocations again; `arrears`: aging's
    work table of days past due per loan, instead of reading the loans it updated. `every_days`:
    close of business posts the penalty of the loans of that day's penalty_memo_cohort only.
    """
    d = lit(as_of)
    r_i = format(Decimal(interest_rate), "f")
    def cohort(column: str) -> str:
        return penalty_memo_cohort(column, as_of=as_of, every_days=every_days)

    # Close of business: loans in arrears (aging ran first; that day's cohort) and loans paid that
    # day (a final target).
    paid_that_day = f"SELECT t.loan_id FROM repayments_allocation t WHERE t.fund_id = {int(fund_id)} AND t.effective_on = {d}"
    if source is None:
        rows = f"repayments_installment i JOIN repayments_loan l ON l.id = i.loan_id {settlement_sums_join(fund_id=fund_id, as_of=as_of)}"
        p, loan = "p", "l"
        scope = f"l.fund_id = {int(fund_id)} AND l.status IN {OPEN} AND "
        candidates = "" if loan_id is not None else f"""
              AND l.id IN (SELECT c.id FROM repayments_loan c WHERE c.fund_id = {int(fund_id)}
                                  AND c.status IN ('in_arrears', 'restructured') AND c.days_past_due > 0{cohort("c.id")}
                           UNION {paid_that_day})"""
    else:  # the settlement sums and the loan's terms are columns of the work table
        rows, p, loan, scope = f"{source} i", "i", "i", ""
        candidates = f" AND i.loan_id IN (SELECT a.loan_id FROM {arrears} a WHERE a.dpd > 0{cohort('a.loan_id')} UNION {paid_that_day})"
    targets = f"""
            SELECT i.loan_id, i.id AS installment_id,
                   {penalty_target(d, p_weighted=f"{p}.p_weighted", i_weighted=f"{p}.i_weighted", penalty_rate=f"{loan}.penalty_rate",
                                   interest_rate=r_i)} AS target
            FROM {rows}
            WHERE {scope}({loan}.penalty_rate > 0 OR {r_i} > 0) AND i.due_on < {d}{_loan_filter(loan_id)}{candidates}
              -- settled before the day: nothing unpaid at its start, the target is final
              AND (i.settled_on IS NULL OR i.settled_on >= {d})
              AND {unpaid_at_start(p_before=f"{p}.p_before", i_before=f"{p}.i_before", interest_rate=r_i)}"""
    # What is accrued, and the last day accrued, per target: one index probe per installment
    # (LATERAL on PostgreSQL; the fence keeps the targets from being recomputed in the filter).
    if connection.vendor == "postgresql":
        return f"""
        SELECT x.loan_id, x.installment_id, '{chart.MEMO_OVERDUE_PENALTY}' AS account, x.target - COALESCE(p.accrued, 0) AS amount
        FROM ({targets} OFFSET 0) x
        LEFT JOIN LATERAL (SELECT SUM(s.amount) AS accrued, MAX(CASE WHEN s.amount > 0 THEN s.entry_date END) AS last_on
                             FROM repayments_loanledgerline s
                            WHERE s.loan_id = x.loan_id AND s.account = '{chart.MEMO_OVERDUE_PENALTY}'
                              AND s.installment_id = x.installment_id AND s.kind = 'penalty_accrual') p ON TRUE
        WHERE x.target <> COALESCE(p.accrued, 0) AND (p.last_on IS NULL OR p.last_on <= {d})
    """
    return f"""
        SELECT x.loan_id, x.installment_id, '{chart.MEMO_OVERDUE_PENALTY}' AS account, x.target - x.accrued AS amount FROM (
            SELECT t.*, COALESCE((SELECT SUM(s.amount) FROM repayments_loanledgerline s
                                   WHERE s.installment_id = t.installment_id AND s.kind = 'penalty_accrual'), 0) AS accrued,
                   (SELECT MAX(s.entry_date) FROM repayments_loanledgerline s
                     WHERE s.installment_id = t.installment_id AND s.kind = 'penalty_accrual' AND s.amount > 0) AS last_on
            FROM ({targets}) t
        ) x WHERE x.target <> x.accrued AND (x.last_on IS NULL OR x.last_on <= {d})
    """


def installments_owing_select(*, loan: str, today: str, gate: str = "") -> str:
    """The balance read's one pass over the installments of loan `loan` (SQL expressions, the read's
    parameters): those not settled before `today` that fell due by it, and the next one not settled.
    Per installment: what it still owes (principal_left, interest_left, savings_left: every
    allocation, the settlement projection) and its settlement_sums as of `today`, which
    penalty_owed_select reads. `gate`: a condition on the whole read (nothing when it fails)."""
    d = today
    paid = ", ".join(f"SUM(CASE WHEN a.component = '{c}' THEN a.amount ELSE 0 END) AS {c}_paid" for c in PAID_COMPONENTS)
    settled_by = "a.component IN ('principal', 'interest') AND a.effective_on <= " + d
    sums = f"{paid}, {settlement_sums(d, within=settled_by)}"
    components = f"a.component IN {COMPONENTS}"
    if connection.vendor == "postgresql":
        # One probe of allocation_inst_cover_idx per installment, none for one never paid (most
        # of those overdue): an aggregate without GROUP BY, so a row (of NULLs) for every one.
        paid_by = f"""CROSS JOIN LATERAL (SELECT {sums} FROM repayments_allocation a
                                        WHERE {may_have_allocations('i')} AND a.installment_id = i.id AND {components}) p"""
    else:
        paid_by = f"""LEFT JOIN (SELECT a.installment_id, {sums} FROM repayments_allocation a
                               JOIN repayments_installment i ON i.id = a.installment_id
                              WHERE i.loan_id = {loan} AND {components} GROUP BY a.installment_id) p ON p.installment_id = i.id"""
    left = ", ".join(f"i.{c} - COALESCE(p.{c}_paid, 0) AS {c}_left" for c in PAID_COMPONENTS)
    when = f" AND {gate}" if gate else ""
    return f"""
        SELECT i.id, i.due_on, i.schedule_version, i.number, i.settled_on, i.principal, i.interest, {left},
               p.p_weighted, p.i_weighted, p.p_before, p.i_before
        FROM repayments_installment i
        {paid_by}
        WHERE i.loan_id = {loan} AND (i.settled_on IS NULL OR i.settled_on >= {d}){when}
          AND (i.due_on <= {d} OR i.due_on = (SELECT MIN(n.due_on) FROM repayments_installment n
                                               WHERE n.loan_id = {loan} AND n.settled_on IS NULL AND n.due_on > {d}))"""


def penalty_owed_select(*, loan: str, today: str, installments: str) -> str:
    """(owed) per installment of one loan with penalty owed on `today`: what its memo lines hold
    (accrued less collected) plus what a catch-up through `today` would accrue (penalty_accrual_select's
    target less what is accrued), so a read shows the penalty to the day whatever day close of
    business last accrued the loan's penalty (PENALTY_MEMO_EVERY_DAYS). `loan` and `today` are SQL
    expressions (the read's parameters); `installments` is the relation installments_owing_select
    reads (the read's own pass over the loan's installments and their allocations, not a second
    one); the rates are the loan's and the fund's settings in force that day. One group per
    installment, no probe per row."""
    d = today
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""  # the two rates once, not once per use
    rate = f"(SELECT pl.penalty_rate FROM repayments_loan pl WHERE pl.id = {loan})"
    r_i = f"COALESCE({overdue_interest_rate_sql(fund=f'(SELECT fl.fund_id FROM repayments_loan fl WHERE fl.id = {loan})', on=d)}, 0)"
    targets = f"""
            SELECT i.id AS installment_id, 0 AS balance, 0 AS accrued, NULL AS last_on, 1 AS pending,
                   {penalty_target(d, p_weighted="i.p_weighted", i_weighted="i.i_weighted", penalty_rate="r.penalty_rate",
                                   interest_rate="r.interest_rate")} AS target
            FROM (SELECT {rate} AS penalty_rate, {r_i} AS interest_rate{fence}) r
            CROSS JOIN {installments} i
            WHERE i.due_on < {d} AND (r.penalty_rate > 0 OR r.interest_rate > 0)
              AND {unpaid_at_start(p_before="i.p_before", i_before="i.i_before", interest_rate="r.interest_rate")}"""
    memo = f"""
            SELECT s.installment_id, s.amount AS balance, CASE WHEN s.kind = 'penalty_accrual' THEN s.amount ELSE 0 END AS accrued,
                   CASE WHEN s.kind = 'penalty_accrual' AND s.amount > 0 THEN s.entry_date END AS last_on, 0 AS pending, 0 AS target
            FROM repayments_loanledgerline s
            WHERE s.loan_id = {loan} AND s.account = '{chart.MEMO_OVERDUE_PENALTY}' AND s.installment_id IS NOT NULL"""
    # A later accrual already posted (a back-dated read) is not caught up again, as in the catch-up.
    return f"""
        SELECT o.installment_id,
               SUM(o.balance) + CASE WHEN MAX(o.pending) = 1 AND (MAX(o.last_on) IS NULL OR MAX(o.last_on) <= {d})
                                     THEN SUM(o.target) - SUM(o.accrued) ELSE 0 END AS owed
        FROM ({targets}
              UNION ALL {memo}) o
        GROUP BY o.installment_id"""


def loan_catch_up_select(*, fund_id: int, as_of: date, loan_id: int, interest_rate: Decimal = Decimal(0)) -> str:
    """One statement for one loan: the interest fallen due by `as_of` (memo if the loan is overdue
    as of that day) and the penalty through `as_of`, not yet accrued."""
    dpd = days_past_due_select(fund_id=fund_id, as_of=as_of, loan_id=loan_id)
    interest = interest_accrual_select(fund_id=fund_id, as_of=as_of, loan_id=loan_id, overdue=f"COALESCE((SELECT MAX(dpd) FROM ({dpd}) d), 0) > 0")
    penalty = penalty_accrual_select(fund_id=fund_id, as_of=as_of, loan_id=loan_id, interest_rate=interest_rate)
    return f"{interest} UNION ALL {penalty}"


def fetch(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def overdue_interest_rate(fund, as_of: date) -> Decimal:
    """The fund's rate of interest on overdue interest in force that day; 0 when the option is off."""
    from loanfund.selectors.fund import fund_settings_as_of

    row = fund_settings_as_of(fund=fund, on=as_of)
    return Decimal(row.max_interest_on_overdue_interest_rate) if row.interest_on_overdue_interest_enabled else Decimal(0)
