"""A national server and two district nodes as real processes on loopback, each with its own database.

Cases are created and edited offline on both nodes and on the server, synchronised in several orders, and
the test proves that nothing is lost, that edits of different fields merge, that edits of the same field
surface as a conflict keeping both values, that every audit chain verifies on every side, and that a revoked
node erases its case data and reports it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from amparo.sync.tests.processes import Installation, national_server, register_node

SETUP_NATIONAL = """
from amparo.core import audit
from amparo.core.actions import create_user
from amparo.core.models import Agency, District
from amparo.cases import actions
SYS = audit.Actor.system("test")
district = District.objects.filter(province_id="MZ07").order_by("pk").first()
prm = Agency.objects.get(code="prm")
create_user(SYS, username="inv-office", agency=prm, roles=["investigator"], password="correct horse battery staple",
            scope_level="district", scope_province=district.province, scope_district=district)
case = actions.create_case(SYS, channel="desk", owning_agency=prm, forms=["grooming"], platforms=["facebook"],
                           district=district, narrative="Relato inicial.")
actions.add_person(SYS, case, role="victim", name="Criança Inventada", age=14, sex="female")
elsewhere = actions.create_case(SYS, channel="desk", owning_agency=prm,
                                district=District.objects.filter(province_id="MZ01").first(), narrative="Outro distrito.")
result = {"district": district.pk, "case": case.reference, "elsewhere": elsewhere.reference}
"""

SNAPSHOT = """
from amparo.cases.models import Case
from amparo.core import audit
rows = {}
for case in Case.objects.order_by("reference"):
    rows[case.reference] = {
        "priority": case.priority, "mode": case.mode, "narrative": case.narrative, "status": case.status,
        "forms": sorted(case.forms.values_list("form", flat=True)),
        "notes": sorted(n.text for n in case.notes.all()),
        "persons": sorted(p.name for p in case.persons.all()),
    }
from amparo.evidence import vault
from amparo.evidence.models import EvidenceItem
files = {str(item.pk): [vault.verify(item), item.size, item.case.reference] for item in EvidenceItem.objects.all()}
result = {"cases": rows, "evidence": files, "audit_problems": [str(p) for p in audit.verify()],
          "chains": audit.chains()}
"""


def add_evidence(reference: str, size: int, seed: int) -> str:
    # A synthetic, benign file (random bytes) recorded offline; several pieces long.
    return f"""
import random
from amparo.cases.models import Case
from amparo.core import audit
from amparo.evidence import actions as evidence
data = random.Random({seed}).randbytes({size})
item = evidence.add_item(audit.Actor.system("test"), Case.objects.get(reference={reference!r}), [data],
                         original_name="captura-de-ecra.png", declared_type="screenshot of a chat")
result = [str(item.pk), item.sha256]
"""


def edit(reference: str, body: str) -> str:
    return f"""
from amparo.cases import actions
from amparo.cases.models import Case
from amparo.cases.permissions import CaseAudit
from amparo.core import audit
from amparo.core.models import User
from django.db import transaction
user = User.objects.filter(username="inv-office").first()
case = Case.objects.get(reference={reference!r})
{body}
result = True
"""


def set_field(name: str, value: str) -> str:
    # An edit of one field of the case, as an action writes it: the change and its audit entry together.
    return f"""
with transaction.atomic():
    case.{name} = {value!r}
    case.save(update_fields=[{name!r}, "updated_at"])
    audit.record(user, CaseAudit.UPDATE, case, [{name!r}])
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    root = tmp_path_factory.mktemp("sync")
    template_db, national = national_server(root)
    facts = national.python(SETUP_NATIONAL)
    credentials = {name: register_node(national, root, name, facts["district"]) for name in ("alpha", "beta")}
    national.serve()
    nodes = {}
    for name in ("alpha", "beta"):
        node = Installation(root, name, role="district", origin=f"node-{name}", template_db=template_db)
        node.amparo("node", "init", "--upstream", national.url, "--credential", str(credentials[name]))
        nodes[name] = node
    try:
        yield {
            "national": national,
            "alpha": nodes["alpha"],
            "beta": nodes["beta"],
            "facts": facts,
            "root": root,
        }
    finally:
        national.stop()


def test_nodes_offline_edits_merge_conflict_and_revocation(world: dict) -> None:  # noqa: PLR0915
    national: Installation = world["national"]
    alpha: Installation = world["alpha"]
    beta: Installation = world["beta"]
    ref = world["facts"]["case"]

    # First contact: each node receives the cases of its district, and only those.
    for node in (alpha, beta):
        node.amparo("sync")
        snap = node.python(SNAPSHOT)
        assert list(snap["cases"]) == [ref]
        assert snap["cases"][ref]["persons"] == ["Criança Inventada"]
        assert snap["cases"][ref]["narrative"] == "Relato inicial."

    # Offline: alpha opens a case, adds a note and raises the priority; beta changes the mode and the account;
    # the national server changes the account too (the same field as beta).
    new_ref = alpha.python(
        """
from amparo.cases import actions
from amparo.core.models import User, Agency
user = User.objects.get(username="inv-office")
case = actions.create_case(user, channel="desk", owning_agency=Agency.objects.get(code="prm"), forms=["sextortion"],
                           district=user.scope_district, narrative="Caso aberto no distrito.")
actions.add_person(user, case, role="victim", name="Outra Criança", age=12, sex="male")
actions.add_note(user, case, "Nota do distrito.")
result = case.reference
"""
    )
    alpha.python(edit(ref, "actions.add_note(user, case, 'Nota alfa.')\n" + set_field("priority", "high")))
    alpha_file = alpha.python(add_evidence(new_ref, 300_000, seed=1))
    beta_file = beta.python(add_evidence(ref, 5_000, seed=2))
    beta.python(edit(ref, set_field("mode", "online") + set_field("narrative", "Relato do distrito beta.")))
    national.python(edit(ref, set_field("narrative", "Relato corrigido no nível nacional.")))

    status = json.loads(alpha.amparo("sync", "status", "--json").stdout)
    assert status["pending"] > 0
    assert status["role"] == "district"
    assert status["files_pending"] == 1

    # Synchronise in one order, then the other, then again: the result must not depend on it.
    alpha.amparo("sync")
    beta.amparo("sync")
    alpha.amparo("sync")
    beta.amparo("sync")

    server = national.python(SNAPSHOT)
    case = server["cases"][ref]
    assert case["priority"] == "high"  # alpha's field
    assert case["mode"] == "online"  # beta's field
    assert case["narrative"] == "Relato corrigido no nível nacional."  # the national value stays in force…
    assert sorted(case["notes"]) == ["Nota alfa."]
    assert server["cases"][new_ref]["notes"] == ["Nota do distrito."]
    assert server["cases"][new_ref]["persons"] == ["Outra Criança"]
    conflicts = national.python(
        """
import json
from amparo.sync.models import Conflict
result = [[c.field, json.loads(c.national_value), json.loads(c.node_value), c.origin]
          for c in Conflict.objects.filter(resolved_at__isnull=True)]
"""
    )
    # …and beta's value is kept beside it, for a person to resolve.
    assert conflicts == [
        ["narrative", "Relato corrigido no nível nacional.", "Relato do distrito beta.", "node-beta"]
    ]
    assert server["audit_problems"] == []
    assert {"national", "node-alpha", "node-beta"} <= set(server["chains"])
    # Evidence files arrived whole, under the node's item id, and verify against the node's SHA-256.
    assert server["evidence"] == {
        alpha_file[0]: [alpha_file[1], 300_000, new_ref],
        beta_file[0]: [beta_file[1], 5_000, ref],
    }

    for node in (alpha, beta):
        snap = node.python(SNAPSHOT)
        assert snap["cases"][ref] == case
        assert snap["cases"][new_ref] == server["cases"][new_ref]
        assert snap["audit_problems"] == []
        assert json.loads(node.amparo("sync", "status", "--json").stdout)["pending"] == 0
    assert json.loads(beta.amparo("sync", "status", "--json").stdout)["conflicts"] == 1

    # Resolving takes beta's value; it reaches both nodes.
    national.python(
        """
from amparo.core import audit
from amparo.sync import actions
from amparo.sync.models import Conflict
actions.resolve_conflict(audit.Actor.system("test"), Conflict.objects.get(), keep="node")
result = True
"""
    )
    for node in (alpha, beta):
        node.amparo("sync")
        assert node.python(SNAPSHOT)["cases"][ref]["narrative"] == "Relato do distrito beta."

    # A revoked node erases its case data on its next contact and says so.
    national.amparo("node", "revoke", "beta")
    out = beta.amparo("sync").stdout
    assert "erased" in out
    snap = beta.python(SNAPSHOT)
    assert snap["cases"] == {}
    assert snap["evidence"] == {}
    assert snap["audit_problems"] == []
    nodes = json.loads(national.amparo("node", "list", "--json").stdout)
    assert [n["wiped"] is not None for n in nodes if n["name"] == "beta"] == [True]
    again = beta.amparo("sync", check=False)
    assert again.returncode != 0
    assert "register the node again" in again.stderr
    # alpha is unaffected.
    assert ref in alpha.python(SNAPSHOT)["cases"]


def test_sync_over_a_link_that_resets_and_truncates_ends_with_the_same_data(world: dict) -> None:
    from amparo.sync.tests.processes import FlakyProxy

    national: Installation = world["national"]
    root: Path = world["root"]
    port = int(national.url.rsplit(":", 1)[1])
    proxy = FlakyProxy(port)
    try:
        national.amparo(
            "node",
            "register",
            "--name",
            "gamma",
            "--district",
            world["facts"]["district"],
            "-o",
            str(root / "gamma.json"),
        )
        gamma = Installation(
            root,
            "gamma",
            role="district",
            origin="node-gamma",
            template_db=world["national"].dir.parent / "template" / "amparo.sqlite3",
        )
        gamma.amparo("node", "init", "--upstream", proxy.url, "--credential", str(root / "gamma.json"))
        gamma.amparo("sync")
        ref = world["facts"]["case"]
        for round_ in range(3):
            gamma.python(
                edit(
                    ref,
                    f"actions.add_note(user, case, 'Nota gamma {round_}.')\n"
                    + set_field("priority", ["low", "normal", "immediate"][round_]),
                )
            )
            national.python(edit(ref, set_field("mode", ["online", "in_person_tech", "unknown"][round_])))
            gamma.amparo("sync")
        gamma_file = gamma.python(add_evidence(ref, 700_000, seed=3))
        gamma.amparo("sync")
        here, there = gamma.python(SNAPSHOT), national.python(SNAPSHOT)
        assert there["evidence"][gamma_file[0]] == [gamma_file[1], 700_000, ref]
        assert here["cases"][ref] == there["cases"][ref]
        assert {f"Nota gamma {i}." for i in range(3)} <= set(there["cases"][ref]["notes"])
        assert there["cases"][ref]["priority"] == "immediate"
        assert there["cases"][ref]["mode"] == "unknown"
        assert here["audit_problems"] == [] == there["audit_problems"]
        assert proxy.broken >= 3  # the link really failed, several times
    finally:
        proxy.close()
