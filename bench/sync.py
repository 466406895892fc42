"""Bytes and seconds for a district office's typical day of synchronisation (issue 7).

A national server (gunicorn on loopback) and a district node, each a real Amparo installation with its own
SQLite database and keys. The node first receives its district's cases; then, offline, it records a typical
day — by default 20 new cases (each with a child, an alleged offender and a note) and 100 updates (notes,
priority and status changes, people added) — and synchronises once. The figures are what crossed the wire
(compressed request and answer bodies, not counting HTTP headers) and the wall-clock time of `amparo sync`.

    .venv/bin/python bench/sync.py                 # 20 new cases, 100 updates
    .venv/bin/python bench/sync.py --cases 40 --updates 300 --json

Target (issue 7): the typical day in under 500 KB.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amparo.sync.tests.processes import Installation  # noqa: E402

NATIONAL_SETUP = """
from amparo.core import audit
from amparo.core.actions import create_user
from amparo.core.models import Agency, District
from amparo.cases import actions
SYS = audit.Actor.system("bench")
district = District.objects.filter(province_id="MZ07").order_by("pk").first()
prm = Agency.objects.get(code="prm")
create_user(SYS, username="inv-office", agency=prm, roles=["investigator"], password="correct horse battery staple",
            scope_level="district", scope_province=district.province, scope_district=district)
for i in range({existing}):
    case = actions.create_case(SYS, channel="desk", owning_agency=prm, forms=["grooming"], platforms=["whatsapp"],
                               district=district, narrative=f"Caso anterior {{i}}: relato sintético.")
    actions.add_person(SYS, case, role="victim", name=f"Criança Sintética {{i}}", age=13, sex="female")
result = district.pk
"""

DAY = """
import random
from amparo.cases import actions
from amparo.cases.models import Case
from amparo.core.models import Agency, User
rng = random.Random(7)
user = User.objects.get(username="inv-office")
prm = Agency.objects.get(code="prm")
new = []
for i in range({cases}):
    case = actions.create_case(user, channel="desk", owning_agency=prm, forms=["sextortion"], platforms=["facebook"],
                               district=user.scope_district, narrative=f"Relato sintético do dia, caso {{i}}. " * 4)
    actions.add_person(user, case, role="victim", name=f"Criança Nova {{i}}", age=rng.randint(9, 17), sex="male")
    actions.add_person(user, case, role="offender", name=f"Conta suspeita {{i}}", relationship="online_only")
    actions.add_note(user, case, "Primeira nota do atendimento, sintética.")
    new.append(case)
cases = list(Case.objects.all())
for j in range({updates}):
    case = rng.choice(cases)
    kind = j % 4
    if kind == 0:
        actions.add_note(user, case, f"Actualização {{j}}: contacto com a família (sintético).")
    elif kind == 1 and case.status == "received":
        actions.transition_case(user, case, "triaged", reason="Triagem feita no distrito.")
    elif kind == 2:
        actions.add_person(user, case, role="caregiver", name=f"Cuidador {{j}}", relationship="family")
    else:
        actions.add_note(user, case, f"Seguimento {{j}} (sintético).")
result = len(new)
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=20, help="new cases in the day (default 20)")
    parser.add_argument("--updates", type=int, default=100, help="updates in the day (default 100)")
    parser.add_argument(
        "--existing", type=int, default=50, help="cases the district holds already (default 50)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    say = (lambda *a: None) if args.json else print
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        template = Installation(root, "template", role="national", origin="national")
        say("migrating a fresh database …")
        template.amparo("migrate", "--noinput", "-v0", timeout=900)
        national = Installation(root, "national", role="national", origin="national", template_db=template.db)
        district = national.python(NATIONAL_SETUP.format(existing=args.existing))
        national.amparo(
            "node", "register", "--name", "bench", "--district", district, "-o", str(root / "bench.json")
        )
        national.serve()
        try:
            node = Installation(root, "node", role="district", origin="node-bench", template_db=template.db)
            node.amparo("node", "init", "--upstream", national.url, "--credential", str(root / "bench.json"))
            started = time.perf_counter()
            first = json.loads(node.amparo("sync", "--json").stdout)
            first_seconds = time.perf_counter() - started
            say(f"first synchronisation: {args.existing} cases received …")
            node.python(DAY.format(cases=args.cases, updates=args.updates), timeout=900)
            started = time.perf_counter()
            day = json.loads(node.amparo("sync", "--json").stdout)
            day_seconds = time.perf_counter() - started
        finally:
            national.stop()
    result = {
        "new_cases": args.cases,
        "updates": args.updates,
        "existing_cases": args.existing,
        "first_sync": {
            "bytes": first["bytes_sent"] + first["bytes_received"],
            "seconds": round(first_seconds, 2),
        },
        "day": {
            "bytes_sent": day["bytes_sent"],
            "bytes_received": day["bytes_received"],
            "bytes": day["bytes_sent"] + day["bytes_received"],
            "seconds": round(day_seconds, 2),
            "changes": day["pushed_changes"],
            "audit_entries": day["pushed_entries"],
        },
        "target_bytes": 500_000,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    d = result["day"]
    print(
        f"typical day ({args.cases} new cases, {args.updates} updates): {d['bytes']:,} bytes "
        f"({d['bytes_sent']:,} sent, {d['bytes_received']:,} received) in {d['seconds']} s "
        f"[{d['changes']} records, {d['audit_entries']} audit entries]; target < 500,000 bytes: "
        f"{'met' if d['bytes'] < 500_000 else 'NOT met'}"
    )
    print(
        f"first synchronisation ({args.existing} cases): {result['first_sync']['bytes']:,} bytes in {result['first_sync']['seconds']} s"
    )


if __name__ == "__main__":
    main()
