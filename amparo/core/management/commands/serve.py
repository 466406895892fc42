"""`amparo serve`: the single-machine mode. Runs the web server (gunicorn) and the task worker
(`amparo worker`) side by side, and stops both cleanly on SIGINT or SIGTERM.

Design: this process only supervises. It starts its children, each in its own process group so that
a Ctrl+C reaches them once, through us: gunicorn (`python -m gunicorn`, threaded workers) and, when
the task backend is the database one, two `amparo worker`s: one for the `default` queue (filing reports,
SMS conversations and replies, notifications) and one for the `periodic` queue (periodic jobs, some of
them long). If a child stops on its own, the others are stopped too and the exit status is 1, so that
systemd (or whatever runs us) restarts them together.

The access log has the method, the route name (never the path, which may carry a channel's id, nor the
query string, which may carry a webhook secret), the status, the duration and the request id: no client
address, referrer or user agent.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from amparo.core import health, metrics, schedule

ACCESS_LOG_FORMAT = '%(t)s "%(m)s %({amparo.route}e)s" %(s)s %(M)sms rid=%({x-request-id}o)s'
GRACEFUL_TIMEOUT = 20  # seconds gunicorn gives requests in flight; the worker finishes its task
STOP_TIMEOUT = GRACEFUL_TIMEOUT + 5  # then we kill what is left
READY_TIMEOUT = 30
STATIC_STAMP = "static.stamp"


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
        collectstatic: bool,
        worker: bool,
        **options: Any,
    ) -> None:
        if workers < 1 or threads < 1:
            raise CommandError("--workers and --threads must be at least 1.")
        self._check_migrations()
        if collectstatic:
            self._collectstatic()
        connections.close_all()  # children open their own; nothing of ours should linger
        if not os.environ.get(metrics.MULTIPROC_ENV):  # the web processes add up their request counts there
            os.environ.update(metrics.prepare_multiprocess_dir(Path(settings.DATA_DIR) / "metrics"))

        stop_signal: list[int] = []

        def request_stop(signum: int, frame: Any) -> None:
            stop_signal.append(signum)

        # Handlers first: a signal arriving while the children start must still stop them.
        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        children: dict[str, subprocess.Popen] = {}
        try:
            children["web server"] = self._start(self._gunicorn_argv(host, port, workers, threads))
            if worker and health.worker_required():
                # Two workers: one for the tasks that act on new reports and cases, one for the periodic
                # jobs, so that a long job (an indicator refresh) never holds up a report's case.
                worker_argv = [sys.executable, "-m", "amparo", "worker", "--queue-name"]
                children["task worker"] = self._start([*worker_argv, "default"])
                children["periodic worker"] = self._start([*worker_argv, schedule.PERIODIC_QUEUE])
            failed = self._wait_until_listening(host, port, children, stop_signal)
            if not failed and not stop_signal:
                pids = ", ".join(f"{name} pid {child.pid}" for name, child in children.items())
                self.stdout.write(
                    f"Amparo is running at http://{_url_host(host)}:{port}/ ({pids}). Press Ctrl+C to stop."
                )
                self.stdout.flush()
                failed = self._supervise(children, stop_signal)
        finally:
            self._stop(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failed:
            name, code = failed
            raise CommandError(
                f"The {name} stopped unexpectedly (exit status {code}); everything was stopped."
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

    def _start(self, argv: list[str]) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "amparo.settings"),
        }
        return subprocess.Popen(argv, env=env, process_group=0)  # noqa: S603  (our own interpreter and fixed arguments)

    @staticmethod
    def _exited(children: dict[str, subprocess.Popen]) -> tuple[str, int] | None:
        for name, child in children.items():
            code = child.poll()
            if code is not None:
                return name, code
        return None

    def _wait_until_listening(
        self, host: str, port: int, children: dict[str, subprocess.Popen], stop_signal: list[int]
    ) -> tuple[str, int] | None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not stop_signal and time.monotonic() < deadline:
            if failed := self._exited(children):
                return failed
            if _listening(host, port):
                return None
            time.sleep(0.2)
        return None

    def _supervise(
        self, children: dict[str, subprocess.Popen], stop_signal: list[int]
    ) -> tuple[str, int] | None:
        while not stop_signal:
            if failed := self._exited(children):
                return failed
            time.sleep(0.25)
        return None

    def _stop(self, children: dict[str, subprocess.Popen]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"The {name} did not stop within {STOP_TIMEOUT} s; killing it.")
                child.kill()
                child.wait()
