import datetime as dt
import json
import random
import re
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from amparo.cases.models import Case, Person, Referral, Transition
from amparo.cases.taxonomy import KNOWN_RELATIONSHIPS
from amparo.cases.workflow import ALLOWED, Status, check_transition
from amparo.core import audit
from amparo.core.models import Agency, AuditEntry, User
from amparo.core.roles import Role
from amparo.demo import generate
from amparo.demo.actions import load_geography
from amparo.demo.generate import DEMO_PASSWORD, ReferralSpec, TransitionSpec

TODAY = dt.date(2026, 6, 30)
START, HORIZON = generate.window(TODAY)

# Where each role belongs (agency codes), and the agency kinds that fit it.
EXPECTED_HOMES = {
    Role.HELPLINE_OPERATOR: {"linha-fala-crianca"},
    Role.INTAKE_OFFICER: {"prm-gafmvv", "demo-gafmvv-nampula"},
    Role.INVESTIGATOR: {"sernic"},
    Role.PROSECUTOR: {"pgr"},
    Role.SOCIAL_WORKER: {"mgcas"},
    Role.COURT_OFFICER: {"tribunal-menores-maputo"},
    Role.AGENCY_SUPERVISOR: {"sernic", "linha-fala-crianca"},
    Role.NATIONAL_COORDINATOR: {"mgcas"},
    Role.ANALYST: {"mgcas"},
    Role.AUDITOR: {"cndh"},
    Role.SYSADMIN: {"intic"},
}
FITTING_KINDS = {
    Role.HELPLINE_OPERATOR: {"helpline"},
    Role.INTAKE_OFFICER: {"police"},
    Role.INVESTIGATOR: {"criminal_investigation"},
    Role.PROSECUTOR: {"prosecution"},
    Role.SOCIAL_WORKER: {"social_welfare"},
    Role.COURT_OFFICER: {"court"},
    Role.AGENCY_SUPERVISOR: {"helpline", "police", "criminal_investigation", "social_welfare"},
    Role.NATIONAL_COORDINATOR: {"social_welfare", "government"},
    Role.ANALYST: {"social_welfare", "government"},
    Role.AUDITOR: {"human_rights"},
    Role.SYSADMIN: {"regulator"},
}


@pytest.fixture
def demo_mode(settings):  # noqa: ANN001, ANN201
    settings.DEMO = True


def seed(*args: str, today: dt.date = TODAY) -> str:
    out = StringIO()
    call_command("seed_demo", *args, f"--today={today.isoformat()}", stdout=out, stderr=StringIO())
    return out.getvalue()


def plan(n: int, seed_value: int, today: dt.date = TODAY) -> list[generate.CaseSpec]:
    return generate.generate_cases(n, seed=seed_value, today=today, geography=load_geography())


def db_contents() -> list[dict[str, Any]]:
    """The demo cases as stored, in the shape of generate.case_content (decrypted through the ORM)."""
    cases = (
        Case.objects.filter(is_demo=True)
        .select_related("owning_agency", "assigned_to")
        .prefetch_related("forms", "platforms", "persons", "transitions", "referrals__to_agency")
    )
    contents = []
    for case in cases:
        spec_like = {
            "received_at": case.received_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "channel": case.channel,
            "owner": case.owning_agency.code,
            "province": case.province_id,
            "district": case.district_id,
            "forms": sorted(case.form_codes),
            "platforms": sorted(case.platform_codes),
            "mode": case.mode,
            "priority": case.priority,
            "risk_flags": list(case.risk_flags),
            "incident_date": case.incident_date.isoformat() if case.incident_date else None,
            "incident_date_precision": case.incident_date_precision,
            "narrative": case.narrative,
            "status": case.status,
            "outcome": case.outcome,
            "assigned_to": case.assigned_to.username if case.assigned_to else None,
            "persons": sorted(
                generate.person_content(
                    generate.PersonSpec(
                        role=p.role,
                        name=p.name,
                        phone=p.phone,
                        age=p.age,
                        birth_year=p.birth_year,
                        sex=p.sex,
                        disability=p.disability,
                        in_school=p.in_school,
                        language=p.language,
                        relationship=p.relationship,
                        known_to_child=p.known_to_child,
                        disclosure=tuple(p.disclosure),
                    )
                )
                for p in case.persons.all()
            ),
            "transitions": [
                [t.to_status, t.outcome, t.at.astimezone(dt.UTC).isoformat(timespec="seconds"), t.reason]
                for t in sorted(case.transitions.all(), key=lambda t: t.at)
            ],
            "referrals": sorted([r.to_agency.code, r.status] for r in case.referrals.all()),
        }
        contents.append(spec_like)
    return contents


@pytest.mark.django_db
def test_seed_is_deterministic_for_a_given_seed(demo_mode):  # noqa: ANN001
    random.seed(1)
    first = plan(150, 7)
    random.seed(99)  # the global generator has no say
    again = plan(150, 7)
    other = plan(150, 8)
    assert [generate.case_content(c) for c in first] == [generate.case_content(c) for c in again]
    assert generate.plan_signature(first) == generate.plan_signature(again)
    assert generate.plan_signature(other) != generate.plan_signature(first)
    assert [c.narrative for c in other] != [c.narrative for c in first]

    # The database holds exactly the plan (references and ids aside).
    report = json.loads(seed("--cases=40", "--seed=7", "--json"))
    expected = plan(40, 7)
    assert report["signature"] == generate.plan_signature(expected)
    stored = db_contents()
    assert sorted(stored, key=lambda c: json.dumps(c, sort_keys=True)) == sorted(
        (generate.case_content(c) for c in expected), key=lambda c: json.dumps(c, sort_keys=True)
    )
    assert generate.signature(stored) == generate.plan_signature(expected)


def test_planned_workflow_moves_are_allowed_and_dated_after_receipt(db):  # noqa: ANN001
    users = {u.username: u for u in generate.DEMO_USERS}
    for case in plan(2000, generate.DEFAULT_SEED):
        assert START <= case.received_at < HORIZON
        status, last = Status.RECEIVED, case.received_at
        for step in case.steps:
            if isinstance(step, TransitionSpec):
                assert step.to_status in ALLOWED[status]
                check_transition(status, step.to_status, step.outcome, step.reason)
                assert last < step.at < HORIZON
                status, last = step.to_status, step.at
            elif isinstance(step, ReferralSpec):
                assert users[step.by].agency == case.owner != step.to_agency
                if step.to_agency == "tribunal-menores-maputo":
                    assert case.province == "MZ06"  # the court's scope
                if step.decision != "pending":
                    assert users[step.decided_by].agency == step.to_agency


@pytest.mark.django_db
def test_seeded_cases_follow_the_research_distributions(demo_mode):  # noqa: ANN001
    seed("--cases=400", "--seed=11")
    cases = Case.objects.filter(is_demo=True)
    assert cases.count() == 400
    victims = Person.objects.filter(case__is_demo=True, role="victim")
    offenders = Person.objects.filter(case__is_demo=True, role="offender")
    assert victims.count() == offenders.count() == 400

    ages = Counter(victims.values_list("age_band", flat=True))
    assert (ages["12-14"] + ages["15-17"]) / 400 > 0.6
    assert ages["9-11"] > ages["0-8"] > 0
    sexes = Counter(victims.values_list("sex", flat=True))
    assert sexes["female"] > sexes["male"] > 0.3 * 400

    known = [(rel, k) for rel, k in offenders.values_list("relationship", "known_to_child")]
    share_known = sum(1 for _, k in known if k) / 400
    assert 0.55 <= share_known <= 0.75
    assert all((rel in KNOWN_RELATIONSHIPS) == bool(k) for rel, k in known)
    assert {rel for rel, k in known if not k} <= {"online_only", "stranger", "unknown"}

    told_no_one = sum(1 for d in victims.values_list("disclosure", flat=True) if d == ["no_one"])
    assert 0.22 <= told_no_one / 400 <= 0.38

    platforms = Counter(p for c in cases.prefetch_related("platforms") for p in c.platform_codes)
    assert {p for p, _ in platforms.most_common(3)} == {"facebook", "messenger", "whatsapp"}
    forms = Counter(f for c in cases.prefetch_related("forms") for f in c.form_codes)
    rare = (
        forms["csam_production"]
        + forms["csam_distribution"]
        + forms["csam_possession"]
        + forms["live_streaming"]
    )
    assert min(forms[f] for f in ("unwanted_exposure", "harassment", "grooming")) > rare / 2

    provinces = Counter(cases.values_list("province_id", flat=True))
    assert {p for p, _ in Counter({k: v for k, v in provinces.items() if k}).most_common(2)} == {
        "MZ07",
        "MZ11",
    }
    assert provinces["MZ06"] < provinces["MZ07"] / 3
    in_capital = cases.filter(district__is_capital=True).count() / cases.exclude(district=None).count()
    assert in_capital > 0.25  # 11 of 156 districts hold well over a quarter of the cases

    # Growth: the later year brings more cases than the earlier one.
    middle = START + (HORIZON - START) / 2
    assert cases.filter(received_at__gte=middle).count() > 1.15 * cases.filter(received_at__lt=middle).count()

    # Channels decide the owning agency.
    owners = set(cases.values_list("channel", "owning_agency__code"))
    assert owners <= {
        ("helpline", "linha-fala-crianca"),
        ("web", "linha-fala-crianca"),
        ("sms", "linha-fala-crianca"),
        ("ussd", "linha-fala-crianca"),
        ("desk", "prm-gafmvv"),
        ("desk", "demo-gafmvv-nampula"),
        ("international", "sernic"),
    }
    assert not cases.filter(owning_agency__code="demo-gafmvv-nampula").exclude(province_id="MZ07").exists()

    # Attrition: fewer cases reach each later stage; transitions are back-dated after receipt.
    reached = Counter(Transition.objects.filter(case__is_demo=True).values_list("to_status", flat=True))
    assert (
        reached["triaged"]
        > reached["under_investigation"]
        > reached["with_prosecutor"]
        > reached["in_court"]
        > 0
    )
    assert Counter(cases.values_list("status", flat=True))["closed"] > 0
    for at, received_at in Transition.objects.filter(case__is_demo=True).values_list(
        "at", "case__received_at"
    ):
        assert received_at < at < HORIZON
    assert Referral.objects.filter(
        case__is_demo=True,
        from_agency__code="linha-fala-crianca",
        to_agency__code="sernic",
        status="accepted",
    ).exists()


@pytest.mark.django_db
def test_every_role_has_a_demo_user_in_a_fitting_agency(demo_mode):  # noqa: ANN001
    seed("--cases=0")
    users = list(User.objects.filter(is_demo=True).select_related("agency"))
    by_role: dict[str, list[User]] = {}
    for user in users:
        assert user.check_password(DEMO_PASSWORD)
        for role in user.roles:
            by_role.setdefault(role, []).append(user)
    assert set(by_role) == set(Role.values)
    for role, holders in by_role.items():
        assert {u.agency.code for u in holders} == EXPECTED_HOMES[role], role
        assert all(u.agency.kind in FITTING_KINDS[role] for u in holders), role

    desk = Agency.objects.get(code="demo-gafmvv-nampula")
    assert desk.is_demo
    assert (desk.scope_level, desk.province_id) == ("province", "MZ07")
    assert not Agency.objects.filter(is_demo=True).exclude(pk=desk.pk).exists()
    nampula = User.objects.get(username="atendimento.nampula")
    assert nampula.effective_scope() == ("province", "MZ07", None)
    assert AuditEntry.objects.filter(action="core:agency:create", object_id=str(desk.pk)).count() == 1
    assert AuditEntry.objects.filter(action="core:user:create", actor_channel="seed_demo").count() == len(
        users
    )


@pytest.mark.django_db
def test_once_creates_nothing_the_second_time(demo_mode):  # noqa: ANN001
    seed("--cases=15", "--once")
    counts = (
        Case.objects.count(),
        User.objects.count(),
        AuditEntry.objects.count(),
        Referral.objects.count(),
    )
    assert counts[0] == 15

    output = seed("--cases=15", "--once")
    assert (
        Case.objects.count(),
        User.objects.count(),
        AuditEntry.objects.count(),
        Referral.objects.count(),
    ) == counts
    assert "nada foi criado" in output  # commands speak Portuguese, the default language
    assert "operador116" in output
    with pytest.raises(CommandError, match="já existem"):
        seed("--cases=15")
    assert Case.objects.count() == counts[0]


@pytest.mark.django_db
def test_logins_are_printed(demo_mode):  # noqa: ANN001
    output = seed("--cases=5")
    assert "Criados 5 casos sintéticos de demonstração" in output
    lines = output.splitlines()
    for spec in generate.DEMO_USERS:
        line = next(line for line in lines if line.startswith(spec.username + " "))
        assert DEMO_PASSWORD in line
        assert Agency.objects.get(code=spec.agency).short_name in line
        assert all(role in line for role in spec.roles)

    report = json.loads(seed("--once", "--json"))  # nothing else on stdout
    assert report["created"] is False
    assert report["password"] == DEMO_PASSWORD
    assert [row["username"] for row in report["logins"]] == [u.username for u in generate.DEMO_USERS]
    row = next(r for r in report["logins"] if r["username"] == "operador116")
    assert row == {
        "username": "operador116",
        "password": DEMO_PASSWORD,
        "agency": "Linha 116",
        "agency_code": "linha-fala-crianca",
        "roles": ["helpline_operator"],
        "scope": "national",
    }


@pytest.mark.django_db
def test_audit_chain_verifies_after_seeding(demo_mode):  # noqa: ANN001
    seed("--cases=40", "--seed=3")
    assert list(audit.verify()) == []
    entries = AuditEntry.objects.all()
    assert entries.filter(action="cases:case:create", actor_channel="seed_demo").count() == 40
    assert entries.filter(action="cases:person:create").count() == Person.objects.count()
    assert entries.filter(action="cases:case:transition").count() == Transition.objects.count()
    # Referrals name the demo user who made or decided them.
    made = Referral.objects.count()
    assert made
    assert entries.filter(action="cases:referral:create").exclude(actor_user_id=None).count() == made


@pytest.mark.django_db
def test_demo_names_and_phones_never_reach_the_database_in_clear(demo_mode):  # noqa: ANN001
    seed("--cases=60", "--seed=5")
    persons = [p for c in plan(60, 5) for p in c.persons]
    names = {p.name for p in persons if p.name}
    phones = {p.phone for p in persons if p.phone}
    assert len(names) > 10
    assert len(phones) > 3
    assert {p.name for p in Person.objects.all() if p.name} == names  # they were stored, encrypted

    with connection.cursor() as cur:
        cur.execute("SELECT name, phone, address, name_index, phone_index FROM cases_person")
        rows = cur.fetchall()
        cur.execute("SELECT narrative FROM cases_case")
        narratives = [row[0] for row in cur.fetchall()]
    for name, phone, address, name_index, phone_index in rows:
        assert all(v == "" or v.startswith("enc1$") for v in (name, phone, address))
        assert all(v == "" or re.fullmatch(r"[0-9a-f]{64}", v) for v in (name_index, phone_index))
    assert all(n.startswith("enc1$") for n in narratives)
    # Full names contain a space and accented letters may too, which neither base64 nor hex can.
    raw = " ".join(str(v) for row in rows for v in row)
    for name in names:
        assert name not in raw
        assert name.casefold() not in raw
    for phone in phones:
        digits = phone.replace("+", "").replace(" ", "")
        assert phone not in raw
        assert digits[3:] not in raw  # the national number, with or without the country code


@pytest.mark.django_db
def test_seed_demo_refuses_outside_demo_mode(settings):  # noqa: ANN001
    settings.DEMO = False
    with pytest.raises(CommandError, match="AMPARO_DEMO"):
        seed("--cases=5")
    assert not User.objects.filter(is_demo=True).exists()
    assert not Case.objects.exists()
