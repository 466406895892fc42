"""Two web servers and two task workers, each as if on its own machine (its own data directory), against
one PostgreSQL database: under concurrent load every web report is filed into exactly one case and every
SMS gets exactly one answer. Bounded: a few hundred requests, well under two minutes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from amparo.core.tests.installations import installation_env, other_database, run

WEB_REPORTS = 40
SMS_MESSAGES = 80
DEADLINE = 90  # seconds for the workers to finish after the last request

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL=postgres://…)"
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine_env(base: dict[str, str], data: Path) -> dict[str, str]:
    data.mkdir(parents=True, exist_ok=True)
    (data / "metrics").mkdir()  # as the systemd unit's runtime directory: gunicorn's processes add up there
    return {
        **base,
        "AMPARO_DATA_DIR": str(data),
        "AMPARO_EVIDENCE_DIR": str(data / "evidence"),
        "PROMETHEUS_MULTIPROC_DIR": str(data / "metrics"),
    }


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(  # noqa: S603  (our own interpreter, fixed arguments)
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, process_group=0
        )


def wait_listening(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert process.poll() is None, "a web server stopped while starting"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the web server on port {port} did not start")


def count(database_url: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        return conn.execute(sql).fetchone()[0]


TOKEN = "multi-server-monitoring-token-0123456789"


def scrape_metrics(base: str) -> dict[tuple, float]:
    """Every sample of a server's `/metrics`, keyed by name and sorted labels."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    answer = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert answer.status_code == 200
    found = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def rows(database_url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        return conn.execute(sql).fetchall()


def web_report(base: str) -> int:
    import httpx

    with httpx.Client(base_url=base, timeout=120) as client:
        page = client.get("/report/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        state = ""
        for step, fields in (
            ("who", {"who_affected": "me", "immediate_danger": "no"}),
            (
                "what",
                {
                    "forms": "sextortion",
                    "platforms": "whatsapp",
                    "incident_when": "week",
                    "link_or_account": "",
                },
            ),
            ("where", {"province": "", "district": ""}),
        ):
            answer = client.post(
                "/report/", data={"csrfmiddlewaretoken": token, "state": state, "step": step, **fields}
            )
            assert answer.status_code == 200, (step, answer.status_code)
            state = re.search(r'name="state" value="([^"]*)"', answer.text).group(1)
        final = client.post(
            "/report/",
            data={
                "csrfmiddlewaretoken": token,
                "state": state,
                "step": "send",
                "narrative": "Someone threatens to share pictures.",
                "contact": "anonymous",
                "consent": "on",
                "website": "",
            },
        )
        return final.status_code if 'id="receipt"' in final.text else 599


def sms(base: str, inbound: str, i: int) -> int:
    import httpx

    form = {
        "from": f"+25884{i:07d}",
        "to": "1458",
        "text": "Ola, quero denunciar uma coisa que aconteceu",
        "date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "id": f"ATXid_{uuid.uuid4().hex}",
        "linkId": "",
    }
    return httpx.post(base + inbound, data=form, timeout=120).status_code


def test_two_servers_and_two_workers_file_every_report_once_and_answer_every_sms_once(tmp_path):
    with other_database(tmp_path) as url:
        two_servers_two_workers(tmp_path, url)


def two_servers_two_workers(tmp_path: Path, empty_database: str) -> None:
    import json

    base_env = installation_env(tmp_path / "setup", empty_database)
    base_env.update(
        AMPARO_TASKS_BACKEND="database",
        AMPARO_LOG_LEVEL="WARNING",
        AMPARO_INTAKE_PHONE_RATE="1000000",
        AMPARO_INTAKE_CHANNEL_RATE="1000000",
        AMPARO_WEB_REPORTS_PER_CLIENT_HOUR="1000000",
        AMPARO_WEB_REPORTS_PER_MINUTE="1000000",
        AMPARO_MONITORING_TOKEN=TOKEN,
    )
    assert run(["migrate", "--noinput", "-v0"], base_env).returncode == 0
    added = run(
        ["channels", "add", "--kind", "sms", "--provider", "log", "--name", "multi", "--json"], base_env
    )
    assert added.returncode == 0, added.stderr
    # The callback path with the channel's webhook secret (`?token=…`), as the provider is given it.
    inbound = "/" + json.loads(added.stdout)["webhooks"]["sms_inbound"].split("/", 3)[3]

    processes: list[subprocess.Popen] = []
    bases = []
    try:
        for n in (1, 2):
            env = machine_env(base_env, tmp_path / f"machine{n}")
            port = free_port()
            web = start(
                [sys.executable, "-m", "gunicorn", "amparo.wsgi", "--bind", f"127.0.0.1:{port}",
                 "--workers", "2", "--threads", "2", "--worker-class", "gthread", "--timeout", "120",
                 "--log-level", "warning"],
                env, tmp_path / f"web{n}.log",
            )  # fmt: skip
            worker = start(
                [str(Path(sys.executable).with_name("amparo")), "worker", "--queue-name", "default"],
                env, tmp_path / f"worker{n}.log",
            )  # fmt: skip
            processes += [web, worker]
            wait_listening(port, web)
            bases.append(f"http://127.0.0.1:{port}")

        with ThreadPoolExecutor(max_workers=4) as pool:
            webs = [pool.submit(web_report, bases[i % 2]) for i in range(WEB_REPORTS)]
            texts = [pool.submit(sms, bases[i % 2], inbound, i) for i in range(SMS_MESSAGES)]
            assert [f.result() for f in webs] == [200] * WEB_REPORTS
            assert [f.result() for f in texts] == [200] * SMS_MESSAGES

        # The default queue's tasks (the periodic jobs the workers' clocks queue wait for a periodic worker).
        due = "FROM django_tasks_database_dbtaskresult WHERE queue_name = 'default' AND status IN ('READY', 'RUNNING')"
        end = time.monotonic() + DEADLINE
        while (left := count(empty_database, f"SELECT COUNT(*) {due}")) and time.monotonic() < end:  # noqa: S608
            time.sleep(1)
        assert left == 0, (
            f"{left} tasks still due after {DEADLINE} s: {rows(empty_database, f'SELECT task_path, status {due}')}"
        )  # noqa: S608
        assert all(p.poll() is None for p in processes), "a server or worker stopped under load"
        # /metrics of the first server: its two processes' requests added up; the state is the database's.
        found = scrape_metrics(bases[0])
        web_posts = 4 * len(range(0, WEB_REPORTS, 2))  # three steps and the final one, every other report
        answered = {
            dict(labels)["route"]: n
            for (name, labels), n in found.items()
            if name == "amparo_http_requests_total"
            and ("method", "POST") in labels
            and ("status", "200") in labels
        }
        assert answered["intake:report"] == web_posts
        assert answered["intake:sms_inbound"] == SMS_MESSAGES // 2
        assert found[("amparo_intake_cases_total", (("channel", "web"),))] == WEB_REPORTS
    finally:
        for p in processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)

    assert count(empty_database, "SELECT COUNT(*) FROM intake_websubmission") == 0
    assert count(empty_database, "SELECT COUNT(*) FROM cases_case WHERE channel = 'web'") == WEB_REPORTS
    assert count(empty_database, "SELECT COUNT(*) FROM intake_report") == WEB_REPORTS
    assert count(empty_database, "SELECT COUNT(DISTINCT case_id) FROM intake_report") == WEB_REPORTS
    assert count(empty_database, "SELECT COUNT(*) FROM intake_inboundmessage") == SMS_MESSAGES
    assert count(empty_database, "SELECT COUNT(*) FROM intake_inboundmessage WHERE processed_at IS NULL") == 0
    # One answer per message (in_reply_to is unique), and no other outgoing SMS.
    assert (
        count(empty_database, "SELECT COUNT(*) FROM intake_outboundmessage WHERE in_reply_to_id IS NOT NULL")
        == SMS_MESSAGES
    )
    assert count(empty_database, "SELECT COUNT(*) FROM intake_outboundmessage") == SMS_MESSAGES
    assert (
        count(
            empty_database, "SELECT COUNT(*) FROM django_tasks_database_dbtaskresult WHERE status = 'FAILED'"
        )
        == 0
    )
