"""Operator commands (`rotate_keys`, `worker`, `serve`) and `/healthz`.

`serve` is tested for real: a fresh SQLite database is migrated, `amparo serve` is started on a free
loopback port, `/healthz` is polled until the web server and the worker are both up, and a SIGTERM
must stop every process it started.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django_tasks import task
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from amparo.core import crypto, schedule
from amparo.core.models import WorkerHeartbeat

PROJECT_DIR = Path(__file__).resolve().parents[3]
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}

ran: list[str] = []


@task()
def record_that_it_ran(label: str) -> None:
    ran.append(label)


@pytest.fixture(autouse=True)
def fresh_key_cache() -> Iterator[None]:
    crypto.clear_cache()
    yield
    crypto.clear_cache()


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:  # noqa: ANN001
    """A data directory of the test's own (for the heartbeat), with a static root in it: WhiteNoise
    warns (an error here) when STATIC_ROOT does not exist yet, as before `collectstatic`."""
    settings.DATA_DIR = tmp_path
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()
    return tmp_path


@pytest.fixture
def database_tasks(settings, data_dir) -> None:  # noqa: ANN001
    """The production task backend (a queue in the database), which needs a worker."""
    settings.TASKS = DATABASE_TASKS


# --- amparo worker ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_worker_runs_queued_tasks_then_removes_its_heartbeat(database_tasks, monkeypatch):
    # db_worker recycles connections between tasks; inside the test's transaction that would close
    # PostgreSQL's connection (Django's test client disconnects close_old_connections likewise).
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    monkeypatch.setattr(schedule, "_jobs", {})  # periodic jobs have their own tests (test_schedule.py)
    ran.clear()
    result = record_that_it_ran.enqueue("first")
    before = signal.getsignal(signal.SIGTERM)
    call_command("worker", batch=True, verbosity=0)
    assert ran == ["first"]
    assert DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL"
    assert not WorkerHeartbeat.objects.exists()  # it stopped cleanly: its queue is served no more
    assert signal.getsignal(signal.SIGTERM) is before  # db_worker's handlers do not outlive it


@pytest.mark.django_db
def test_worker_refuses_to_run_when_tasks_run_inline(data_dir):
    with pytest.raises(CommandError, match="no worker is needed"):
        call_command("worker", batch=True)


# --- amparo rotate_keys ---------------------------------------------------------------------------------


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_keys", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_rotate_keys_refuses_a_batch_size_below_one():
    with pytest.raises(CommandError, match="at least 1"):
        rotate("--batch-size", "0")


# --- amparo serve -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(root: int) -> set[int]:
    """Every live process below `root` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


MONITORING_TOKEN = "serve-test-monitoring-token"  # noqa: S105


def get_json(url: str, **headers: str) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {MONITORING_TOKEN}", **headers}  # /healthz details
    request = urllib.request.Request(url, headers=headers)  # noqa: S310  (http://127.0.0.1 only)
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> tuple[dict[str, str], Path]:  # noqa: ANN001
    """A production-like environment, and a SQLite database migrated once for this module."""
    root = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMPARO_", "DJANGO_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="amparo.settings",
        AMPARO_SECRET_KEY=base64.b64encode(os.urandom(40)).decode(),
        AMPARO_MASTER_KEY=base64.b64encode(os.urandom(32)).decode(),
        AMPARO_DATA_DIR=str(root / "data"),
        DATABASE_URL=f"sqlite:///{root / 'amparo.sqlite3'}",
        AMPARO_HTTPS="0",
        AMPARO_TASKS_BACKEND="database",
        AMPARO_MONITORING_TOKEN=MONITORING_TOKEN,
    )
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "amparo", "migrate", "--noinput", "-v0"],
        env=env,
        cwd=PROJECT_DIR,
        check=True,
        timeout=120,
    )
    return env, root / "amparo.sqlite3"


@pytest.fixture
def serve_env(migrated_sqlite, tmp_path) -> dict[str, str]:  # noqa: ANN001
    """Each test gets its own copy of the migrated database and its own data directory."""
    env, database = migrated_sqlite
    shutil.copy(database, tmp_path / "amparo.sqlite3")
    return {
        **env,
        "AMPARO_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'amparo.sqlite3'}",
    }


def start_serve(env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen, int, Path, Path]:
    port = free_port()
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "amparo",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--task-workers",
                "1",
            ],
            env=env,
            cwd=PROJECT_DIR,
            stdout=stdout,
            stderr=stderr,
        )
    return process, port, out, err


def wait_for_health(process: subprocess.Popen, port: int, err: Path) -> dict[str, Any]:
    # Generous: `serve` checks migrations and collects static files before starting its children, and
    # the machine running the tests may be busy.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"amparo serve exited early:\n{err.read_text()}"
        try:
            status, body = get_json(f"http://127.0.0.1:{port}/healthz")
        except OSError:
            status, body = 0, {}
        if status == 200 and body.get("worker", {}).get("ok"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"/healthz never reported a live worker:\n{err.read_text()}")


def task_statuses(env: dict[str, str]) -> list[str]:
    """The statuses of the test's own tasks (the worker also queues the periodic jobs)."""
    database = env["DATABASE_URL"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(database)) as db:
        rows = db.execute(
            "SELECT status FROM django_tasks_database_dbtaskresult WHERE task_path LIKE '%record_that_it_ran'"
        )
        return [row[0] for row in rows]


def periodic_runs(env: dict[str, str]) -> dict[str, int]:
    """How many times each periodic job has finished, from its row in the database."""
    database = env["DATABASE_URL"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(database)) as db:
        return dict(
            db.execute("SELECT name, runs FROM core_periodicjobstate WHERE last_finished_at IS NOT NULL")
        )


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_runs_web_server_and_worker_and_stops_both_on_a_signal(serve_env, tmp_path, stop_signal):
    # A task queued while nothing runs is run once the worker is up.
    enqueue = "from amparo.core.tests.test_commands import record_that_it_ran as t; t.enqueue('queued')"
    subprocess.run(  # noqa: S603  (our own interpreter, fixed code)
        [sys.executable, "-m", "amparo", "shell", "-c", enqueue], env=serve_env, check=True, timeout=60
    )
    assert task_statuses(serve_env) == ["READY"]
    process, port, out, err = start_serve(serve_env, tmp_path)
    started: set[int] = set()
    try:
        body = wait_for_health(process, port, err)
        assert body["status"] == "ok"
        assert body["database"] == {"ok": True, "vendor": "sqlite"}
        assert body["worker"]["required"] is True
        deadline = time.monotonic() + 10
        while task_statuses(serve_env) != ["SUCCESSFUL"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert task_statuses(serve_env) == ["SUCCESSFUL"]
        # The worker also ran the periodic jobs, each once (they are not due again for a minute or more).
        deadline = time.monotonic() + 30
        while "intake.send_due_sms" not in periodic_runs(serve_env) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert periodic_runs(serve_env)["intake.send_due_sms"] == 1
        deadline = time.monotonic() + 90  # the observatory's refresh alone may take half a minute
        while (
            sum(q["ready_tasks"] for q in get_json(f"http://127.0.0.1:{port}/healthz")[1]["queues"].values())
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        assert (
            sum(q["ready_tasks"] for q in get_json(f"http://127.0.0.1:{port}/healthz")[1]["queues"].values())
            == 0
        )
        status, _ = get_json(
            f"http://127.0.0.1:{port}/healthz?token=do-not-log-me", **{"X-Request-ID": "probe-0001-abcd"}
        )
        assert status == 200
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/static/admin/css/base.css", timeout=2
        ) as response:  # noqa: S310
            assert response.status == 200  # collected and served by whitenoise
        started = descendants(process.pid)
        banner = out.read_text()
        match = re.search(r"web server pid (\d+), task worker pid (\d+), periodic worker pid (\d+)", banner)
        assert match, banner  # start_serve asks for one task worker
        assert {int(match[1]), int(match[2]), int(match[3])} <= started
        assert len(started) >= 4  # gunicorn's arbiter, its worker, and the two task workers
        process.send_signal(stop_signal)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in descendants(process.pid) | started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert [pid for pid in started if alive(pid)] == []
    log = out.read_text()
    access = [line for line in log.splitlines() if '"GET ' in line]
    # The route name, never the path (which may carry a channel's id) or the query string.
    assert any('"GET core:healthz" 200' in line and "rid=probe-0001-abcd" in line for line in access), log
    assert "do-not-log-me" not in log + err.read_text()
    assert not any("127.0.0.1" in line or "urllib" in line.casefold() for line in access)
    assert "Amparo has stopped." in log


def pid_of(name: str, out: Path) -> int:
    """The pid `serve` last announced for a child (at start, or when it restarted it)."""
    pids = re.findall(rf"{name} \(?pid (\d+)", out.read_text())
    return int(pids[-1])


def test_serve_restarts_a_dead_worker_and_keeps_serving_meanwhile(serve_env, tmp_path):
    process, port, out, err = start_serve(serve_env, tmp_path)
    started: set[int] = set()
    try:
        wait_for_health(process, port, err)
        started = descendants(process.pid)
        worker_pid = pid_of("task worker", out)
        os.kill(worker_pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while "Restarted the task worker" not in out.read_text() and time.monotonic() < deadline:
            # The public side never stops answering while the worker is down.
            assert get_json(f"http://127.0.0.1:{port}/healthz")[0] in (200, 503)
            time.sleep(0.2)
        assert process.poll() is None  # serve did not give up
        assert "Restarted the task worker" in out.read_text(), err.read_text()
        assert "The task worker stopped unexpectedly (exit status -9); restarting it" in err.read_text()
        new_pid = pid_of("task worker", out)
        assert new_pid != worker_pid
        started |= {new_pid}
        body = wait_for_health(process, port, err)  # both queues served again
        assert body["queues"]["default"]["workers"] >= 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in descendants(process.pid) | started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert [pid for pid in started if alive(pid)] == []


def test_children_exit_when_serve_itself_is_killed(serve_env, tmp_path):
    process, port, out, err = start_serve(serve_env, tmp_path)
    started: set[int] = set()
    try:
        wait_for_health(process, port, err)
        started = descendants(process.pid)
        assert len(started) >= 4
        process.kill()  # SIGKILL: serve cannot stop anything itself
        process.wait()
        deadline = time.monotonic() + STOP_WAIT
        while [pid for pid in started if alive(pid)] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid in started if alive(pid)] == []
        assert not _listening_on(port)  # the port is free for the next `amparo serve`
    finally:
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


STOP_WAIT = 40  # gunicorn and the workers finish what they are doing first


def _listening_on(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@task()
def block_until_released(started: str, release: str) -> str:
    """A task that says it started, then waits (for the test to kill its worker, then release it)."""
    Path(started).write_text("started")
    deadline = time.monotonic() + 120
    while not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return "done"


def run_sql(env: dict[str, str], sql: str, params: tuple = ()) -> list[tuple]:
    database = env["DATABASE_URL"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(database)) as db:
        rows = db.execute(sql, params).fetchall()
        db.commit()
        return rows


def start_worker(env: dict[str, str], tmp_path: Path, name: str) -> subprocess.Popen:
    with (tmp_path / f"{name}.log").open("w") as log:
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "amparo", "worker", "--queue-name", "default"],
            env=env,
            cwd=PROJECT_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def test_a_task_whose_worker_was_killed_is_run_by_the_next_worker(serve_env, tmp_path):
    started, release = tmp_path / "started", tmp_path / "release"
    enqueue = (
        "from amparo.core.tests.test_commands import block_until_released as t; "
        f"t.enqueue({str(started)!r}, {str(release)!r})"
    )
    subprocess.run(  # noqa: S603  (our own interpreter, fixed code)
        [sys.executable, "-m", "amparo", "shell", "-c", enqueue], env=serve_env, check=True, timeout=60
    )
    first = start_worker(serve_env, tmp_path, "first")
    second = None
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            time.sleep(0.1)
        assert started.exists()
        first.kill()  # kill -9 in the middle of the task
        first.wait()
        [(status, worker_ids)] = run_sql(
            serve_env,
            "SELECT status, worker_ids FROM django_tasks_database_dbtaskresult WHERE task_path LIKE '%block_until_released'",
        )
        assert status == "RUNNING"  # stranded: django-tasks-db alone would leave it so for ever
        # Time passes: the dead worker's heartbeat and the task's start fall behind the lease.
        run_sql(serve_env, "UPDATE core_workerheartbeat SET seen_at = datetime('now', '-5 minutes')")
        run_sql(
            serve_env,
            "UPDATE django_tasks_database_dbtaskresult SET started_at = datetime('now', '-5 minutes')",
        )
        release.write_text("go")
        second = start_worker(serve_env, tmp_path, "second")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            [(status, worker_ids)] = run_sql(
                serve_env,
                "SELECT status, worker_ids FROM django_tasks_database_dbtaskresult WHERE task_path LIKE '%block_until_released'",
            )
            if status == "SUCCESSFUL":
                break
            time.sleep(0.2)
        assert status == "SUCCESSFUL", (tmp_path / "second.log").read_text()
        assert len(json.loads(worker_ids)) == 2  # the killed worker's claim, then the second's
        assert "taskqueue.task_taken_back" in (tmp_path / "second.log").read_text()
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=30)
