"""With DATABASE_REPLICA_URL, the observatory's heavy reads go to the replica; writes, sign-in state and
every other page read the primary; without it nothing changes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.contrib.sessions.models import Session
from django.test import RequestFactory

from amparo.cases.models import Case
from amparo.core import replica
from amparo.core.models import User
from amparo.core.schedule import periodic_jobs
from amparo.observatory.models import IndicatorSnapshot as Snapshot

ROUTER = replica.ReplicaRouter()


@pytest.fixture
def with_replica(monkeypatch):
    monkeypatch.setattr(replica, "replica_configured", lambda: True)


def test_reads_go_to_the_primary_outside_replica_reads(with_replica):
    assert ROUTER.db_for_read(Case) == "default"


def test_reads_inside_replica_reads_go_to_the_replica_but_not_sign_in_state(with_replica):
    with replica.replica_reads():
        assert ROUTER.db_for_read(Case) == "replica"
        assert ROUTER.db_for_read(Snapshot) == "replica"
        assert ROUTER.db_for_read(User) == "default"
        assert ROUTER.db_for_read(Session) == "default"
        assert ROUTER.db_for_write(Snapshot) == "default"
    assert ROUTER.db_for_read(Case) == "default"


def test_without_a_replica_replica_reads_change_nothing():
    with replica.replica_reads():
        assert ROUTER.db_for_read(Case) == "default"


def test_only_the_primary_is_migrated():
    assert ROUTER.allow_migrate("default", "cases")
    assert not ROUTER.allow_migrate("replica", "cases")


def seen_by_view(path: str, method: str = "get") -> bool:
    seen = []
    middleware = replica.ReplicaReadsMiddleware(lambda request: seen.append(replica._reads_on_replica.get()))
    middleware(getattr(RequestFactory(), method)(path))
    return seen[0]


def test_observatory_pages_read_the_replica_and_others_do_not(with_replica):
    assert seen_by_view("/observatory/") is True
    assert seen_by_view("/observatory/export.csv") is True
    assert seen_by_view("/observatory/refresh", "post") is False  # a write: the primary
    assert seen_by_view("/cases/") is False
    assert seen_by_view("/no-such-page/") is False


def test_observatory_pages_read_the_primary_without_a_replica():
    assert seen_by_view("/observatory/") is False


def test_on_replica_runs_a_job_with_replica_reads(with_replica):
    assert replica.on_replica(lambda: replica._reads_on_replica.get())() is True
    assert replica._reads_on_replica.get() is False


def test_the_snapshot_refresh_job_reads_the_replica():
    from amparo.observatory import tasks

    job = next(j for j in periodic_jobs() if j.name == "observatory.refresh")
    assert job.job.__wrapped__ is tasks.refresh_periodic


def test_a_replica_needs_postgresql():
    env = {
        **os.environ,
        "DATABASE_URL": "sqlite:////tmp/amparo-replica-test.sqlite3",
        "DATABASE_REPLICA_URL": "postgres://ro@127.0.0.1:5432/amparo",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import amparo.settings"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL" in result.stderr
