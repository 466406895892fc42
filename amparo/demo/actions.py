"""Writes of the demo app: the demo agency, demo users and synthetic cases.

Everything goes through the ordinary actions (`core.actions.create_user`, `cases.actions.*`), so
that demo rows are encrypted, indexed and audited exactly like real work. The plan comes from
`amparo.demo.generate`; this module only carries it out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction

from amparo.cases import actions as case_actions
from amparo.cases.models import Case
from amparo.core import audit
from amparo.core.actions import create_agency, create_user
from amparo.core.models import Agency, District, Province, User
from amparo.demo.generate import (
    DEMO_AGENCIES,
    DEMO_PASSWORD,
    DEMO_USERS,
    SYSTEM_ACTOR_NAME,
    AssignSpec,
    CaseSpec,
    ReferralSpec,
    TransitionSpec,
)

SYSTEM = audit.Actor.system(SYSTEM_ACTOR_NAME)
BATCH_SIZE = 100
DECLINE_REASON = "Synthetic demo: not for this agency; the referring agency was told whom to ask instead."


class DemoConflict(Exception):
    """A demo agency code or username is already taken by a real (non-demo) record."""


def demo_data_exists() -> bool:
    return Case.objects.filter(is_demo=True).exists() or User.objects.filter(is_demo=True).exists()


def load_geography() -> dict[str, list[tuple[str, bool]]]:
    """Province code -> [(district code, is capital)], as `generate.generate_cases` expects it."""
    geography: dict[str, list[tuple[str, bool]]] = {}
    for code, province, is_capital in District.objects.order_by("code").values_list(
        "code", "province_id", "is_capital"
    ):
        geography.setdefault(province, []).append((code, is_capital))
    return geography


def ensure_demo_agencies(actor: Any) -> list[Agency]:
    """Create the demo agencies that are missing (Agency.is_demo=True), each audited."""
    created = []
    with transaction.atomic():
        for spec in DEMO_AGENCIES:
            agency = Agency.objects.filter(code=spec.code).first()
            if agency is not None:
                if not agency.is_demo:
                    raise DemoConflict(f"the agency code {spec.code!r} belongs to a real agency")
                continue
            agency = create_agency(
                actor,
                code=spec.code,
                name=spec.name,
                short_name=spec.short_name,
                kind=spec.kind,
                scope_level=spec.scope_level,
                province=Province.objects.get(pk=spec.province) if spec.province else None,
                is_demo=True,
            )
            created.append(agency)
    return created


def create_demo_users(actor: Any, password: str = DEMO_PASSWORD) -> dict[str, User]:
    """The demo users by username: created where missing, reused where a demo user already has the name."""
    agencies = {a.code: a for a in Agency.objects.filter(code__in={u.agency for u in DEMO_USERS})}
    users: dict[str, User] = {}
    for spec in DEMO_USERS:
        existing = User.objects.filter(username=spec.username).select_related("agency").first()
        if existing is not None:
            if not existing.is_demo:
                raise DemoConflict(f"the username {spec.username!r} belongs to a real user")
            users[spec.username] = existing
            continue
        users[spec.username] = create_user(
            actor,
            username=spec.username,
            agency=agencies[spec.agency],
            roles=spec.roles,
            password=password,
            first_name="Demo",
            last_name=spec.title,
            scope_level="province" if spec.scope_province else "",
            scope_province=Province.objects.get(pk=spec.scope_province) if spec.scope_province else None,
            is_demo=True,
        )
    return users


def seed_cases(
    actor: Any,
    plan: Sequence[CaseSpec],
    users: dict[str, User],
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Write the planned cases, one transaction per batch: fast, and what is written stays written."""
    writer = _CaseWriter(actor, users)
    for start in range(0, len(plan), batch_size):
        batch = plan[start : start + batch_size]
        with transaction.atomic():
            for spec in batch:
                writer.write(spec)
        if progress is not None:
            progress(len(batch))
    return len(plan)


class _CaseWriter:
    def __init__(self, actor: Any, users: dict[str, User]) -> None:
        self.actor = actor
        self.users = users
        self.agencies = {a.code: a for a in Agency.objects.all()}
        self.provinces = {p.code: p for p in Province.objects.all()}
        self.districts = {d.code: d for d in District.objects.all()}

    def write(self, spec: CaseSpec) -> Case:
        case = case_actions.create_case(
            self.actor,
            channel=spec.channel,
            owning_agency=self.agencies[spec.owner],
            forms=spec.forms,
            platforms=spec.platforms,
            priority=spec.priority,
            mode=spec.mode,
            province=self.provinces[spec.province] if spec.province else None,
            district=self.districts[spec.district] if spec.district else None,
            incident_date=spec.incident_date,
            incident_date_precision=spec.incident_date_precision,
            narrative=spec.narrative,
            risk_flags=spec.risk_flags,
            received_at=spec.received_at,
            is_demo=True,
        )
        for person in spec.persons:
            case_actions.add_person(
                self.actor,
                case,
                role=person.role,
                name=person.name,
                phone=person.phone,
                age=person.age,
                birth_year=person.birth_year,
                sex=person.sex,
                disability=person.disability,
                in_school=person.in_school,
                language=person.language,
                relationship=person.relationship,
                known_to_child=person.known_to_child,
                disclosure=person.disclosure,
            )
        for step in spec.steps:
            if isinstance(step, TransitionSpec):
                case_actions.transition_case(
                    self.actor, case, step.to_status, reason=step.reason, outcome=step.outcome, at=step.at
                )
            elif isinstance(step, ReferralSpec):
                # Referrals record who made and who decided them: the seeding process acts for the
                # demo users, which lets it date each step in the past.
                referrer = audit.Actor(user=self.users[step.by], channel="seed_demo")
                to_agency = self.agencies[step.to_agency]
                consent = case_actions.record_consent(
                    referrer,
                    case,
                    purpose=f"Referral to {to_agency.short_name}",
                    child_consent=step.child_consent,
                    caregiver_consent=step.caregiver_consent,
                    legal_basis=step.legal_basis,
                    justification=step.justification,
                    at=step.at,
                )
                referral = case_actions.refer_case(
                    referrer,
                    case,
                    to_agency,
                    reason=step.reason,
                    consent=consent,
                    shared_fields=step.shared_fields,
                    urgency=step.urgency,
                    at=step.at,
                )
                if step.decision != "pending":
                    case_actions.decide_referral(
                        audit.Actor(user=self.users[step.decided_by], channel="seed_demo"),
                        referral,
                        accept=step.decision == "accepted",
                        reason="" if step.decision == "accepted" else DECLINE_REASON,
                        at=step.decided_at,
                    )
            elif isinstance(step, AssignSpec):
                case_actions.assign_case(self.actor, case, self.users[step.username])
        return case


def demo_logins() -> list[dict[str, Any]]:
    """The demo users' sign-in details, in the order of `generate.DEMO_USERS` (the password is shared)."""
    order = {spec.username: i for i, spec in enumerate(DEMO_USERS)}
    provinces = dict(Province.objects.values_list("code", "name"))
    users = sorted(
        User.objects.filter(is_demo=True).select_related("agency").prefetch_related("role_grants"),
        key=lambda u: (order.get(u.username, len(order)), u.username),
    )
    return [
        {
            "username": u.username,
            "password": DEMO_PASSWORD,
            "agency": u.agency.short_name,
            "agency_code": u.agency.code,
            "roles": sorted(g.role for g in u.role_grants.all()),
            "scope": _scope_label(u, provinces),
        }
        for u in users
    ]


def _scope_label(user: User, provinces: dict[str, str]) -> str:
    level, province, district = user.effective_scope()
    if level == "national":
        return "national"
    return f"{level}: {district or provinces.get(province or '', province)}"
