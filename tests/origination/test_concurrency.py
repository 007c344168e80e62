"""Two approvals of one member racing on PostgreSQL never together exceed the exposure cap."""

import threading
import time

import pytest
from django.db import connection, connections

from loanfund.errors import DomainError
from loanfund.models import LoanApplication
from loanfund.origination import services
from loanfund.origination.services import application_approve


@pytest.mark.django_db(transaction=True)
def test_two_approvals_of_one_member_at_the_same_moment_cannot_both_pass_the_cap(fund, staff, make_staff, member, product, walk,
                                                                                  monkeypatch):
    assert connection.vendor == "postgresql"
    # Widen the window between "checked the cap" and "commit" so that, without the member lock, both
    # approvals would check before either commits (verified: removing the lock makes this test fail).
    real_checks = services.run_checks

    def slow_checks(**kwargs):
        result = real_checks(**kwargs)
        time.sleep(0.5)
        return result

    monkeypatch.setattr(services, "run_checks", slow_checks)
    second_approver = make_staff(fund, "approver")
    # Each 30 M fits under the 50 M cap alone; together they would be 60 M.
    first = walk(member, product, to="appraised", amount="30000000")
    second = walk(member, product, to="appraised", amount="30000000")
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def approve(app_id, user):
        try:
            barrier.wait(timeout=10)
            application_approve(application=LoanApplication.objects.get(pk=app_id), approved_by=user)
            outcomes[app_id] = "approved"
        except DomainError as exc:
            outcomes[app_id] = exc.code
        finally:
            connections.close_all()  # each thread had its own connection

    threads = [threading.Thread(target=approve, args=(first, staff.approver)),
               threading.Thread(target=approve, args=(second, second_approver))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert sorted(outcomes.values()) == ["approved", "exposure_cap_exceeded"], outcomes
    statuses = sorted(LoanApplication.objects.filter(pk__in=[first, second]).values_list("status", flat=True))
    assert statuses == ["appraised", "approved"]
