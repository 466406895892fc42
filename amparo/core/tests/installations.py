"""Separate Amparo installations for tests that restore or upgrade one: a data directory and a database
of their own, run as `amparo` subprocesses (the way an operator runs them)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

AMPARO = str(Path(sys.executable).with_name("amparo"))


def run(args: list[str], env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [AMPARO, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def installation_env(data: Path, database_url: str) -> dict[str, str]:
    """The environment of another server: its own data and evidence directories and database, the same
    master key (as if from escrow) and backup key as this test process."""
    data.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="amparo.settings",
        AMPARO_DATA_DIR=str(data),
        AMPARO_EVIDENCE_DIR=str(data / "evidence"),
        DATABASE_URL=database_url,
    )
    return env


@contextmanager
def other_database(tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of the kind the suite runs on (a new PostgreSQL database, dropped
    afterwards, or a new SQLite file)."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / f'other-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    import psycopg

    settings = connection.settings_dict
    name = f"amparo_other_{uuid.uuid4().hex[:10]}"
    params = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "user": settings["USER"],
    }
    if settings["PASSWORD"]:
        params["password"] = settings["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    try:
        yield f"postgres://{settings['USER']}{password}@{params['host']}:{params['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
