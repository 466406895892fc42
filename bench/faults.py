"""Fault injection: is every acknowledged report filed exactly once when processes die and the database
stops? (issue 18)

    .venv/bin/python bench/faults.py                 # 90 s of load at 8 requests/s, the faults below
    .venv/bin/python bench/faults.py --duration 60 --rate 5 --json

What it does, all on this machine and on loopback only:

1. starts a PostgreSQL cluster of its own in a temporary directory on a free loopback port (`initdb` and
   `pg_ctl` from /usr/lib/postgresql/*/bin; as root, run as the `postgres` user), never a shared one;
2. migrates it, adds an SMS channel (provider `log`: nothing leaves the machine) and starts `amparo serve`;
3. sends a bounded load (`--rate` requests/s): web reports through the real four-step form (final POSTs)
   and six-message SMS conversations, one in ten SMS delivered twice at once (a provider's duplicate);
   clients retry as the real ones do (a provider re-sends on 5xx or a broken connection with the same
   message id; a reporter re-sends the same form);
4. meanwhile injects, at fixed points of the run: `kill -9` of a task worker, `kill -9` of a gunicorn
   worker, PostgreSQL stopped with `-m immediate` for `--db-outage` seconds then started again, and
   `kill -9` of `amparo serve` itself followed by a new `amparo serve` on the same port;
5. waits for the backlog to drain, then checks in the database that every acknowledged web report (its
   receipt shown, or the "already received" page for a re-sent form) is filed exactly once, every
   acknowledged SMS was processed once and answered, and every completed conversation made one report.

Exit status 0 when nothing acknowledged is missing or doubled, 1 otherwise. The figures depend on the
machine's load; the table in bench/README.md says when the last run was taken.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import glob
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intake import PYTHON, ROOT, SMS_CONVERSATION, amparo, free_port, wait_until_ok, web_forms  # noqa: E402

VERIFY = """
import json, os
from amparo.intake import receipts
from amparo.intake.models import InboundMessage, OutboundMessage, Report, WebSubmission
acked = json.load(open(os.environ["FAULTS_ACKED"]))
digests = [receipts.receipt_hash(r) for r in acked["receipts"]]
counts = [Report.objects.filter(receipt_hash=d).count() for d in digests]
ids = acked["sms_ids"]
stored = {pid: n for pid, n in [(m.provider_message_id, 1) for m in InboundMessage.objects.filter(provider_message_id__in=ids)]}
processed = set(InboundMessage.objects.filter(provider_message_id__in=ids, processed_at__isnull=False).values_list("provider_message_id", flat=True))
answered = set(OutboundMessage.objects.filter(in_reply_to__provider_message_id__in=ids, status__in=["sent", "delivered"]).values_list("in_reply_to__provider_message_id", flat=True))
print(json.dumps({
    "web_reports": Report.objects.filter(channel_kind="web").count(),
    "web_unfiled": WebSubmission.objects.count(),
    "receipt_counts": counts,
    "sms_stored": len(stored), "sms_processed": len(processed), "sms_answered": len(answered),
    "sms_rows": InboundMessage.objects.count(),
    "sms_reports": Report.objects.filter(channel_kind="sms").count(),
    "sms_unprocessed": InboundMessage.objects.filter(processed_at__isnull=True).count(),
    "replies_queued": OutboundMessage.objects.filter(status="queued").count(),
}))
"""


class Cluster:
    """A throwaway PostgreSQL cluster in `root`, on 127.0.0.1:`port`."""

    def __init__(self, root: Path) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            sys.exit(
                "PostgreSQL's server binaries were not found in /usr/lib/postgresql/*/bin (apt-get install postgresql)."
            )
        self.bin = Path(found[-1]).parent
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *argv: str) -> None:
        result = subprocess.run([*self.as_user, *argv], capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            sys.exit(f"{argv[0]} failed: {result.stderr[-1500:]}")

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        self.start()
        self._run(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "amparo"
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c max_connections=200 -c fsync=on"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "pg.log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/amparo"


class Serve:
    """`amparo serve` on a fixed port, its output in a file, its children's pids from that output."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(  # noqa: S603  (our own interpreter, fixed arguments)
                [PYTHON, "-m", "amparo", "serve", "--port", str(self.port), "--no-collectstatic"],
                env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def wait_healthy(self, timeout: float = 90) -> bool:
        return wait_until_ok(f"http://127.0.0.1:{self.port}/healthz", timeout)

    def pid_of(self, name: str) -> int | None:
        found = re.findall(rf"{name} \(?pid (\d+)", self.log.read_text())
        return int(found[-1]) if found else None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()


def children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def main() -> None:  # noqa: C901, PLR0915  (one scenario, read top to bottom)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=90, help="seconds of load (default 90)")
    parser.add_argument("--rate", type=float, default=8.0, help="requests per second offered (default 8)")
    parser.add_argument(
        "--db-outage", type=float, default=5.0, help="seconds PostgreSQL stays down (default 5)"
    )
    parser.add_argument(
        "--drain-timeout", type=int, default=240, help="seconds to wait for the backlog (default 240)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, cluster)")
    parser.add_argument("--json", action="store_true", help="print one JSON object, no progress lines")
    args = parser.parse_args()

    def say(text: str) -> None:
        if not args.json:
            print(text, file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="amparo-faults-"))
    os.chmod(work, 0o755)  # noqa: S103  (the postgres user reads its cluster's parent directory)
    cluster = Cluster(work / "pg")
    say(f"starting a PostgreSQL cluster of our own on 127.0.0.1:{cluster.port} in {work} ...")
    cluster.init()
    data = work / "data"
    token = secrets.token_urlsafe(24)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AMPARO_", "DJANGO_", "DATABASE_URL"))},
        "DJANGO_SETTINGS_MODULE": "amparo.settings",
        "DATABASE_URL": cluster.url,
        "AMPARO_DATA_DIR": str(data),
        "AMPARO_SECRET_KEY": secrets.token_urlsafe(50),
        "AMPARO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "AMPARO_HTTPS": "0",
        "AMPARO_TASKS_BACKEND": "database",
        "AMPARO_LOG_LEVEL": "WARNING",
        "AMPARO_MONITORING_TOKEN": token,
        "AMPARO_INTAKE_PHONE_RATE": "1000000",
        "AMPARO_INTAKE_CHANNEL_RATE": "1000000",
        "AMPARO_WEB_REPORTS_PER_CLIENT_HOUR": "1000000",
        "AMPARO_WEB_REPORTS_PER_MINUTE": "1000000",
    }
    serve: Serve | None = None
    try:
        amparo(env, "migrate", "--noinput")
        amparo(env, "collectstatic", "--noinput")
        channel = json.loads(
            amparo(env, "channels", "add", "--kind", "sms", "--provider", "log", "--name", "faults", "--json")
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = Serve(env, port, work / "serve.log")
        serve.start()
        if not serve.wait_healthy():
            sys.exit(f"amparo serve did not become healthy; see {serve.log}")
        web_total = int(args.rate / 2 * args.duration)
        conversations = int(args.rate / 2 * args.duration / len(SMS_CONVERSATION))
        say(f"preparing {web_total} web form states (unmeasured) ...")
        forms = web_forms(base, web_total)
        sms_url = (
            f"{base}/channels/{channel['id']}/sms/inbound?"
            + channel["webhooks"]["sms_inbound"].split("?", 1)[1]
        )
        lock = threading.Lock()
        receipts: list[str] = []
        received_again: list[int] = []  # states answered "already received" (receipt lost in transit)
        web_given_up: list[int] = []
        sms_acked: set[str] = set()
        complete: list[int] = []
        events: list[tuple[float, str, str]] = []
        began = time.monotonic()
        stop_load = threading.Event()

        def post_with_retries(
            client: httpx.Client, url: str, data: dict, tries: int = 40
        ) -> httpx.Response | None:
            for _ in range(tries):
                try:
                    response = client.post(url, data=data)
                    if response.status_code < 500:
                        return response
                except httpx.HTTPError:
                    pass
                time.sleep(1)  # the server or its database is down: the client tries again, as real ones do
            return None

        def send_web(i: int) -> None:
            time.sleep(max(0.0, began + i / (args.rate / 2) - time.monotonic()))
            cookies, csrf, state = forms[i]
            data = {"csrfmiddlewaretoken": csrf, "state": state, "step": "send",
                    "narrative": "Someone threatens to share pictures.", "contact": "anonymous",
                    "consent": "on", "website": ""}  # fmt: skip
            with httpx.Client(timeout=30, cookies=cookies) as client:
                response = post_with_retries(client, base + "/report/", data)
            with lock:
                if response is None or response.status_code != 200:
                    web_given_up.append(i)
                elif found := re.search(r'id="receipt">([\d ]+)<', response.text):
                    receipts.append(found[1].replace(" ", ""))
                elif 'id="received-again"' in response.text:
                    received_again.append(i)
                else:
                    web_given_up.append(i)

        def converse(j: int) -> None:
            time.sleep(max(0.0, began + j * len(SMS_CONVERSATION) / (args.rate / 2) - time.monotonic()))
            phone = f"+25884{j:07d}"
            done = 0
            with httpx.Client(timeout=30) as client:
                for k, text in enumerate(SMS_CONVERSATION):
                    form = {"from": phone, "to": "1458", "text": text,
                            "date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
                            "id": f"ATXid_{j}_{k}_{uuid.uuid4().hex[:8]}", "linkId": ""}  # fmt: skip
                    if (j * 6 + k) % 10 == 0:  # a duplicate delivery, at the same moment
                        threading.Thread(
                            target=post_with_retries, args=(httpx.Client(timeout=30), sms_url, form, 3)
                        ).start()
                    response = post_with_retries(client, sms_url, form)
                    if response is not None and response.status_code == 200:
                        with lock:
                            sms_acked.add(form["id"])
                        done += 1
                    time.sleep(1)
            if done == len(SMS_CONVERSATION):
                with lock:
                    complete.append(j)

        def note(what: str, result: str) -> None:
            events.append((round(time.monotonic() - began, 1), what, result))
            say(f"  t={events[-1][0]:>5}s  {what}: {result}")

        def wait_for(check, timeout: float) -> float | None:  # noqa: ANN001
            start = time.monotonic()
            while time.monotonic() - start < timeout:
                if check():
                    return round(time.monotonic() - start, 1)
                time.sleep(0.25)
            return None

        def healthy() -> bool:
            try:
                return httpx.get(base + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        def faults() -> None:
            d = args.duration
            time.sleep(max(0.0, began + 0.15 * d - time.monotonic()))
            name = "task worker 1" if "task worker 1 pid" in serve.log.read_text() else "task worker"
            pid = serve.pid_of(name)
            if pid:
                os.kill(pid, signal.SIGKILL)
                back = wait_for(lambda: (serve.pid_of(name) or pid) != pid, 60)
                note(
                    "kill -9 a task worker",
                    f"restarted by serve after {back} s" if back is not None else "NOT restarted",
                )
            time.sleep(max(0.0, began + 0.30 * d - time.monotonic()))
            arbiter = serve.pid_of("web server")
            workers = children_of(arbiter) if arbiter else []
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                note("kill -9 a gunicorn worker", "gunicorn's arbiter replaces it")
            time.sleep(max(0.0, began + 0.45 * d - time.monotonic()))
            cluster.stop("immediate")
            note("PostgreSQL stopped (-m immediate)", f"down for {args.db_outage} s")
            time.sleep(args.db_outage)
            cluster.start()
            back = wait_for(healthy, 120)
            note(
                "PostgreSQL started again",
                f"/healthz ok after {back} s" if back is not None else "/healthz NOT ok",
            )
            time.sleep(max(0.0, began + 0.65 * d - time.monotonic()))
            before = [
                p for p in (serve.pid_of(n) for n in ("web server", "task worker", "periodic worker")) if p
            ]
            serve.process.kill()
            serve.process.wait()
            gone = wait_for(lambda: not any(alive(p) for p in before), 60)
            note(
                "kill -9 amparo serve",
                f"its children gone after {gone} s" if gone is not None else "children LEFT RUNNING",
            )
            serve.start()
            back = wait_for(healthy, 120)
            note(
                "a new amparo serve on the same port",
                f"healthy after {back} s" if back is not None else "NOT healthy",
            )

        say(
            f"load: {args.rate}/s for {args.duration} s ({web_total} web reports, {conversations} SMS conversations) with faults ..."
        )
        injector = threading.Thread(target=faults, daemon=True)
        injector.start()
        pool = ThreadPoolExecutor(max_workers=96)
        plan = [(i / (args.rate / 2), send_web, i) for i in range(web_total)]
        plan += [(j * len(SMS_CONVERSATION) / (args.rate / 2), converse, j) for j in range(conversations)]
        for future in [pool.submit(fn, arg) for _due, fn, arg in sorted(plan, key=lambda p: p[0])]:
            future.result()
        injector.join(timeout=300)
        stop_load.set()
        load_wall = round(time.monotonic() - began, 1)

        acked_file = work / "acked.json"
        acked_file.write_text(json.dumps({"receipts": receipts, "sms_ids": sorted(sms_acked)}))
        verify_env = {**env, "FAULTS_ACKED": str(acked_file)}
        say("load done; waiting for the backlog to drain ...")
        drain_began = time.monotonic()
        found: dict = {}
        while time.monotonic() - drain_began < args.drain_timeout:
            found = json.loads(amparo(verify_env, "shell", "-c", VERIFY).strip().splitlines()[-1])
            if not found["web_unfiled"] and not found["sms_unprocessed"] and not found["replies_queued"]:
                break
            time.sleep(5)
        drained = round(time.monotonic() - drain_began, 1)
    finally:
        if serve is not None:
            serve.stop()
        with contextlib.suppress(SystemExit):  # already stopped
            cluster.stop("fast")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    counts = found.get("receipt_counts", [])
    web_missing = sum(1 for c in counts if c == 0)
    web_doubled = sum(1 for c in counts if c > 1)
    web_acked = len(receipts) + len(received_again)
    result = {
        "duration_s": args.duration,
        "rate_per_s": args.rate,
        "load_wall_s": load_wall,
        "faults": [{"t_s": t, "fault": f, "result": r} for t, f, r in events],
        "web": {"sent": web_total, "receipt_shown": len(receipts), "already_received_page": len(received_again),
                "gave_up": len(web_given_up), "reports_filed": found.get("web_reports"),
                "receipts_filed_once": sum(1 for c in counts if c == 1), "missing": web_missing,
                "doubled": web_doubled, "unfiled": found.get("web_unfiled")},
        "sms": {"acknowledged": len(sms_acked), "stored": found.get("sms_stored"), "rows": found.get("sms_rows"),
                "processed": found.get("sms_processed"), "answered": found.get("sms_answered"),
                "conversations_complete": len(complete), "reports": found.get("sms_reports")},
        "drained_after_s": drained,
    }  # fmt: skip
    ok = (
        web_missing == 0 and web_doubled == 0 and found.get("web_unfiled") == 0
        and found.get("web_reports") == web_acked
        and found.get("sms_stored") == len(sms_acked) == found.get("sms_processed") == found.get("sms_answered")
        and found.get("sms_rows") == len(sms_acked)
        and found.get("sms_reports") == len(complete)
    )  # fmt: skip
    result["ok"] = ok
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{args.rate}/s for {args.duration} s on loopback, PostgreSQL of our own; load took {load_wall} s"
        )
        print("\n| t (s) | fault | what happened |\n|---:|---|---|")
        for e in result["faults"]:
            print(f"| {e['t_s']} | {e['fault']} | {e['result']} |")
        w, s = result["web"], result["sms"]
        print("\n| | acknowledged | filed / processed once | missing | doubled |\n|---|---:|---:|---:|---:|")
        print(
            f"| web reports, receipt shown | {w['receipt_shown']} | {w['receipts_filed_once']} | {w['missing']} | {w['doubled']} |"
        )
        print(
            f'| web reports re-sent, "already received" page | {w["already_received_page"]} | (in the total below) | | |'
        )
        print(f"| web reports in all | {web_acked} | {w['reports_filed']} filed | {w['unfiled']} unfiled | |")
        print(
            f"| SMS messages | {s['acknowledged']} | {s['processed']} processed, {s['answered']} answered | {s['acknowledged'] - (s['processed'] or 0)} | {(s['rows'] or 0) - (s['stored'] or 0)} |"
        )
        print(f"| SMS conversations completed | {s['conversations_complete']} | {s['reports']} reports | | |")
        print(
            f"\nweb reports given up by their client (never acknowledged): {w['gave_up']}; backlog drained {drained} s after the load"
        )
        print(
            "RESULT: every acknowledged report and SMS filed exactly once"
            if ok
            else "RESULT: NOT every acknowledged report and SMS filed exactly once"
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
