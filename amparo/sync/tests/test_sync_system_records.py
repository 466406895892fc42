"""Records the system itself wrote travel to district nodes and back.

A national server seeded by `amparo seed_demo` and by real public intake (a USSD session, an SMS
conversation and a web report, each filed by the worker) holds cases opened by a channel, transitions with
no user, records with empty optional links and blank text. District nodes set up with `amparo node init`
(without AMPARO_ORIGIN exported: init records the origin itself) pull those cases, write their own records
as the system and as a channel, and push them back; every side ends with the same data and intact audit
chains.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from amparo.sync.tests.processes import Installation, national_server, register_node

INTAKE = """
import re
from django.test import Client
from amparo.cases.models import Case
from amparo.core.models import District
from amparo.intake import actions
from amparo.intake.models import Channel
from amparo.intake.webhooks import forget_channels, webhook_query

client = Client(HTTP_HOST="localhost")
forget_channels()
ussd = Channel.objects.get(kind="ussd")
sms = Channel.objects.get(kind="sms")
before = set(Case.objects.values_list("pk", flat=True))

# A USSD report, in English: sextortion, call me back, a child I know, first province, first district.
inputs = []
for value in ["", "2", "1", "2", "1", "2", "1", "1"]:
    if value:
        inputs.append(value)
    answer = client.post(f"/channels/{ussd.pk}/ussd{webhook_query(ussd)}", {"sessionId": "ATUid_sync", "serviceCode": "*458#",
                         "phoneNumber": "+258841230001", "networkCode": "64301", "text": "*".join(inputs)})
    assert answer.status_code == 200, answer.status_code
assert answer.content.decode().startswith("END "), answer.content
ussd_case = Case.objects.exclude(pk__in=before).get()
district = ussd_case.district

# An SMS conversation through the seeded channel (its provider only logs what it would send).
for i, text in enumerate(["Ola, preciso de ajuda", "2", "1", "1", "Ameaca de publicar fotos", "2"]):
    answer = client.post(f"/channels/{sms.pk}/sms/inbound{webhook_query(sms)}", {"from": "+258841230002", "to": sms.short_code or "1458",
                         "text": text, "date": "2026-11-20 10:00:0%d.000" % i, "id": f"ATXid_sync_{i}",
                         "linkId": f"link{i}"})
    assert answer.status_code == 200, answer.status_code

# A web report for the same district, filed by the worker (the immediate task backend here).
actions.submit_web_report(owning_agency=ussd_case.owning_agency, forms=["grooming"], platforms=[],
                          who_affected="me", province=None, district=district, narrative="Relato pela web.",
                          callback_phone="", callback_consented=False, immediate_danger=False)
intake = list(Case.objects.exclude(pk__in=before).values_list("channel", flat=True))
# The district with the most seeded cases gets a node of its own.
from django.db.models import Count
busiest = (Case.objects.filter(pk__in=before, district__isnull=False).values("district")
           .annotate(n=Count("pk")).order_by("-n", "district").first()["district"])
# A service referral there: the service (a national directory entry) has to travel with it.
from amparo.cases.actions.services import refer_to_service
from amparo.cases.models import Service
from amparo.core import audit
refer_to_service(audit.Actor.system("test"), Case.objects.filter(district_id=busiest).order_by("reference").first(),
                 service=Service.objects.filter(active=True).order_by("name").first(), reason="Apoio psicossocial.")
result = {"intake_district": district.pk, "channels": sorted(intake), "demo_district": busiest}
"""

SNAPSHOT = """
from amparo.cases.models import Case
from amparo.core import audit
from amparo.sync import registry

def rows(case):
    found = {}
    for spec in registry.SPECS.values():
        if spec.label == "cases.case":
            objs = [case]
        else:
            fk = "from_case" if spec.label == "cases.caserelation" else "case"
            objs = spec.model.objects.filter(**{fk: case})
        for obj in objs:
            found[str(obj.pk)] = {name: registry.dump_field(obj, name, spec) for name in spec.field_names()
                                  if name not in ("created_at",)}
    return found

result = {
    "cases": {str(c.pk): rows(c) for c in Case.objects.filter(district_id__in=DISTRICTS)},
    "audit_problems": [str(p) for p in audit.verify()],
    "chains": audit.chains(),
}
"""

NODE_WRITES = """
from amparo.cases import actions
from amparo.cases.models import Case
from amparo.core import audit
from amparo.core.models import Agency
from amparo.sync.models import NodeState

district = NodeState.objects.get().district
case = Case.objects.filter(district=district).order_by("reference").first()
# The system and a channel write here too: a note with no author, a case opened at the desk by no user.
actions.add_note(audit.Actor.system("test"), case, "Nota escrita pelo sistema no distrito.")
opened = actions.create_case(audit.Actor.system("desk"), channel="desk", owning_agency=case.owning_agency,
                             district=district, narrative="")
actions.transition_case(audit.Actor.system("test"), opened, "triaged", reason="Triagem automática.")
result = [str(case.pk), str(opened.pk)]
"""

NATIONAL_WRITES = """
from amparo.cases import actions
from amparo.cases.models import Case
from amparo.core import audit

# After the node's first pull: the system moves one of the district's cases on (a transition with no user).
case = Case.objects.filter(district_id=DISTRICT, status__in=["received", "closed"]).order_by("reference").first()
transition = actions.transition_case(audit.Actor.system("test"), case, "triaged", reason="Revisto pelo sistema.")
result = str(transition.pk)
"""


def snapshot(installation: Installation, districts: list[str]) -> dict:
    return installation.python(f"DISTRICTS = {districts!r}\n" + SNAPSHOT)


def differences(here: dict, there: dict) -> list[tuple]:
    """Every record field that differs between two snapshots' cases: (record, field, here, there)."""
    found = []
    for case in sorted(set(here) | set(there)):
        mine, theirs = here.get(case, {}), there.get(case, {})
        for pk in sorted(set(mine) | set(theirs)):
            a, b = mine.get(pk, {}), theirs.get(pk, {})
            found += [
                (pk, name, a.get(name), b.get(name))
                for name in sorted(set(a) | set(b))
                if a.get(name) != b.get(name)
            ]
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    root = tmp_path_factory.mktemp("sync-system")
    template_db, national = national_server(root)
    national.env["AMPARO_DEMO"] = "1"
    national.amparo("seed_demo", "--cases", "120", "--json", "--today", "2026-11-30", timeout=600)
    facts = national.python(INTAKE)
    districts = {"intake": facts["intake_district"], "demo": facts["demo_district"]}
    credentials = {name: register_node(national, root, name, d) for name, d in districts.items()}
    national.serve()
    nodes = {}
    for name in districts:
        node = Installation(root, name, role="district", origin="unused", template_db=template_db)
        del node.env["AMPARO_ORIGIN"]  # `node init` records it; nobody exports it by hand
        node.amparo("node", "init", "--upstream", national.url, "--credential", str(credentials[name]))
        nodes[name] = node
    try:
        yield {"national": national, "nodes": nodes, "facts": facts, "districts": districts, "root": root}
    finally:
        national.stop()


def test_intake_opened_cases_of_every_channel(world: dict) -> None:
    assert world["facts"]["channels"] == ["sms", "ussd", "web"]


def test_nodes_pull_and_push_records_the_system_wrote(world: dict) -> None:
    national: Installation = world["national"]
    for name, node in world["nodes"].items():
        district = world["districts"][name]
        out = node.amparo("sync").stdout
        here, there = snapshot(node, [district]), snapshot(national, [district])
        assert here["cases"], f"node {name} received no case"
        assert differences(here["cases"], there["cases"]) == [], out
        assert here["audit_problems"] == []
        assert f"node-{name}" in here["chains"]

        written = node.python(NODE_WRITES)
        moved = national.python(f"DISTRICT = {district!r}\n" + NATIONAL_WRITES)
        node.amparo("sync")
        here, there = snapshot(node, [district]), snapshot(national, [district])
        assert written[1] in there["cases"]
        assert any(moved in records for records in here["cases"].values())
        assert differences(here["cases"], there["cases"]) == []
        assert there["audit_problems"] == []
        assert f"node-{name}" in there["chains"]  # the node's chain, under the origin init recorded
        status = json.loads(node.amparo("sync", "status", "--json").stdout)
        assert status["pending"] == 0


def test_init_records_the_origin_in_the_nodes_own_configuration(world: dict) -> None:
    root: Path = world["root"]
    for name in world["nodes"]:
        assert (root / name / "var" / "origin").read_text(encoding="utf-8").strip() == f"node-{name}"
