"""`amparo serve`: the single-machine mode. Runs the web server (gunicorn) and the task workers
(`amparo worker`) side by side, keeps them running, and stops them all cleanly on SIGINT or SIGTERM.

Design: this process only supervises (decision 0032, which replaces 0006). It starts its children, each
in its own process group so that a Ctrl+C reaches them once, through us: gunicorn (`python -m gunicorn`,
threaded workers) and, when the task backend is the database one, `--task-workers` `amparo worker`s for
the `default` queue (filing reports, SMS conversations and replies, notifications; by default one per
core) and one for the `periodic` queue (periodic jobs, some of them long).

- A child that stops on its own is started again after a back-off (1 s, doubling up to a minute; reset
  once it has run for `STABLE_AFTER` seconds) while the others keep serving: a crashed worker no longer
  takes the public form and the SMS webhook offline. `serve` exits only when told to stop (or when the
  web server cannot start at all: a port in use, a bad address).
- Children die with the supervisor: each asks the kernel for SIGTERM when its parent dies
  (PR_SET_PDEATHSIG), so a `kill -9` of `serve` leaves no gunicorn holding the port.
- Started while the database is down, `serve` waits for it (logging once) instead of exiting.

The access log has the method, the route name (never the path, which may carry a channel's id, nor the
query string, which may carry a webhook secret), the status, the duration and the request id: no client
address, referrer or user agent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from amparo.core import health, metrics, schedule, taskqueue

ACCESS_LOG_FORMAT = '%(t)s "%(m)s %({amparo.route}e)s" %(s)s %(M)sms rid=%({x-request-id}o)s'
GRACEFUL_TIMEOUT = 20  # seconds gunicorn gives requests in flight; the worker finishes its task
STOP_TIMEOUT = GRACEFUL_TIMEOUT + 5  # then we kill what is left
READY_TIMEOUT = 30
STATIC_STAMP = "static.stamp"
RESTART_FIRST = 1.0  # seconds before restarting a child that stopped, doubled after each quick failure
RESTART_MAX = 60.0
STABLE_AFTER = 60.0  # a child that ran this long before stopping is restarted after RESTART_FIRST again
PR_SET_PDEATHSIG = 1


def default_task_workers() -> int:
    """Workers for the default queue: one per core this process may use (see decision 0032)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores)


def _die_with_parent(parent: int) -> Callable[[], None]:
    """A pre-exec hook: the child gets SIGTERM when the supervisor dies, however it dies (Linux)."""
    libc_name = ctypes.util.find_library("c")

    def hook() -> None:
        if libc_name and sys.platform.startswith("linux"):
            ctypes.CDLL(libc_name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the supervisor died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


@dataclass
class Child:
    """A supervised process: what to run, the running process, and its restart state."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started: float = 0.0
    quick_failures: int = 0
    restart_at: float | None = None
    restarts: int = field(default=0)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _probe_host(host: str) -> str:
    """Where to check that the server listens (a wildcard address is reached through loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104


def _port(value: str) -> int:
    port = int(value)
    if not 1 <= port <= 65535:
        raise ValueError(port)
    return port


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((_probe_host(host), port), timeout=0.5):
            return True
    except OSError:
        return False


def static_fingerprint() -> str:
    """A digest of the names, sizes and times of every static source file."""
    digest = hashlib.sha256()
    entries = []
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            stat = os.stat(storage.path(path))
            entries.append(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n")
    for entry in sorted(entries):
        digest.update(entry.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Serve Amparo on one machine: the web server (gunicorn) and the task worker, together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to listen on (default: %(default)s)."
        )
        parser.add_argument(
            "--port", type=_port, default=8000, help="Port to listen on (default: %(default)s)."
        )
        parser.add_argument(
            "--workers", type=int, default=2, help="Web server processes (default: %(default)s)."
        )
        parser.add_argument(
            "--threads", type=int, default=4, help="Threads per web process (default: %(default)s)."
        )
        parser.add_argument(
            "--task-workers",
            type=int,
            default=None,
            help="Workers for the default queue (filing reports, SMS); default: one per core.",
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_false",
            dest="collectstatic",
            help="Do not collect static files first.",
        )
        parser.add_argument(
            "--no-worker", action="store_false", dest="worker", help="Do not run the task worker."
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        workers: int,
        threads: int,
        task_workers: int | None,
        collectstatic: bool,
        worker: bool,
        **options: Any,
    ) -> None:
        if workers < 1 or threads < 1:
            raise CommandError("--workers and --threads must be at least 1.")
        task_workers = default_task_workers() if task_workers is None else task_workers
        if task_workers < 1:
            raise CommandError("--task-workers must be at least 1 (or use --no-worker).")
        stop_signal: list[int] = []

        def request_stop(signum: int, frame: Any) -> None:
            stop_signal.append(signum)

        # Handlers first: a signal arriving while we wait for the database or start the children must
        # still stop us.
        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        children: dict[str, Child] = {}
        failed = None
        try:
            if not taskqueue.wait_for_database("amparo serve", stop=lambda: bool(stop_signal)):
                self.stdout.write("Amparo has stopped.")
                return
            self._check_migrations()
            if collectstatic:
                self._collectstatic()
            connections.close_all()  # children open their own; nothing of ours should linger
            if not os.environ.get(
                metrics.MULTIPROC_ENV
            ):  # the web processes add up their request counts there
                os.environ.update(metrics.prepare_multiprocess_dir(Path(settings.DATA_DIR) / "metrics"))
            children["web server"] = Child("web server", self._gunicorn_argv(host, port, workers, threads))
            if worker and health.worker_required():
                # Workers of their own for the tasks that act on new reports and cases, and one for the
                # periodic jobs, so that a long job (an indicator refresh) never holds up a report's case.
                worker_argv = [sys.executable, "-m", "amparo", "worker", "--queue-name"]
                for i in range(1, task_workers + 1):
                    name = "task worker" if task_workers == 1 else f"task worker {i}"
                    children[name] = Child(name, [*worker_argv, "default"])
                children["periodic worker"] = Child(
                    "periodic worker", [*worker_argv, schedule.PERIODIC_QUEUE]
                )
            for child in children.values():
                self._start(child)
            failed = self._wait_until_listening(host, port, children, stop_signal)
            if not failed and not stop_signal:
                pids = ", ".join(f"{name} pid {child.process.pid}" for name, child in children.items())
                self.stdout.write(
                    f"Amparo is running at http://{_url_host(host)}:{port}/ ({pids}). Press Ctrl+C to stop."
                )
                self.stdout.flush()
                self._supervise(children, stop_signal)
        finally:
            self._stop(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failed:
            name, code = failed
            raise CommandError(
                f"The {name} stopped while starting (exit status {code}); everything was stopped. "
                "Its messages above say why (a port in use, a bad setting)."
            )
        self.stdout.write("Amparo has stopped.")

    # --- Before starting -----------------------------------------------------------------------------

    def _check_migrations(self) -> None:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database has unapplied migrations: run `amparo migrate` first.")

    def _collectstatic(self) -> None:
        """Collect static files unless the sources are unchanged since the last collection."""
        stamp = Path(settings.DATA_DIR) / STATIC_STAMP
        fingerprint = static_fingerprint()
        if (
            Path(settings.STATIC_ROOT).is_dir()
            and stamp.is_file()
            and stamp.read_text().strip() == fingerprint
        ):
            return
        call_command("collectstatic", interactive=False, verbosity=0)
        stamp.write_text(fingerprint + "\n")

    def _gunicorn_argv(self, host: str, port: int, workers: int, threads: int) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn", "amparo.wsgi:application",
            "--bind", f"{_url_host(host)}:{port}",
            "--workers", str(workers),
            "--worker-class", "gthread",
            "--threads", str(threads),
            "--graceful-timeout", str(GRACEFUL_TIMEOUT),
            "--timeout", "60",
            "--access-logfile", "-",
            "--access-logformat", ACCESS_LOG_FORMAT,
            "--error-logfile", "-",
            "--no-control-socket",
            "--name", "amparo",
        ]  # fmt: skip

    # --- Children --------------------------------------------------------------------------------------

    def _start(self, child: Child) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "amparo.settings"),
        }
        child.process = subprocess.Popen(  # noqa: S603  (our own interpreter and fixed arguments)
            child.argv, env=env, process_group=0, preexec_fn=_die_with_parent(os.getpid())
        )
        child.started = time.monotonic()
        child.restart_at = None

    @staticmethod
    def _exited(children: dict[str, Child]) -> tuple[str, int] | None:
        for name, child in children.items():
            code = child.process.poll() if child.process else None
            if code is not None:
                return name, code
        return None

    def _wait_until_listening(
        self, host: str, port: int, children: dict[str, Child], stop_signal: list[int]
    ) -> tuple[str, int] | None:
        deadline = time.monotonic() + READY_TIMEOUT
        web = {name: child for name, child in children.items() if name == "web server"}
        while not stop_signal and time.monotonic() < deadline:
            if failed := self._exited(web):  # a worker that stops is restarted like any time later
                return failed
            if _listening(host, port):
                return None
            time.sleep(0.2)
        return None

    def _supervise(self, children: dict[str, Child], stop_signal: list[int]) -> None:
        """Restart any child that stops, after a back-off, until we are told to stop."""
        while not stop_signal:
            now = time.monotonic()
            for child in children.values():
                if child.restart_at is None and (code := child.process.poll()) is not None:
                    ran = now - child.started
                    child.quick_failures = 0 if ran >= STABLE_AFTER else child.quick_failures + 1
                    delay = min(RESTART_FIRST * 2 ** max(child.quick_failures - 1, 0), RESTART_MAX)
                    child.restart_at = now + delay
                    self.stderr.write(
                        f"The {child.name} stopped unexpectedly (exit status {code}); "
                        f"restarting it in {delay:.0f} s. The others keep running."
                    )
                elif child.restart_at is not None and now >= child.restart_at:
                    self._start(child)
                    child.restarts += 1
                    self.stdout.write(f"Restarted the {child.name} (pid {child.process.pid}).")
                    self.stdout.flush()
            time.sleep(0.25)

    def _stop(self, children: dict[str, Child]) -> None:
        running = [c for c in children.values() if c.process is not None and c.process.poll() is None]
        for child in running:
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in running:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"The {child.name} did not stop within {STOP_TIMEOUT} s; killing it.")
                child.process.kill()
                child.process.wait()
