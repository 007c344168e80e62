"""repayment_post plans on a partial state first (the installments due by the day and the loan's
last few) and on the whole loan only when it must: it writes exactly what planning on the whole
loan writes, and reads the whole loan only for the payments that need it."""

from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from repayments.selectors import loan_balances, payoff_quote
from repayments.services import repayment as repayment_service
from repayments.services import repayment_post

from .helpers import assert_sound, days
from .test_collection_sheet import (
    DAY,
    amount_paid,
    arrears,
    arrears_and_close_of_business,
    arrears_and_close_of_business_past_day,
    cob_past_the_days,
    examples,
    extras,
    loan_kinds,
    snapshot,
)

pytestmark = pytest.mark.django_db

STATE = "SELECT 0, i.id, i.number, i.schedule_version"  # the state statement's first line
PARTIAL = "ROW_NUMBER() OVER (PARTITION BY j.loan_id"  # only in the partial state's


def post_both_ways(fund, officer, payments):
    """`payments` ((loan, amount, day), ...) posted one by one with the first read, then (rolled
    back to before them) the same on the whole state every time; the snapshots of both."""
    with transaction.atomic():
        before = transaction.savepoint()
        for k, (loan, amount, day) in enumerate(payments):
            repayment_post(fund=fund, loan_id=loan.pk, amount=amount, paid_on=day, reference=f"F-{k}", channel="cash", posted_by=officer)
        assert_sound(fund)
        first_read = snapshot(fund)
        transaction.savepoint_rollback(before)
        with mock.patch.object(repayment_service, "PARTIAL_FIRST_READ", False):
            for k, (loan, amount, day) in enumerate(payments):
                repayment_post(fund=fund, loan_id=loan.pk, amount=amount, paid_on=day, reference=f"F-{k}", channel="cash",
                               posted_by=officer)
        whole = snapshot(fund)
    return first_read, whole


def state_reads(fund, officer, loan, amount, day, reference):
    """The state statements repayment_post ran: (partial ones, whole ones)."""
    with CaptureQueriesContext(connection) as queries:
        repayment_post(fund=fund, loan_id=loan.pk, amount=amount, paid_on=day, reference=reference, channel="cash", posted_by=officer)
    states = [q["sql"] for q in queries if STATE in q["sql"]]
    return sum(PARTIAL in sql for sql in states), sum(PARTIAL not in sql for sql in states)


def test_what_is_due_or_the_next_installment_early_needs_no_whole_read(staff, fund, make_loan):
    late, above, payoff = arrears(make_loan, fund, "weekly_flat", "monthly_equal", "weekly_flat")
    due = loan_balances(late, today=DAY)["total_due_now"]
    assert state_reads(fund, staff.officer, late, due, DAY, "R-due") == (1, 0)
    # paying early: the next installment, a reduce_term prepayment the last installments take
    fresh = make_loan(kind="weekly_flat", amount=12_000_000, installments=52)
    assert state_reads(fund, staff.officer, fresh, Decimal(250_000), fresh.disbursed_on, "R-early") == (1, 0)
    # beyond what the last installments read can take, and the payment that closes the loan
    assert state_reads(fund, staff.officer, above, payoff_quote(above, DAY)["total"] - 100_000, DAY, "R-above") == (1, 1)
    partial, whole = state_reads(fund, staff.officer, payoff, payoff_quote(payoff, DAY)["total"], DAY, "R-payoff")
    assert partial == 1 and whole >= 1  # (closing the loan reads it once more)
    # a back-dated payment replays the later one: every plan on the whole loan
    partial, whole = state_reads(fund, staff.officer, late, Decimal(10_000), days(DAY, -1), "R-back")
    assert partial == 0 and whole >= 2
    assert_sound(fund)


def test_a_payment_after_close_of_business_ran_past_its_day_writes_what_the_whole_read_writes(staff, fund, make_loan):
    """Close of business ran 9 days past the payment's day: installments due since carry interest
    and penalty the first read does not see, and the penalty accrued after the day is taken back."""
    loans, paid_on, due = arrears_and_close_of_business_past_day(make_loan, fund, "weekly_flat", "monthly_annuity", "monthly_equal", "weekly_flat")
    payments = [(loans[0], due[loans[0].pk], paid_on), (loans[1], due[loans[1].pk] + 300_000, paid_on),
                (loans[2], Decimal(55_555), paid_on), (loans[3], due[loans[3].pk] + 90_000, paid_on)]
    first_read, whole = post_both_ways(fund, staff.officer, payments)
    assert first_read == whole
    assert len(first_read["repayments"]) == 4


@examples
@given(kinds=loan_kinds(3), extras=extras(3), cob_past_the_day=cob_past_the_days, day_offset=st.integers(-20, 0))
def test_any_payment_writes_what_planning_on_the_whole_loan_writes(staff, fund, make_loan, kinds, extras, cob_past_the_day, day_offset):
    """Whatever it pays (less than due, what is due, a prepayment the last installments take or
    not, the payoff), on whichever day, however far close of business ran past that day."""
    with transaction.atomic():
        example = transaction.savepoint()
        loans = arrears_and_close_of_business(make_loan, fund, kinds, cob_past_the_day)
        day = days(DAY, day_offset)
        first_read, whole = post_both_ways(fund, staff.officer, [(loan, amount_paid(loan, extra, day), day)
                                                                 for loan, extra in zip(loans, extras, strict=True)])
        assert first_read == whole
        transaction.savepoint_rollback(example)


def test_the_reference_reads_the_whole_loan(staff, fund, make_loan):
    """What the comparisons above compare with: with PARTIAL_FIRST_READ off, no partial read."""
    loan, = arrears(make_loan, fund, "weekly_flat")
    with mock.patch.object(repayment_service, "PARTIAL_FIRST_READ", False):
        assert state_reads(fund, staff.officer, loan, Decimal(100_000), DAY, "W-1") == (0, 1)
