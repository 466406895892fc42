"""Benchmark: the national observatory dashboard on synthetic cases (PostgreSQL; 1,000,000 by default).

Creates a throwaway database (``amparo_bench`` by default), migrates it, fills the case tables
with synthetic, benign rows generated inside PostgreSQL (``INSERT ... SELECT generate_series``:
no names, no narratives, encrypted fields left empty), then times what the national dashboard
computes for one month and for one year, by province, through ``amparo.observatory.compute``
(including disclosure control), side by side with hand-written raw SQL GROUP BY references.
The database is dropped at the end unless ``--keep``.

Reproduce the figures of bench/README.md (about 8 minutes at 200,000 cases on 2 cores):

    .venv/bin/python bench/observatory.py --size 200000 --server postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/observatory.py --quick         # 50,000 cases
    .venv/bin/python bench/observatory.py                 # 1,000,000 cases (generation alone ~20 min)

Target: the national dashboard page in under 2 seconds. A page reads the stored, already protected
views (``amparo.observatory.snapshots``) that the background job refreshes; the bench times the
whole page (HTTP GET as a signed-in national coordinator) from snapshots, the figures alone, the
same figures computed live with no snapshot, and the refresh job itself.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (indicator, breakdown) pairs the national dashboard shows for a period.
DASHBOARD: list[tuple[str, tuple[str, ...]]] = [
    ("OCSEA.REPORTS.RECEIVED", ("province",)),
    ("OCSEA.REPORTS.RECEIVED", ("channel",)),
    ("OCSEA.CASES.FORM", ("form",)),
    ("OCSEA.CASES.PLATFORM", ("platform",)),
    ("OCSEA.VICTIMS.CHILD", ("sex", "age_band")),
    ("OCSEA.OFFENDERS.KNOWN", ("known",)),
    ("OCSEA.VICTIMS.TOLD_NO_ONE", ()),
    ("OCSEA.REFERRAL.POLICE_72H", ("province",)),
    ("OCSEA.DAYS.REFERRAL", ("province",)),
    ("OCSEA.DAYS.INVESTIGATION", ("province",)),
    ("OCSEA.DAYS.CHARGE", ("province",)),
    ("OCSEA.DAYS.VERDICT", ("province",)),
    ("OCSEA.FUNNEL", ()),
    ("OCSEA.INTL.RECEIVED", ("province",)),
]

# Raw SQL references for the same questions (%(s)s / %(e)s: the period's bounds).
RAW: dict[str, str] = {
    "OCSEA.REPORTS.RECEIVED/province": """
        SELECT province_id, count(*) FROM cases_case
        WHERE received_at >= %(s)s AND received_at < %(e)s GROUP BY 1""",
    "OCSEA.REPORTS.RECEIVED/channel": """
        SELECT channel, count(*) FROM cases_case
        WHERE received_at >= %(s)s AND received_at < %(e)s GROUP BY 1""",
    "OCSEA.CASES.FORM/form": """
        SELECT f.form, count(*) FROM cases_caseform f JOIN cases_case c ON c.id = f.case_id
        WHERE c.received_at >= %(s)s AND c.received_at < %(e)s GROUP BY 1""",
    "OCSEA.VICTIMS.CHILD/sex,age_band": """
        SELECT p.sex, p.age_band, count(*) FROM cases_person p JOIN cases_case c ON c.id = p.case_id
        WHERE c.received_at >= %(s)s AND c.received_at < %(e)s AND p.role = 'victim' AND p.age_band <> '18+'
        GROUP BY 1, 2""",
    "OCSEA.DAYS.INVESTIGATION/province": """
        SELECT c.province_id, count(*),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.at - c.received_at) / 86400)
        FROM cases_transition t JOIN cases_case c ON c.id = t.case_id
        WHERE t.to_status = 'under_investigation' AND t.at >= %(s)s AND t.at < %(e)s
        GROUP BY 1""",
    "OCSEA.FUNNEL/": """
        SELECT s, count(*) FROM (
          SELECT c.id, max(CASE t.to_status WHEN 'under_investigation' THEN 1 WHEN 'with_prosecutor' THEN 2
                 WHEN 'in_court' THEN 3 WHEN 'closed' THEN CASE WHEN t.outcome = 'convicted' THEN 4 ELSE 0 END
                 ELSE 0 END) AS s
          FROM cases_case c LEFT JOIN cases_transition t ON t.case_id = c.id
          WHERE c.received_at >= %(s)s AND c.received_at < %(e)s GROUP BY c.id) x GROUP BY s""",
}


# Indexes proposed for amparo/cases (not in its migrations yet): the first-event and funnel queries
# look transitions up by case and status, and by status and date.
PROPOSED_INDEXES = [
    "CREATE INDEX IF NOT EXISTS bench_transition_status_at ON cases_transition (to_status, at)",
    "CREATE INDEX IF NOT EXISTS bench_transition_case_status_at ON cases_transition (case_id, to_status, at)",
    "CREATE INDEX IF NOT EXISTS bench_referral_case_created ON cases_referral (case_id, created_at)",
    "ANALYZE",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", type=int, default=1_000_000, help="Number of synthetic cases (default 1,000,000)."
    )
    parser.add_argument("--quick", action="store_true", help="50,000 cases: a quick check.")
    parser.add_argument(
        "--server",
        default=os.environ.get("AMPARO_BENCH_SERVER", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="A PostgreSQL URL with the right to create databases (default: local postgres).",
    )
    parser.add_argument(
        "--db-name", default="amparo_bench", help="The throwaway database (default amparo_bench)."
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="Timed runs; the median is reported (default 3)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards (then --reuse it).")
    parser.add_argument("--reuse", action="store_true", help="Use the existing database as it is.")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON only.")
    parser.add_argument(
        "--proposed-indexes",
        action="store_true",
        help="First create the indexes proposed for the cases app (see PROPOSED_INDEXES) and time with them.",
    )
    args = parser.parse_args()
    if args.quick:
        args.size = 50_000
    return args


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def say(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(text, file=sys.stderr, flush=True)


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("AMPARO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("AMPARO_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    os.environ.setdefault("AMPARO_HTTPS", "0")
    os.environ.setdefault("AMPARO_TASKS_BACKEND", "immediate")
    os.environ.setdefault("AMPARO_DATA_DIR", str(ROOT / "var" / "bench"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "amparo.settings"
    import django

    django.setup()


GENERATE = [
    # Cases: received between 2022-01-01 and 2026-11-01, spread over districts, channels, agencies.
    """
    INSERT INTO cases_case (id, created_at, updated_at, origin, reference, channel, owning_agency_id, status,
        outcome, priority, taxonomy_version, mode, received_at, incident_date_precision, province_id,
        district_id, narrative, risk_flags, is_demo)
    SELECT gen_random_uuid(), now(), now(), 'bench', 'BENCH-' || g, (%(channels)s::text[])[1 + (g * 7) %% 8],
        (%(agencies)s::bigint[])[1 + (g * 13) %% cardinality(%(agencies)s::bigint[])], 'received', '', 'normal', '2026.1', 'unknown',
        timestamptz '2022-01-01 00:00+02' + (random() * (timestamptz '2026-11-01' - timestamptz '2022-01-01')),
        'approximate', left(d, 4), d, '', '[]'::jsonb, false
    FROM (SELECT g, (%(districts)s::text[])[1 + floor(random() * cardinality(%(districts)s::text[]))::int] AS d
          FROM generate_series(1, %(size)s) g) s
    """,
    """
    CREATE TEMP TABLE bench_stage AS
    SELECT id, received_at, owning_agency_id,
        CASE WHEN r < 0.40 THEN 0 WHEN r < 0.70 THEN 1 WHEN r < 0.85 THEN 2 WHEN r < 0.93 THEN 3 ELSE 4 END AS stage,
        1 + floor(random() * 20)::int AS gap
    FROM (SELECT id, received_at, owning_agency_id, random() AS r FROM cases_case) x
    """,
    # Transitions along the workflow, `gap` days apart.
    """
    INSERT INTO cases_transition (id, created_at, updated_at, origin, case_id, from_status, to_status, outcome,
        reason, at)
    SELECT gen_random_uuid(), now(), now(), 'bench', s.id, st.from_status, st.to_status,
        CASE WHEN st.to_status = 'closed' THEN CASE WHEN s.stage = 4 THEN 'convicted' ELSE 'acquitted' END ELSE '' END,
        '', s.received_at + make_interval(days => st.step * s.gap)
    FROM bench_stage s
    JOIN (VALUES (1, 'received', 'triaged', 0), (2, 'triaged', 'assigned', 1),
                 (3, 'assigned', 'under_investigation', 1), (4, 'under_investigation', 'with_prosecutor', 2),
                 (5, 'with_prosecutor', 'in_court', 3), (6, 'in_court', 'closed', 3))
         AS st(step, from_status, to_status, min_stage)
      ON s.stage >= st.min_stage AND (st.step < 6 OR s.stage = 4 OR (s.stage = 3 AND s.gap %% 2 = 0))
    """,
    # Referrals for 40 percent of cases, within ten days, to police, investigation or welfare.
    """
    INSERT INTO cases_referral (id, created_at, updated_at, origin, case_id, from_agency_id, to_agency_id, status,
        reason, urgency, shared_fields, decision_reason, decided_at)
    SELECT gen_random_uuid(), s.received_at + random() * interval '10 days', now(), 'bench', s.id,
        s.owning_agency_id, t.id, 'accepted', '', 'normal', '[]'::jsonb, '', s.received_at + interval '11 days'
    FROM bench_stage s
    CROSS JOIN LATERAL (SELECT id FROM core_agency WHERE code = (%(targets)s::text[])[1 + (s.gap %% 3)]) t
    WHERE s.gap %% 5 < 2 AND t.id <> s.owning_agency_id
    """,
    # One child victim per case; an offender for 60 percent.
    """
    INSERT INTO cases_person (id, created_at, updated_at, origin, case_id, role, name, phone, address, name_index,
        phone_index, age_band, sex, language, relationship, disclosure)
    SELECT gen_random_uuid(), now(), now(), 'bench', id, 'victim', '', '', '', '', '',
        (ARRAY['0-8','9-11','12-14','15-17','unknown'])[1 + floor(random() * 5)::int],
        (ARRAY['female','female','male','unknown'])[1 + floor(random() * 4)::int], '', '',
        (ARRAY['[]','["no_one"]','["friend"]','["caregiver","teacher"]'])[1 + floor(random() * 4)::int]::jsonb
    FROM bench_stage
    """,
    """
    INSERT INTO cases_person (id, created_at, updated_at, origin, case_id, role, name, phone, address, name_index,
        phone_index, age_band, sex, language, relationship, disclosure)
    SELECT gen_random_uuid(), now(), now(), 'bench', id, 'offender', '', '', '', '', '', 'unknown', 'unknown', '',
        (ARRAY['family','friend_peer','stranger','online_only','unknown'])[1 + floor(random() * 5)::int], '[]'::jsonb
    FROM bench_stage WHERE gap %% 5 < 3
    """,
    """
    INSERT INTO cases_caseform (case_id, form)
    SELECT id, (%(forms)s::text[])[1 + floor(random() * cardinality(%(forms)s::text[]))::int] FROM bench_stage
    """,
    """
    INSERT INTO cases_caseplatform (case_id, platform)
    SELECT id, (%(platforms)s::text[])[1 + floor(random() * cardinality(%(platforms)s::text[]))::int] FROM bench_stage
    """,
    "DROP TABLE bench_stage",
    "ANALYZE",
]


def generate(size: int, args: argparse.Namespace) -> float:
    from django.db import connection

    from amparo.cases.models import Channel
    from amparo.cases.taxonomy import Form, Platform
    from amparo.core.models import Agency, District

    params = {
        "size": size,
        "channels": list(Channel.values),
        "agencies": list(Agency.objects.values_list("id", flat=True)),
        "districts": list(District.objects.values_list("code", flat=True)),
        "targets": ["prm", "sernic", "mgcas"],
        "forms": list(Form.values),
        "platforms": list(Platform.values),
    }
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for step, sql in enumerate(GENERATE, start=1):
            say(args, f"  generating: step {step} of {len(GENERATE)}")
            cursor.execute(sql, params)
    return time.perf_counter() - started


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    runs, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), value


def coordinator_client() -> Any:  # noqa: ANN401
    """A test client signed in (password and TOTP) as a national coordinator of the bench database."""
    from django.test import Client, RequestFactory
    from django_otp import login as otp_login
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from amparo.core import audit
    from amparo.core.actions import create_user
    from amparo.core.models import Agency

    user = create_user(
        audit.Actor.system("bench"),
        username=f"bench-coordinator-{secrets.token_hex(4)}",
        agency=Agency.objects.get(code="mgcas"),
        roles=("national_coordinator",),
        password=secrets.token_urlsafe(16),
    )
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    request = RequestFactory().get("/")
    request.user = user
    request.session = client.session
    otp_login(request, device)
    request.session.save()
    return client


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection

    from amparo.core import audit
    from amparo.observatory import compute as c
    from amparo.observatory import snapshots
    from amparo.observatory.figures import figures as dashboard_figures
    from amparo.observatory.tasks import refresh_plan_now

    month, year = c.Period.parse("2026-10"), c.Period.parse("2026")
    figures: dict[str, Any] = {"periods": {}}

    # 1. Side by side, for the month: each indicator through compute.py (its whole canonical set of
    #    views, protected together) against a hand-written GROUP BY for the one view.
    start, end = month.bounds()
    rows = []
    for code, by in DASHBOARD:
        ours, _ = timed(lambda code=code, by=by: c.compute(code, month, by), 1)
        raw_sql = RAW.get(f"{code}/{','.join(by)}")
        reference = None
        if raw_sql:

            def run_raw(sql: str = raw_sql) -> None:
                with connection.cursor() as cursor:
                    cursor.execute(sql, {"s": start, "e": end})
                    cursor.fetchall()

            reference, _ = timed(run_raw, args.repeat)
        rows.append(
            {
                "indicator": code,
                "by": list(by),
                "compute_ms": ours * 1000,
                "raw_sql_ms": None if reference is None else reference * 1000,
            }
        )
    figures["month_indicators"] = rows

    # 2. The whole dashboard computed live (what a page would cost with no snapshot): once.
    for period in (month, year):
        say(args, f"  live dashboard {period} ...")
        live, _ = timed(
            lambda period=period: dashboard_figures(period, None, snapshots.Reader(use_snapshots=False)), 1
        )
        figures["periods"][period.key()] = {"live_dashboard_ms": live * 1000}

    # 3. The background job's work for both pages, then the pages as served from the snapshots.
    say(args, "  refreshing the snapshots ...")
    started = time.perf_counter()
    written = refresh_plan_now(
        audit.Actor.system("bench"), [*snapshots.plan_for(month), *snapshots.plan_for(year)]
    )
    figures["snapshot_refresh_s"] = time.perf_counter() - started
    figures["snapshot_views_written"] = written
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = coordinator_client()
    for period in (month, year):
        readers: list[Any] = []

        def served(period: c.Period = period, readers: list[Any] = readers) -> None:
            reader = snapshots.Reader(None)
            readers.append(reader)
            dashboard_figures(period, None, reader)

        data_s, _ = timed(served, args.repeat)

        def page(period: c.Period = period) -> int:
            response = client.get(f"/observatory/?period={period.key()}", HTTP_ACCEPT_LANGUAGE="pt")
            return response.status_code

        page_s, status = timed(page, args.repeat)
        figures["periods"][period.key()].update(
            {
                "figures_from_snapshots_ms": data_s * 1000,
                "all_from_snapshots": not any(r.live for r in readers),
                "page_ms": page_s * 1000,
                "page_status": status,
            }
        )
    return figures


def main() -> int:
    args = parse_args()
    url = with_database(args.server, args.db_name)
    if not args.reuse:
        say(args, f"Creating database {args.db_name} ...")
        admin(args.server, f'DROP DATABASE IF EXISTS "{args.db_name}"')
        admin(args.server, f'CREATE DATABASE "{args.db_name}"')
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    try:
        generated = None
        if not args.reuse:
            say(args, "Migrating ...")
            call_command("migrate", verbosity=0)
            say(args, f"Generating {args.size:,} synthetic cases ...")
            generated = generate(args.size, args)
        with connection.cursor() as cursor:
            counts = {}
            for table in (
                "cases_case",
                "cases_transition",
                "cases_referral",
                "cases_person",
                "cases_caseform",
            ):
                cursor.execute(f"SELECT count(*) FROM {table}")
                counts[table] = cursor.fetchone()[0]
        if args.proposed_indexes:
            say(args, "Creating the proposed indexes ...")
            with connection.cursor() as cursor:
                for sql in PROPOSED_INDEXES:
                    cursor.execute(sql)
        say(args, "Timing the dashboard ...")
        figures = measure(args)
        figures.update(
            {
                "cases": counts["cases_case"],
                "rows": counts,
                "generate_s": generated,
                "repeat": args.repeat,
                "proposed_indexes": args.proposed_indexes,
            }
        )
    finally:
        connection.close()
        if not args.keep:
            admin(args.server, f'DROP DATABASE IF EXISTS "{args.db_name}"')
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"Synthetic cases: {figures['cases']:,}  rows: "
        + ", ".join(f"{k} {v:,}" for k, v in figures["rows"].items())
    )
    if generated is not None:
        print(f"Generated in {generated:.1f} s")
    print("\nMonth 2026-10, each indicator computed live (its canonical views) against a raw GROUP BY:")
    print(f"  {'indicator':<28} {'by':<16} {'compute.py':>11} {'raw SQL':>9}")
    for row in figures["month_indicators"]:
        raw = "" if row["raw_sql_ms"] is None else f"{row['raw_sql_ms']:.0f} ms"
        print(
            f"  {row['indicator']:<28} {','.join(row['by']) or '-':<16} {row['compute_ms']:>8.0f} ms {raw:>9}"
        )
    print(
        f"\nSnapshot refresh for both pages (the background job): {figures['snapshot_refresh_s']:.1f} s, "
        f"{figures['snapshot_views_written']} views"
    )
    for key, period in figures["periods"].items():
        verdict = "under" if period["page_ms"] < 2000 else "OVER"
        print(
            f"Period {key}: whole page served {period['page_ms']:.0f} ms (HTTP {period['page_status']}, {verdict} "
            f"the 2 s target; figures alone {period['figures_from_snapshots_ms']:.0f} ms, every figure from "
            f"snapshots: {period['all_from_snapshots']}); computed live {period['live_dashboard_ms']:.0f} ms "
            f"(medians of {args.repeat}, live once)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
