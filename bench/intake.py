"""Intake throughput: the SMS inbound webhook and the web report's final POST against a bare Django view
that inserts one row, side by side, on one database, through a real server process on loopback.

    .venv/bin/python bench/intake.py                      # SQLite in a fresh temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/amparo_bench .venv/bin/python bench/intake.py --reset-database
    .venv/bin/python bench/intake.py --requests 400 --concurrency 8 --workers 2 --threads 4 --ussd

What it does: migrates the database, adds an SMS channel (provider `log`: nothing is sent) with
`amparo channels add`, starts gunicorn (the server `amparo serve` runs) on 127.0.0.1 with a settings
module that only adds the bare view's URL, then sends each endpoint `--warmup` requests and then
`--requests` requests from `--concurrency` client threads, the endpoints taking turns in `--rounds` rounds
(so that other load on the machine weighs on each alike), and prints requests per second (sustained:
requests / the endpoint's own wall time), p50 / p99 latency, the ratio to the bare view and whether the
target is met. Every SMS comes from a different (invented) phone number; the webhook stores the message
and its processing task (decision 0016); every web POST stores a report with its receipt (one Argon2id hash)
and its filing task. Then the server stops and one worker (`amparo worker --batch`) empties the queue the
requests left (the `default` queue, as `amparo serve`'s worker for reports; periodic jobs have their own):
opening the cases, moving the conversations on and sending the replies (provider `log`), and
the figures say how long each kind of task took, so that the work handed on is measured too. Rate limits
are raised for the run through their environment variables.
`--sustained` measures end-to-end capacity instead (issue 19 item 6): `amparo serve` (gunicorn and the
task workers on this machine, as deployed) under an open-loop mixed load of web reports (final POSTs) and
six-message SMS conversations at `--rate` intake requests per second for `--duration` seconds; it prints
the rate reached, the delay from acknowledgement to case (web) and to the reply sent (SMS) at p50/p99, and
the default queue's backlog every 5 s (from `/healthz`'s details):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/amparo_bench .venv/bin/python bench/intake.py --reset-database --sustained --duration 60

Target there: >= 50 requests/s for 10 minutes, every report filed and every SMS answered, p99 < 5 s.
Target of the default mode: each endpoint at >= 50% of the bare view's throughput. `--ussd` adds the USSD first screen (its
max latency shows whether every answer came within the 2 seconds providers allow).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.5  # issue 3: the SMS webhook and the web report at >= 50% of the bare view's throughput
TARGETED = {"SMS inbound webhook", "web report final POST"}
PYTHON = sys.executable

SETTINGS = """
from amparo.settings import *  # noqa: F403
ROOT_URLCONF = "bench_intake_urls"
"""

URLS = """
import uuid

from django.http import HttpResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from amparo.intake.models import RateBucket


@csrf_exempt
def bare(request):
    RateBucket.objects.create(scope="bench", key_hash=uuid.uuid4().hex, tokens=1.0, updated_at=timezone.now())
    return HttpResponse("")


urlpatterns = [path("bench/bare", bare), path("", include("amparo.urls"))]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_ok(url: str, seconds: float) -> bool:
    """Poll `url` until it answers 200; False if it has not within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def amparo(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603  (our own interpreter, fixed arguments)
        [PYTHON, "-m", "amparo", *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"`amparo {' '.join(args)}` failed:\n{result.stderr[-2000:]}")
    return result.stdout


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_load(
    send: Callable[[httpx.Client, int], int], total: int, concurrency: int, offset: int
) -> tuple[list[float], list[int], float]:
    """Send `total` requests from `concurrency` threads; return the latencies, the error statuses and
    the wall time."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    counter = iter(range(offset, offset + total))

    def worker() -> None:
        with httpx.Client(timeout=30) as client:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                start = time.perf_counter()
                status = send(client, i)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if status >= 300:
                        errors.append(status)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - began


def summarise(name: str, latencies: list[float], errors: list[int], wall: float) -> dict:
    return {
        "endpoint": name,
        "requests": len(latencies),
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
        "rate_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }


def web_states(base: str, count: int) -> tuple[httpx.Client, str, list[str]]:
    """Walk the web form's first three steps `count` times (unmeasured); return a client holding the CSRF
    cookie, its token, and `count` signed states that the final step accepts. Each state carries a
    one-time nonce, so every measured final POST needs its own."""
    client = httpx.Client(base_url=base, timeout=30)
    page = client.get("/report/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    steps = [
        ("who", {"who_affected": "me", "immediate_danger": "no"}),
        (
            "what",
            {"forms": "sextortion", "platforms": "whatsapp", "incident_when": "week", "link_or_account": ""},
        ),
        ("where", {"province": "", "district": ""}),
    ]
    states = []
    for _ in range(count):
        # Each report starts from the form's first page, as a browser does: its state carries the form's
        # one-time nonce, which makes a re-sent final page "already received" rather than a second report.
        state = re.search(r'name="state" value="([^"]*)"', client.get("/report/").text).group(1)
        for step, fields in steps:
            data = {"csrfmiddlewaretoken": token, "state": state, "step": step, **fields}
            response = client.post("/report/", data=data)
            if response.status_code != 200:
                sys.exit(
                    f"the web form refused step {step!r} ({response.status_code}); its fields may have changed"
                )
            state = re.search(r'name="state" value="([^"]*)"', response.text).group(1)
        states.append(state)
    return client, token, states


def web_forms(base: str, count: int, threads: int = 8) -> list[tuple[httpx.Cookies, str, str]]:
    """`count` final-step forms ready to send, prepared by `threads` clients at once: for each, the
    cookies and CSRF token of the client that walked it, and its signed state."""
    shares = [count // threads + (t < count % threads) for t in range(threads)]
    forms: list[tuple[httpx.Cookies, str, str]] = []
    lock = threading.Lock()

    def prepare(n: int) -> None:
        if not n:
            return
        client, token, states = web_states(base, n)
        with lock:
            forms.extend((client.cookies, token, state) for state in states)

    workers = [threading.Thread(target=prepare, args=(n,)) for n in shares]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    if len(forms) != count:
        sys.exit("preparing the web forms failed")
    return forms


WORKER_REPORT = """
import json
from django.db.models import Count, F, Sum
from django_tasks_db.models import DBTaskResult
rows = (
    DBTaskResult.objects.filter(status="SUCCESSFUL", queue_name="default")
    .values("task_path")
    .annotate(n=Count("id"), busy=Sum(F("finished_at") - F("started_at")))
)
left = DBTaskResult.objects.filter(queue_name="default").exclude(status="SUCCESSFUL").count()
print(json.dumps({"tasks": [[r["task_path"], r["n"], r["busy"].total_seconds()] for r in rows], "left": left}))
"""


def drain_queue(env: dict[str, str]) -> dict:
    """Run one worker over the tasks the measured requests queued (filing web reports, moving SMS
    conversations on, sending replies) and report each kind's count and mean time: the work the
    endpoints hand on, which a deployment's worker must keep up with."""
    began = time.perf_counter()
    amparo(env, "worker", "--batch", "--queue-name", "default")  # as `amparo serve`'s report worker
    wall = time.perf_counter() - began
    found = json.loads(amparo(env, "shell", "-c", WORKER_REPORT).strip().splitlines()[-1])
    tasks = []
    for path, count, busy in sorted(found["tasks"]):
        name = path.rsplit(".", 1)[-1]
        mean = busy / count if count else 0.0
        tasks.append({"task": name, "count": count, "mean_ms": round(mean * 1000, 1),
                      "rate_per_s": round(1 / mean, 1) if mean else None})  # fmt: skip
    return {"wall_s": round(wall, 1), "tasks": tasks, "not_done": found["left"]}


# --- --sustained: end-to-end capacity with the workers on the same machine ---------------------------------

SMS_CONVERSATION = ["Ola", "2", "1", "1", "Conta @alguem no Facebook", "2"]  # six answers make one report
SUSTAINED_TARGET = {"rate_per_s": 50.0, "p99_s": 5.0}  # issue 19 item 6

SUSTAINED_REPORT = """
import json
from django.db.models import F
from amparo.intake.models import InboundMessage, OutboundMessage, Report, WebSubmission
web = [
    (r.created_at - r.case.received_at).total_seconds()
    for r in Report.objects.filter(channel_kind="web").select_related("case")
]
sms = [
    (o.sent_at - o.in_reply_to.received_at).total_seconds()
    for o in OutboundMessage.objects.filter(in_reply_to__isnull=False, sent_at__isnull=False).select_related("in_reply_to")
]
print(json.dumps({
    "web_filed": len(web), "web_delays": web,
    "sms_reports": Report.objects.filter(channel_kind="sms").count(),
    "sms_in": InboundMessage.objects.count(), "sms_answered": len(sms), "sms_delays": sms,
    "sms_unprocessed": InboundMessage.objects.filter(processed_at__isnull=True).count(),
    "web_unfiled": WebSubmission.objects.count(),
}))
"""


def healthz_queues(base: str, token: str) -> dict:
    try:
        body = httpx.get(base + "/healthz", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return {}
    return body.get("queues", {})


def sustained(args: argparse.Namespace, env: dict[str, str], channel: dict, database: str) -> None:
    """Open-loop load at `--rate` intake requests per second (web report final POSTs and SMS messages,
    half each by default) for `--duration` seconds against `amparo serve` (web server and workers on this
    machine), sampling the backlog from /healthz every 5 s; then wait for the queue to empty and measure,
    from the database, the delay from acknowledgement to case (web) and to the reply sent (SMS)."""
    token = secrets.token_urlsafe(24)
    env = {**env, "AMPARO_MONITORING_TOKEN": token}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web_rate = args.rate * (1 - args.sms_share)
    sms_rate = args.rate * args.sms_share
    web_total = int(web_rate * args.duration)
    conversations = int(sms_rate * args.duration / len(SMS_CONVERSATION))
    serve_argv = [PYTHON, "-m", "amparo", "serve", "--port", str(port), "--workers", str(args.workers),
                  "--threads", str(args.threads), "--no-collectstatic"]  # fmt: skip
    if args.task_workers:
        serve_argv += ["--task-workers", str(args.task_workers)]
    log = open(Path(env["AMPARO_DATA_DIR"]) / "serve.log", "w")  # noqa: SIM115
    server = subprocess.Popen(serve_argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        if not wait_until_ok(base + "/healthz", 60):
            sys.exit(
                "amparo serve did not become healthy within 60 seconds; see serve.log in "
                + env["AMPARO_DATA_DIR"]
            )
        if not args.json:
            print(f"preparing {web_total} web form states (unmeasured) ...", file=sys.stderr)
        forms = web_forms(base, web_total)
        sms_url = (
            f"{base}/channels/{channel['id']}/sms/inbound?"
            + channel["webhooks"]["sms_inbound"].split("?", 1)[1]
        )
        acks: dict[str, list[float]] = {"web": [], "sms": []}
        failures: dict[str, list[int]] = {"web": [], "sms": []}
        lock = threading.Lock()
        began = time.monotonic()

        def record(kind: str, start: float, status: int) -> None:
            with lock:
                acks[kind].append(time.monotonic() - start)
                if status >= 300:
                    failures[kind].append(status)

        def send_web(i: int) -> None:
            time.sleep(max(0.0, began + i / web_rate - time.monotonic()))
            cookies, csrf, state = forms[i]
            data = {"csrfmiddlewaretoken": csrf, "state": state, "step": "send",
                    "narrative": "Someone threatens to share pictures.", "contact": "anonymous",
                    "consent": "on", "website": ""}  # fmt: skip
            start = time.monotonic()
            try:
                with httpx.Client(timeout=30, cookies=cookies) as client:
                    response = client.post(base + "/report/", data=data)
                ok = response.status_code == 200 and 'id="receipt"' in response.text
                record("web", start, 200 if ok else max(response.status_code, 599))
            except httpx.HTTPError:
                record("web", start, 598)

        def converse(j: int) -> None:
            time.sleep(max(0.0, began + j * len(SMS_CONVERSATION) / sms_rate - time.monotonic()))
            phone = f"+25884{j:07d}"
            with httpx.Client(timeout=30) as client:
                for k, text in enumerate(SMS_CONVERSATION):
                    form = {"from": phone, "to": "1458", "text": text,
                            "date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
                            "id": f"ATXid_{j}_{k}_{uuid.uuid4().hex[:8]}", "linkId": ""}  # fmt: skip
                    start = time.monotonic()
                    try:
                        record("sms", start, client.post(sms_url, data=form).status_code)
                    except httpx.HTTPError:
                        record("sms", start, 598)
                    time.sleep(args.sms_gap)

        backlog: list[tuple[int, int, int | None]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(5):
                queues = healthz_queues(base, token)
                default = queues.get("default", {})
                backlog.append((round(time.monotonic() - began), default.get("ready_tasks", -1),
                                default.get("oldest_ready_seconds")))  # fmt: skip
                if not args.json:
                    print(f"  t={backlog[-1][0]:>4}s  ready tasks {backlog[-1][1]:>6}  oldest {backlog[-1][2]} s",
                          file=sys.stderr)  # fmt: skip

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # Submitted in the order they are due, so that web reports and conversations interleave; the pool
        # is large because each conversation holds a thread while its person "types".
        pool = ThreadPoolExecutor(max_workers=max(args.concurrency, 64))
        plan = [(i / web_rate, send_web, i) for i in range(web_total)]
        plan += [(j * len(SMS_CONVERSATION) / sms_rate, converse, j) for j in range(conversations)]
        futures = [pool.submit(fn, arg) for _due, fn, arg in sorted(plan, key=lambda p: p[0])]
        for future in futures:
            future.result()
        load_wall = time.monotonic() - began
        # Drain: wait for the default queue to empty (or give up after `--drain-timeout` seconds).
        drain_began = time.monotonic()
        drained = False
        while not drained and time.monotonic() - drain_began < args.drain_timeout:
            queues = healthz_queues(base, token)
            if (
                queues
                and queues.get("default", {}).get("ready_tasks", 1) == 0
                and queues["default"].get("running_tasks", 1) == 0
            ):
                drained = True
                continue
            time.sleep(1)
        drained_after = time.monotonic() - drain_began
        done.set()
        found = json.loads(amparo(env, "shell", "-c", SUSTAINED_REPORT).strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    sent = len(acks["web"]) + len(acks["sms"])
    web_ok = len(acks["web"]) - len(failures["web"])
    sms_ok = len(acks["sms"]) - len(failures["sms"])

    def pct(values: list[float], q: float) -> float | None:
        return round(percentile(values, q), 2) if values else None

    summary = {
        "database": database.split(":", 1)[0],
        "server": f"amparo serve, gunicorn gthread {args.workers}x{args.threads}, task workers {args.task_workers or 'default (one per core)'}",
        "duration_s": args.duration,
        "offered_rate_per_s": args.rate,
        "reached_rate_per_s": round(sent / load_wall, 1),
        "web": {"sent": len(acks["web"]), "acknowledged": web_ok, "filed": found["web_filed"],
                "ack_p99_s": pct(acks["web"], 0.99), "filing_p50_s": pct(found["web_delays"], 0.5),
                "filing_p99_s": pct(found["web_delays"], 0.99), "unfiled": found["web_unfiled"]},
        "sms": {"sent": len(acks["sms"]), "acknowledged": sms_ok, "answered": found["sms_answered"],
                "reports": found["sms_reports"], "conversations": conversations,
                "ack_p99_s": pct(acks["sms"], 0.99), "answer_p50_s": pct(found["sms_delays"], 0.5),
                "answer_p99_s": pct(found["sms_delays"], 0.99), "unprocessed": found["sms_unprocessed"]},
        "backlog": [{"t_s": t, "ready_tasks": n, "oldest_ready_s": age} for t, n, age in backlog],
        "drained_after_load_s": round(drained_after, 1) if drained else None,
        "target": SUSTAINED_TARGET,
    }  # fmt: skip
    p99s = [v for v in (summary["web"]["filing_p99_s"], summary["sms"]["answer_p99_s"]) if v is not None]
    summary["target_met"] = bool(
        summary["reached_rate_per_s"] >= SUSTAINED_TARGET["rate_per_s"]
        and p99s
        and max(p99s) < SUSTAINED_TARGET["p99_s"]
        and summary["web"]["filed"] == web_ok
        and summary["sms"]["answered"] >= sms_ok
    )
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"database: {summary['database']}   {summary['server']}")
    print(
        f"offered {args.rate}/s for {args.duration} s ({args.sms_share:.0%} SMS messages); reached {summary['reached_rate_per_s']}/s"
    )
    w, s = summary["web"], summary["sms"]
    print(f"{'':<6}{'sent':>7}{'acked':>7}{'done':>7}{'ack p99 s':>11}{'delay p50 s':>13}{'delay p99 s':>13}")
    print(
        f"{'web':<6}{w['sent']:>7}{w['acknowledged']:>7}{w['filed']:>7}{w['ack_p99_s']!s:>11}{w['filing_p50_s']!s:>13}{w['filing_p99_s']!s:>13}  (delay: acknowledgement to case)"
    )
    print(
        f"{'sms':<6}{s['sent']:>7}{s['acknowledged']:>7}{s['answered']:>7}{s['ack_p99_s']!s:>11}{s['answer_p50_s']!s:>13}{s['answer_p99_s']!s:>13}  (delay: acknowledgement to reply sent; {s['reports']} reports from {conversations} conversations)"
    )
    print("backlog of the default queue (t s: ready tasks, oldest s): "
          + ", ".join(f"{b['t_s']}: {b['ready_tasks']}, {b['oldest_ready_s']}" for b in summary["backlog"]))  # fmt: skip
    emptied = (
        f"queue empty {summary['drained_after_load_s']} s after the load ended"
        if drained
        else f"queue NOT empty {args.drain_timeout} s after the load ended (--drain-timeout)"
    )
    print(f"{emptied}; target "
          f"(>= {SUSTAINED_TARGET['rate_per_s']}/s, p99 < {SUSTAINED_TARGET['p99_s']} s, all done): "
          + ("met" if summary["target_met"] else "NOT met"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=300, help="measured requests per endpoint (default 300)"
    )
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests first (default 30)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument(
        "--rounds", type=int, default=4, help="endpoints take turns this many times (default 4)"
    )
    parser.add_argument("--ussd", action="store_true", help="also measure the USSD first screen")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--sustained",
        action="store_true",
        help="end-to-end capacity instead: amparo serve (web and workers) under an open-loop mixed load",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=50.0,
        help="--sustained: intake requests per second offered (default 50)",
    )
    parser.add_argument(
        "--duration", type=int, default=600, help="--sustained: seconds of load (default 600)"
    )
    parser.add_argument(
        "--sms-share",
        type=float,
        default=0.5,
        help="--sustained: share of SMS messages in the load (default 0.5)",
    )
    parser.add_argument(
        "--sms-gap",
        type=float,
        default=1.0,
        help="--sustained: seconds between one phone's messages (default 1)",
    )
    parser.add_argument(
        "--task-workers",
        type=int,
        default=None,
        help="--sustained: amparo serve --task-workers (default: its own)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=int,
        default=300,
        help="--sustained: seconds to wait for the queue to empty (default 300)",
    )
    parser.add_argument(
        "--reset-database",
        action="store_true",
        help="PostgreSQL only: drop every table of DATABASE_URL's database first (it must be a scratch database)",
    )
    args = parser.parse_args()
    if not 1 <= args.rounds <= args.requests:
        parser.error("--rounds must be between 1 and --requests")

    work = Path(tempfile.mkdtemp(prefix="amparo-bench-"))
    (work / "bench_intake_settings.py").write_text(textwrap.dedent(SETTINGS))
    (work / "bench_intake_urls.py").write_text(textwrap.dedent(URLS))
    env = {
        **os.environ,
        "PYTHONPATH": f"{work}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "bench_intake_settings",
        "AMPARO_DATA_DIR": str(work),
        "AMPARO_SECRET_KEY": secrets.token_urlsafe(50),
        "AMPARO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "AMPARO_HTTPS": "0",
        "AMPARO_TASKS_BACKEND": "database",
        "AMPARO_LOG_LEVEL": "WARNING",
        "AMPARO_INTAKE_PHONE_RATE": "1000000",
        "AMPARO_INTAKE_CHANNEL_RATE": "1000000",
        "AMPARO_WEB_REPORTS_PER_CLIENT_HOUR": "1000000",
        "AMPARO_WEB_REPORTS_PER_MINUTE": "1000000",
    }
    database = env.get("DATABASE_URL", f"sqlite:///{work / 'amparo.sqlite3'}")
    if not database.startswith("sqlite") and not args.reset_database:
        sys.exit(
            "The bench needs an empty PostgreSQL database (its keys are made for the run). Pass "
            "--reset-database to drop and recreate every table of the database in DATABASE_URL first."
        )
    if not database.startswith("sqlite"):
        amparo(env, "dbshell", "--", "-c", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    amparo(env, "migrate", "--noinput")
    amparo(env, "collectstatic", "--noinput")
    channel = json.loads(
        amparo(env, "channels", "add", "--kind", "sms", "--provider", "log", "--name", "bench", "--json")
    )
    ussd_channel = json.loads(
        amparo(
            env, "channels", "add", "--kind", "ussd", "--provider", "log", "--name", "bench-ussd", "--json"
        )
    )

    if args.sustained:
        if not 0 <= args.sms_share <= 1 or args.rate <= 0 or args.duration < 1:
            parser.error("--sms-share must be between 0 and 1, --rate and --duration positive")
        sustained(args, env, channel, database)
        return
    port = free_port()
    server = subprocess.Popen(  # noqa: S603  (our own interpreter, fixed arguments)
        [
            PYTHON,
            "-m",
            "gunicorn",
            "amparo.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],  # fmt: skip
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_ok(base + "/report/", 30):
            sys.exit("the server did not start within 30 seconds")

        def bare(client: httpx.Client, i: int) -> int:
            return client.post(base + "/bench/bare").status_code

        # The callback URLs carry the channel's webhook secret in their query string.
        sms_secret = channel["webhooks"]["sms_inbound"].split("?", 1)[1]
        sms_url = f"{base}/channels/{channel['id']}/sms/inbound?{sms_secret}"

        def sms(client: httpx.Client, i: int) -> int:
            form = {
                "from": f"+25884{i:07d}",
                "to": "1458",
                "text": "Ola, quero denunciar uma coisa que aconteceu",
                "date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
                "id": f"ATXid_{uuid.uuid4().hex}",
                "linkId": "",
            }
            return client.post(sms_url, data=form).status_code

        web_client, token, states = web_states(base, args.warmup + args.requests)

        def web(client: httpx.Client, i: int) -> int:
            data = {
                "csrfmiddlewaretoken": token,
                "state": states[i],
                "step": "send",
                "narrative": "Someone threatens to share pictures.",
                "contact": "anonymous",
                "consent": "on",
                "website": "",
            }
            client.cookies = web_client.cookies
            response = client.post(base + "/report/", data=data)
            if response.status_code == 200 and 'id="receipt"' not in response.text:
                return 599  # answered, but without a receipt: not a report
            return response.status_code

        ussd_secret = ussd_channel["webhooks"]["ussd"].split("?", 1)[1]
        ussd_url = f"{base}/channels/{ussd_channel['id']}/ussd?{ussd_secret}"

        def ussd(client: httpx.Client, i: int) -> int:
            form = {"sessionId": f"ATUid_{uuid.uuid4().hex}", "serviceCode": "*458#",
                    "phoneNumber": f"+25882{i:07d}", "networkCode": "64301", "text": ""}  # fmt: skip
            return client.post(ussd_url, data=form).status_code

        plan = [("bare view (1 insert)", bare), ("SMS inbound webhook", sms), ("web report final POST", web)]
        if args.ussd:
            plan.append(("USSD first screen", ussd))
        # Endpoints take turns, `--rounds` times, so that a change in the machine's load during the run
        # (other processes) weighs on each of them alike; each endpoint's rate is its requests over the
        # sum of its own wall times.
        per_round = [
            args.requests // args.rounds + (r < args.requests % args.rounds) for r in range(args.rounds)
        ]
        measured: dict[str, tuple[list[float], list[int], list[float]]] = {n: ([], [], []) for n, _ in plan}
        # Each request gets its own index: a fresh phone number, or the next unused web form state.
        next_index = {name: 0 for name, _ in plan}
        for count, measure in [(args.warmup, False)] + [(n, True) for n in per_round]:
            for name, send in plan:
                latencies, errors, wall = run_load(send, count, args.concurrency, next_index[name])
                next_index[name] += count
                if measure:
                    measured[name][0].extend(latencies)
                    measured[name][1].extend(errors)
                    measured[name][2].append(wall)
        results = [summarise(name, lat, err, sum(walls)) for name, (lat, err, walls) in measured.items()]
        server.terminate()
        server.wait(timeout=30)
        worker = drain_queue(env)
        baseline = results[0]["rate_per_s"]
        for r in results:
            r["vs_bare"] = round(r["rate_per_s"] / baseline, 2) if baseline else None
            # The target is the SMS webhook's and the web report's; the USSD screen has its 2-second limit.
            targeted = r["endpoint"] in TARGETED
            r["target_met"] = bool(r["vs_bare"] and r["vs_bare"] >= TARGET) if targeted else None
        summary = {
            "worker": worker,
            "database": database.split(":", 1)[0],
            "server": f"gunicorn gthread {args.workers}x{args.threads}",
            "concurrency": args.concurrency,
            "rounds": args.rounds,
            "target_vs_bare": TARGET,
            "results": results,
        }
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            print(
                f"database: {summary['database']}   server: {summary['server']}   clients: {args.concurrency}"
            )
            print(
                f"{'endpoint':<26}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'vs bare':>9}{'errors':>8}"
            )
            for r in results:
                print(
                    f"{r['endpoint']:<26}{r['rate_per_s']:>8}{r['p50_ms']:>9}{r['p99_ms']:>9}{r['max_ms']:>9}"
                    f"{r['vs_bare']:>9}{r['errors']:>8}  "
                    + {None: "", True: "met", False: "NOT met"}[r["target_met"]]
                )
            print(
                f"\nthen one worker (`amparo worker --batch --queue-name default`, server stopped) emptied the queue "
                f"the requests left "
                f"in {worker['wall_s']} s:"
            )
            total = sum(t["count"] for t in worker["tasks"])
            print(f"({total} tasks, {round(total / worker['wall_s'], 1) if worker['wall_s'] else 0} per second of wall time "
                  f"including start-up; {worker['not_done']} not done)")  # fmt: skip
            print(f"{'task':<26}{'tasks':>8}{'per s':>9}{'mean ms':>9}")
            for t in worker["tasks"]:
                print(f"{t['task']:<26}{t['count']:>8}{t['rate_per_s']:>9}{t['mean_ms']:>9}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
