"""Real Amparo installations as separate processes on loopback, each with its own SQLite database and keys.

Used by the synchronisation tests: a national server (served by gunicorn) and district nodes (commands).
Code runs inside an installation through `Installation.python(code)`, which prints JSON back.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

PROJECT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Installation:
    def __init__(
        self, root: Path, name: str, *, role: str, origin: str, template_db: Path | None = None
    ) -> None:
        self.name = name
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db = self.dir / "amparo.sqlite3"
        if template_db is not None:
            shutil.copyfile(template_db, self.db)
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AMPARO_", "DATABASE_URL", "DJANGO_", "PYTEST"))
        }
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "amparo.settings",
                "DATABASE_URL": f"sqlite:///{self.db}",
                "AMPARO_SECRET_KEY": secrets.token_urlsafe(50),
                "AMPARO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
                "AMPARO_ORIGIN": origin,
                "AMPARO_NODE_ROLE": role,
                "AMPARO_HTTPS": "0",
                "AMPARO_TASKS_BACKEND": "immediate",
                "AMPARO_DATA_DIR": str(self.dir / "var"),
                "AMPARO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "AMPARO_LOG_LEVEL": "WARNING",
            }
        )
        self.server: subprocess.Popen[bytes] | None = None
        self.url = ""

    def amparo(
        self, *args: str, check: bool = True, timeout: float = 240
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603  (our own interpreter and command)
            [sys.executable, "-m", "amparo", *args],
            env=self.env,
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"amparo {' '.join(args)} failed on {self.name}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def python(self, code: str, timeout: float = 120) -> Any:
        """Run `code` with Django set up; the value of its last `result = …` is returned (JSON)."""
        script = "import django, json\ndjango.setup()\nresult = None\n" + textwrap.dedent(code)
        script += "\nprint('@@RESULT@@' + json.dumps(result, default=str))\n"
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", script],
            env=self.env,
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"python failed on {self.name}:\n{done.stdout}\n{done.stderr}")
        line = [ln for ln in done.stdout.splitlines() if ln.startswith("@@RESULT@@")][-1]
        return json.loads(line[len("@@RESULT@@") :])

    def serve(self) -> str:
        port = free_port()
        self.server = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "amparo.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
            env=self.env,
            cwd=PROJECT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code < 500:
                    return self.url
            except httpx.HTTPError:
                pass
            if self.server.poll() is not None:
                raise AssertionError(f"the server of {self.name} exited with {self.server.returncode}")
            time.sleep(0.3)
        raise AssertionError(f"the server of {self.name} did not start")

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()


def national_server(root: Path) -> tuple[Path, Installation]:
    """A migrated database kept as a template (nodes start from copies of it), and a national
    installation on another copy (not serving yet)."""
    template = Installation(root, "template", role="national", origin="national")
    template.amparo("migrate", "--noinput", "-v0", timeout=600)
    return template.db, Installation(
        root, "national", role="national", origin="national", template_db=template.db
    )


def register_node(national: Installation, root: Path, name: str, district: str) -> Path:
    """`amparo node register` on the national server; returns the credential file."""
    path = root / f"{name}.json"
    national.amparo("node", "register", "--name", name, "--district", district, "-o", str(path))
    return path


class FlakyProxy:
    """A TCP proxy on loopback that breaks connections in a fixed pattern: some are reset before the request
    reaches the server, some have their answer cut short after the server has acted on the request, and every
    connection is delayed. It stands in for a bad rural link where network namespaces are not available."""

    def __init__(
        self,
        target_port: int,
        pattern: tuple[str, ...] = ("reset", "ok", "truncate", "ok"),
        delay: float = 0.05,
    ) -> None:
        import threading

        self.target_port = target_port
        self.pattern = pattern
        self.delay = delay
        self.count = 0
        self.broken = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        import threading

        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            mode = self.pattern[self.count % len(self.pattern)]
            self.count += 1
            threading.Thread(target=self._handle, args=(conn, mode), daemon=True).start()

    @staticmethod
    def _reset(conn: socket.socket) -> None:
        import struct

        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def _handle(self, conn: socket.socket, mode: str) -> None:
        import select

        time.sleep(self.delay)
        if mode == "reset":
            conn.recv(512)
            self.broken += 1
            self._reset(conn)
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        try:
            while True:
                ready, _w, _x = select.select([conn, upstream], [], [], 30)
                if not ready:
                    return
                for src in ready:
                    data = src.recv(65536)
                    if not data:
                        return
                    if src is conn:
                        upstream.sendall(data)
                    elif mode == "truncate":
                        # Give the client a piece of the answer, then break the connection.
                        conn.sendall(data[: max(1, len(data) // 3)])
                        self.broken += 1
                        self._reset(conn)
                        return
                    else:
                        conn.sendall(data)
        except OSError:
            return
        finally:
            upstream.close()
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
