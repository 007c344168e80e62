"""Shared fixtures: funds, staff of every role, API clients, and a real Celery worker."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from loanfund import roles
from loanfund.models import Fund
from loanfund.services.fund import capital_receive, fund_create, staff_user_create

_seq = itertools.count(1)

# CI (CI=true) explores a fixed, reproducible set of examples so that a landing is judged on the same
# inputs every time; developers' runs stay random and remember failures in .hypothesis/.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))


@pytest.fixture
def make_fund(db):
    def make(code: str | None = None, capital: Decimal | int = Decimal(0), **overrides) -> Fund:
        code = code or f"fund{next(_seq)}"
        fund = fund_create(code=code, name=f"Quỹ {code}", **overrides)
        if capital:
            director = staff_user_create(fund=fund, username=f"{code}-capital", password="x" * 12, role_names=[roles.DIRECTOR])
            capital_receive(fund=fund, amount=Decimal(capital), source="union_allocation", received_on=date(2024, 1, 1), received_by=director)
        return fund

    return make


@pytest.fixture
def fund(make_fund):
    return make_fund("alpha", capital=Decimal(10_000_000_000))


@pytest.fixture
def other_fund(make_fund):
    return make_fund("beta", capital=Decimal(1_000_000_000))


@pytest.fixture
def make_staff(db):
    def make(fund: Fund, *role_names: str, username: str | None = None):
        username = username or f"{'-'.join(role_names)}-{fund.code}-{next(_seq)}"
        return staff_user_create(fund=fund, username=username, password="secret-pass-123", role_names=list(role_names))

    return make


@pytest.fixture
def staff(fund, make_staff):
    """One user per staff role in `fund`: staff.officer, staff.approver, ..."""

    class Staff:
        pass

    s = Staff()
    for role in roles.STAFF_ROLES:
        setattr(s, role, make_staff(fund, role, username=f"{role}-{fund.code}"))
    return s


@pytest.fixture
def api():
    """api(user) -> an APIClient authenticated as that user (None: anonymous)."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def celery_worker(django_db_setup, django_db_blocker, settings):
    """A real Celery worker process on the test database and the test Redis broker.

    Tests using it must be transactional (`@pytest.mark.django_db(transaction=True)`) so the
    worker sees committed rows. Yields a handle with .restart() and .kill() for crash tests.
    """
    from django.db import connection

    from config.celery_app import app

    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.fail("REDIS_URL is not set: run the suite with `make test`.")
    db_name = connection.settings_dict["NAME"]
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    env = {**os.environ, "DATABASE_URL": f"{base}/{db_name}", "DJANGO_SETTINGS_MODULE": "config.settings.test", "CELERY_EAGER": "0"}

    class Worker:
        proc: subprocess.Popen | None = None

        def start(self):
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "-P", "prefork", "-c", "1",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING", "-n", f"test-{os.getpid()}@%h"],
                env=env,
            )
            deadline = time.time() + 60
            while time.time() < deadline:
                replies = app.control.ping(timeout=0.5)
                if replies:
                    return
                if self.proc.poll() is not None:
                    raise RuntimeError("celery worker exited at start")
            raise RuntimeError("celery worker did not answer ping in 60 s")

        def kill(self):
            """SIGKILL the whole worker (parent and child), like a machine losing power."""
            if self.proc and self.proc.poll() is None:
                subprocess.run(["pkill", "-9", "-P", str(self.proc.pid)], check=False)
                self.proc.kill()
                self.proc.wait(10)

        def stop(self):
            if self.proc and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    self.kill()

        def restart(self):
            self.kill()
            self.start()

    app.conf.task_always_eager = False
    app.conf.broker_url = redis_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    worker = Worker()
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        app.conf.task_always_eager = True
