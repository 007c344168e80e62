"""Close of business: set-based, idempotent per date, resumable after a crash, replayable."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from loanfund import chart
from loanfund.models import Job, JournalEntry
from loanfund.selectors.ledger import account_balance
from repayments import cob
from repayments.models import CloseOfBusinessRun, Loan, LoanLedgerLine
from repayments.selectors import loan_balances, schedule_rows
from repayments.services import repayment_post
from tests.foundation.test_api_core import assert_error

from .helpers import assert_sound, books, days

pytestmark = pytest.mark.django_db

START = date(2025, 1, 6)


def portfolio(fund, make_loan, staff):
    """Three loans: one paid on time, one never paid, one paid late."""
    on_time, never, late = make_loan(fund), make_loan(fund, kind="monthly_annuity", installments=12), make_loan(fund)
    for week in range(1, 5):
        repayment_post(fund=fund, loan_id=on_time.pk, amount=Decimal(230_846), paid_on=days(START, 7 * week), reference=f"{fund.code}-ot{week}",
                       channel="cash", posted_by=staff.officer)
    repayment_post(fund=fund, loan_id=late.pk, amount=Decimal(461_692), paid_on=days(START, 25), reference=f"{fund.code}-late",
                   channel="bank_transfer", posted_by=staff.officer)
    return on_time, never, late


def run_days(fund, first: date, count: int):
    for n in range(count):
        cob.close_of_business(fund=fund, as_of=days(first, n))


def test_aging_penalty_and_revenue_recognition(staff, fund, make_loan):
    on_time, never, late = portfolio(fund, make_loan, staff)
    run_days(fund, START, 50)
    on_time.refresh_from_db(), never.refresh_from_db(), late.refresh_from_db()
    # never: first monthly installment due 2025-02-06, as of 2025-02-24 it is 18 days late.
    assert (never.status, never.days_past_due) == (Loan.Status.IN_ARREARS, 18)
    # on_time paid 4 weeks; installments of weeks 5.. are unpaid: 2025-02-10 is the oldest unpaid.
    assert on_time.status == Loan.Status.IN_ARREARS and on_time.days_past_due == (days(START, 49) - date(2025, 2, 10)).days
    # The never-paid loan's principal sits in overdue loans; its interest went off-balance.
    assert account_balance(fund=fund, code=chart.LOANS_OVERDUE) > Decimal(10_000_000)
    assert account_balance(fund=fund, code=chart.MEMO_OVERDUE_INTEREST) > 0
    assert account_balance(fund=fund, code=chart.MEMO_OVERDUE_PENALTY) > 0
    assert account_balance(fund=fund, code=chart.PENALTY_INCOME) > 0  # the late loan paid penalty: income when collected
    # A few aggregated entries per day, never one per loan per day.
    per_day = JournalEntry.objects.filter(source_type="close_of_business").values_list("entry_date", flat=True)
    assert max(list(per_day).count(d) for d in set(per_day)) <= 3
    assert_sound(fund)


def test_running_a_day_twice_changes_nothing(staff, fund, make_loan):
    portfolio(fund, make_loan, staff)
    run_days(fund, START, 40)
    before = books(fund), list(Loan.objects.order_by("pk").values_list("status", "days_past_due"))
    run_days(fund, START, 40)  # already done: skipped
    for n in range(40):  # forced re-run: posts only corrections, and there are none
        cob.close_of_business(fund=fund, as_of=days(START, n), rerun=True)
    assert (books(fund), list(Loan.objects.order_by("pk").values_list("status", "days_past_due"))) == before
    assert_sound(fund)


def test_the_penalty_from_aging_work_table_equals_probing_each_installment(staff, make_fund, make_staff, make_loan, monkeypatch, settings):
    """Close of business computes the penalty from the settlement sums aging read into its work
    table; probing each installment's allocations again (the per-loan path) must give the same books."""
    settings.PENALTY_MEMO_EVERY_DAYS = 1  # every loan every day: the two funds' loan ids fall in different weekly cohorts
    shared, probing = make_fund("shared", capital=Decimal(10_000_000_000)), make_fund("probing", capital=Decimal(10_000_000_000))
    for f in (shared, probing):
        portfolio(f, make_loan, staff_in(f, make_staff))
    run_days(shared, START, 60)
    from repayments import sql

    original = sql.penalty_accrual_select
    used = []

    def probe_each(**kwargs):
        used.append(kwargs.get("source"))
        return original(**{**kwargs, "source": None, "arrears": None})

    monkeypatch.setattr(sql, "penalty_accrual_select", probe_each)
    run_days(probing, START, 60)
    assert cob.OVERDUE in used  # close of business asked for the work table, and was given the probes instead
    assert books(shared) == books(probing)
    assert account_balance(fund=shared, code=chart.MEMO_OVERDUE_PENALTY) > 0
    assert_sound(shared)


def test_a_run_left_at_the_penalty_stage_by_the_three_stage_version_is_finished(staff, fund, make_loan):
    portfolio(fund, make_loan, staff)
    run_days(fund, START, 30)
    day = days(START, 30)
    cob.close_of_business(fund=fund, as_of=day)
    before = books(fund)
    CloseOfBusinessRun.objects.filter(fund=fund, as_of=day).update(stage="penalty")  # aging, interest, penalty were its stages
    assert cob.close_of_business(fund=fund, as_of=day)["stage"] == "done"
    assert CloseOfBusinessRun.objects.get(fund=fund, as_of=day).stage == "done" and books(fund) == before


def test_killed_midway_and_rerun_gives_the_uninterrupted_result(staff, make_fund, make_staff, make_loan, monkeypatch, settings):
    settings.PENALTY_MEMO_EVERY_DAYS = 1  # the two funds' loan ids fall in different weekly cohorts
    calm, crashy = make_fund("calm", capital=Decimal(10_000_000_000)), make_fund("crashy", capital=Decimal(10_000_000_000))
    for f in (calm, crashy):
        portfolio(f, make_loan, staff_in(f, make_staff))
    run_days(calm, START, 45)

    class Crash(Exception):
        pass

    def crash(stage):
        if stage == "aging":
            raise Crash()

    for n in range(45):
        day = days(START, n)
        monkeypatch.setattr(cob, "after_stage_hook", crash)
        with pytest.raises(Crash):
            cob.close_of_business(fund=crashy, as_of=day)
        assert CloseOfBusinessRun.objects.get(fund=crashy, as_of=day).stage == "aging"
        monkeypatch.setattr(cob, "after_stage_hook", None)
        cob.close_of_business(fund=crashy, as_of=day)  # resumes at "interest"
    assert books(calm) == books(crashy)
    assert list(Loan.objects.filter(fund=calm).order_by("pk").values_list("status", "days_past_due")) == \
        list(Loan.objects.filter(fund=crashy).order_by("pk").values_list("status", "days_past_due"))
    assert_sound(crashy)


def staff_in(fund, make_staff):
    class S:
        officer = make_staff(fund, "officer")
        accountant = make_staff(fund, "accountant")

    return S


def test_close_of_business_via_api_job_and_command(staff, api, fund, make_loan, capsys):
    make_loan(kind="monthly_annuity", installments=12)
    r = api(staff.accountant).post("/api/v1/jobs/close-of-business/", {"as_of": "2025-03-01"}, format="json")
    assert r.status_code == 202, r.json()
    job = api(staff.accountant).get(f"/api/v1/jobs/{r.json()['id']}/").json()
    assert job["status"] == Job.Status.SUCCEEDED and job["progress"] == 100
    assert Loan.objects.get().days_past_due == 23
    assert_error(api(staff.officer).post("/api/v1/jobs/close-of-business/", {"as_of": "2025-03-01"}, format="json"), 403, "permission_denied")
    assert_error(api(staff.accountant).post("/api/v1/jobs/close-of-business/", {"as_of": "2999-03-01"}, format="json"), 400, "future_date")
    call_command("close_of_business", "--as-of", "2025-03-02", "--fund", fund.code)
    assert "2025-03-02" in capsys.readouterr().out
    assert Loan.objects.get().days_past_due == 24


@pytest.mark.django_db(transaction=True)
def test_a_repayment_posted_while_close_of_business_runs_waits_and_the_penalty_is_accrued_once(staff, fund, make_loan, monkeypatch):
    """Aging locks every loan whose days past due it updates (all the loans in arrears) and the
    penalty is posted in the same transaction: a repayment of such a loan posted meanwhile waits
    for close of business to commit, then catches up only what is left. Without that, both would
    post the same day's penalty delta."""
    import threading

    from django.db import connections

    from repayments import sql
    from repayments.models import LoanLedgerLine

    loan = make_loan(kind="monthly_equal", amount=12_000_000, installments=12, disbursed_on=date(2025, 1, 6))
    run_days(fund, date(2025, 2, 20), 40)  # first installment due 2025-02-06, unpaid: in arrears
    day = date(2025, 4, 1)
    aging_done, release, posted = threading.Event(), threading.Event(), threading.Event()
    original = cob._penalty

    def paused_penalty(*args, **kwargs):
        aging_done.set()
        release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(cob, "_penalty", paused_penalty)
    errors = []

    def close():
        try:
            cob.close_of_business(fund=fund, as_of=day)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def pay():
        try:
            repayment_post(fund=fund, loan_id=loan.pk, amount=Decimal(500_000), paid_on=day, reference="during-cob", channel="cash",
                           posted_by=staff.officer)
            posted.set()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    closing = threading.Thread(target=close)
    closing.start()
    assert aging_done.wait(30)
    paying = threading.Thread(target=pay)
    paying.start()
    assert not posted.wait(1.5)  # the repayment waits on the loan aging locked
    release.set()
    closing.join(60), paying.join(60)
    assert not errors and posted.is_set()
    # Accrued once: nothing left to accrue through the day, and no over-accrual to take back.
    assert sql.fetch(sql.penalty_accrual_select(fund_id=fund.pk, as_of=day, loan_id=loan.pk)) == []
    assert LoanLedgerLine.objects.filter(loan=loan, kind="penalty_accrual", entry_date=day).count() == \
        LoanLedgerLine.objects.filter(loan=loan, kind="penalty_accrual", entry_date=day).values("installment_id").distinct().count()
    assert_sound(fund)


def test_weekly_penalty_memo_is_whole_at_each_month_end_and_the_reads_show_the_penalty_to_the_day(staff, make_fund, make_staff, make_loan,
                                                                                                 settings):
    """PENALTY_MEMO_EVERY_DAYS = 7: close of business posts a loan's penalty on its day of the week
    (loan id mod 7) and every loan's on a month's last day. The same portfolio closed every day with
    every loan's penalty (a second fund) has the same books at each month-end, and every day both
    funds' balance reads show the same penalty due, loan for loan."""
    weekly, daily = make_fund("weekly", capital=Decimal(10_000_000_000)), make_fund("daily", capital=Decimal(10_000_000_000))
    pairs = list(zip(portfolio(weekly, make_loan, staff_in(weekly, make_staff)), portfolio(daily, make_loan, staff_in(daily, make_staff)),
                     strict=True))

    month_ends, cohort_days = 0, 0
    for n in range(54):  # 2025-01-06 .. 2025-02-28: two month-ends
        day = days(START, n)
        settings.PENALTY_MEMO_EVERY_DAYS = 7
        cob.close_of_business(fund=weekly, as_of=day)
        settings.PENALTY_MEMO_EVERY_DAYS = 1
        cob.close_of_business(fund=daily, as_of=day)
        posted = set(LoanLedgerLine.objects.filter(fund=weekly, kind="penalty_accrual", entry_date=day,
                                                   journal_entry__source_type="close_of_business").values_list("loan_id", flat=True))
        if days(day, 1).day == 1:
            month_ends += 1
            assert books(weekly) == books(daily), day
        else:
            assert all(loan_id % 7 == day.toordinal() % 7 for loan_id in posted), day
            cohort_days += bool(posted)
            assert account_balance(fund=weekly, code=chart.MEMO_OVERDUE_PENALTY) <= account_balance(fund=daily, code=chart.MEMO_OVERDUE_PENALTY)
        for mine, theirs in pairs:
            mine.refresh_from_db(), theirs.refresh_from_db()
            due = loan_balances(mine, today=day)["penalty_due"]
            assert due == loan_balances(theirs, today=day)["penalty_due"], (day, mine.number)
            if mine.is_open:  # the schedule's rows add up to it
                assert sum(row["penalty_due"] for row in schedule_rows(mine, today=day)) == due, (day, mine.number)
    assert month_ends == 2 and cohort_days > 0
    assert account_balance(fund=weekly, code=chart.MEMO_OVERDUE_PENALTY) > 0
    # Between month-ends the weekly fund's memo lags (fewer lines), never its members' figures.
    assert LoanLedgerLine.objects.filter(fund=weekly, kind="penalty_accrual").count() < \
        LoanLedgerLine.objects.filter(fund=daily, kind="penalty_accrual").count()
    assert_sound(weekly)
