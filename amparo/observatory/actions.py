"""Writes of the action tracker, the training register and research extract requests.

Each function takes the acting user (or an ``audit.Actor``), checks the policy, runs in one
transaction and records its audit entry there. Views and commands call these; nothing else writes
these tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from amparo.core import audit
from amparo.core.models import Agency, District, Province
from amparo.core.policy import can
from amparo.lib import kanon
from amparo.observatory import extract as extract_rules
from amparo.observatory.extract import ExtractAudit, ExtractPermission
from amparo.observatory.models import (
    Action,
    ActionStatus,
    ExtractRequest,
    ExtractStatus,
    Milestone,
    Pillar,
    TrainingParticipant,
    TrainingRole,
    TrainingSession,
)
from amparo.observatory.tracker import TrackerAudit, TrackerPermission

COORDINATOR_AGENCY = "mgcas"


def _require(actor: Any, permission: Any, obj: Any = None) -> None:
    if isinstance(actor, audit.Actor):
        if actor.user is None:
            return  # the system (migrations, seeding)
        actor = actor.user
    if not can(actor, permission, obj):
        raise PermissionDenied


def _user(actor: Any) -> Any:
    return actor.user if isinstance(actor, audit.Actor) else actor


# ---------------------------------------------------------------------------------------------
# Seed: the recommended actions of "Protecting children in Mozambique from online sexual
# exploitation and abuse: the way forward" (Disrupting Harm in Mozambique). The text names no lead
# agency for any action, so MGCAS holds each as coordinator until one is agreed (to be confirmed).
# Titles are short English msgids (translated on display); descriptions quote the source.


@dataclass(frozen=True)
class SeedAction:
    key: str
    pillar: str
    title: str
    description: str


SEED_ACTIONS: tuple[SeedAction, ...] = (
    SeedAction(
        "act-lead-body",
        Pillar.ACT,
        gettext_noop("Appoint a lead body to coordinate the OCSEA response"),
        "Establish or appoint a lead government body to coordinate OCSEA response and prevention, avoid "
        "duplication efforts across ministries by streamlining the mandates and responsibilities for "
        "efficient use of resources.",
    ),
    SeedAction(
        "act-criminalise-online-offences",
        Pillar.ACT,
        gettext_noop("Criminalise live-streaming, online grooming and sexual extortion"),
        "Explicitly criminalise live-streaming of child sexual abuse, online grooming of children for "
        "sexual purposes, and the sexual extortion of children committed or facilitated in the online "
        "environment.",
    ),
    SeedAction(
        "act-csam-legislation",
        Pillar.ACT,
        gettext_noop("Amend the law on child sexual abuse material"),
        "Amend the legislation on child sexual abuse material in order to explicitly cover depictions of "
        "a child's body for sexual purposes, as well as types of content other than solely visual "
        "material, and bring it fully into line with the standards set by the Optional Protocol to the "
        "Convention on the Rights of the Child on the sale of children, child prostitution and child "
        "pornography.",
    ),
    SeedAction(
        "act-equal-penalties",
        Pillar.ACT,
        gettext_noop("Remove discrepancies in penalties for child sexual abuse material"),
        "Remove discrepancies in the penalties associated with conduct related to child sexual abuse "
        "material, to ensure equal protection for children, no matter their age nor the purpose for "
        "which the material was produced, possessed or transferred.",
    ),
    SeedAction(
        "act-anonymous-reporting",
        Pillar.ACT,
        gettext_noop("Allow anonymous reporting of crimes to the police"),
        "Allow for anonymous reporting of crimes, including OCSEA, to the police.",
    ),
    SeedAction(
        "act-reporting-campaigns",
        Pillar.ACT,
        gettext_noop("Inform children and the public about reporting mechanisms"),
        "Implement communications campaigns to inform children and the general public about the "
        "available reporting mechanisms. It is important that these services are strengthened and "
        "well-resourced to ensure they can provide children with the support they need.",
    ),
    SeedAction(
        "act-child-friendly-justice",
        Pillar.ACT,
        gettext_noop("Guidelines for interviewing children; train prosecutors and judges"),
        "Develop and implement guidelines on interviewing children during the criminal justice process "
        "and train prosecutors and judges on how to handle OCSEA cases and deliver child-friendly "
        "justice.",
    ),
    SeedAction(
        "act-rights-information",
        Pillar.ACT,
        gettext_noop("Give children who report a standard rights information package"),
        "Provide children who report online sexual exploitation and abuse offences - and their "
        "caregivers - with a standard information package about their rights, including the right to "
        "compensation, and the procedures that will follow.",
    ),
    SeedAction(
        "act-civil-society-collaboration",
        Pillar.ACT,
        gettext_noop("Collaboration between law enforcement and civil society"),
        "Create mechanisms for collaboration on OCSEA between law enforcement and civil society "
        "organisations, including secure information exchange platforms for sharing evidence.",
    ),
    SeedAction(
        "act-data-monitoring",
        Pillar.ACT,
        gettext_noop("Collect data and monitor OCSEA cases nationally and locally"),
        "Collect data and monitor OCSEA cases on the national and local levels. Systematic recording and "
        "classification of cases by law enforcement will facilitate in developing evidence-based "
        "prevention and response mechanisms to OCSEA.",
    ),
    SeedAction(
        "act-interpol-icse",
        Pillar.ACT,
        gettext_noop("Connect to INTERPOL's International Child Sexual Exploitation database"),
        "Prioritise establishing a national connection to INTERPOL's International Child Sexual "
        "Exploitation database, allowing law enforcement in Mozambique to join a community of law "
        "enforcement officers from 67 member countries working to address OCSEA. This will reduce "
        "duplication of efforts and enable a more effective response through collaboration and "
        "proactive surveillance.",
    ),
    SeedAction(
        "educate-community-campaign",
        Pillar.EDUCATE,
        gettext_noop("Nationwide community-based awareness campaign"),
        "Deliver a nationwide, community-based awareness and education campaign on the threat of OCSEA to "
        "help those with a duty of care for children - such as caregivers, teachers and medical staff - "
        "to recognise the risks and benefits of online communication tools and understand how to be "
        "involved in a child's internet use and have a more open dialogue where a child could face harm "
        "online.",
    ),
    SeedAction(
        "educate-digital-literacy",
        Pillar.EDUCATE,
        gettext_noop("Improve the digital literacy of children, caregivers and teachers"),
        "Invest in improving digital literacy of children, caregivers and teachers. This could be done by "
        "adding computer and online protection classes to the school curriculum and disseminating "
        "messages in local languages about the use of digital platforms and technologies via TV, radio "
        "and school meetings. If possible, build on existing awareness campaigns.",
    ),
    SeedAction(
        "educate-sex-education",
        Pillar.EDUCATE,
        gettext_noop("Age-appropriate sex education that reaches all children"),
        "Ensure that children receive age-appropriate and culturally appropriate sex education, including "
        "information on sexual consent, personal boundaries, the risks and responsibilities of online "
        "activities (e.g. when taking, sending and receiving sexual images), and how to seek help if "
        "needed. Ensure that information reaches all children, including out-of-school children, "
        "children with disabilities, children affected by migration and street-connected children.",
    ),
    SeedAction(
        "educate-train-professionals",
        Pillar.EDUCATE,
        gettext_noop("Regularly train justice and child protection professionals, outside urban centres too"),
        "Regularly train police officers, prosecutors, judges, lawyers, courtroom staff and child "
        "protection officers on OCSEA and child-friendly procedures. Ensure these trainings are provided "
        "in areas outside the urban centres too. Existing child protection training materials can be "
        "adapted to include OCSEA.",
    ),
    SeedAction(
        "educate-private-sector",
        Pillar.EDUCATE,
        gettext_noop("Promote awareness of OCSEA in the private sector"),
        "Promote awareness of OCSEA among relevant private sector entities, including internet, mobile "
        "and financial services providers, to ensure companies of all sizes have a better understanding "
        "of the risks children face online and of measures needed to combat OCSEA. Promote multi-sectoral "
        "initiatives, to develop and/or strengthen internal child protection policies.",
    ),
    SeedAction(
        "invest-dedicated-budget",
        Pillar.INVEST,
        gettext_noop("A dedicated OCSEA budget and a mechanism for international referrals"),
        "Create a dedicated budget for OCSEA prevention and response, adequately fund all agencies "
        "involved in tackling OCSEA, and support the creation of an effective mechanism to ensure that "
        "international OCSEA referrals receive an appropriate level of police investigation.",
    ),
    SeedAction(
        "invest-law-enforcement-capacity",
        Pillar.INVEST,
        gettext_noop("Assess and build law enforcement capacity on OCSEA"),
        "Invest in assessing the capacity of law enforcement responses to OCSEA. Make sure that officers "
        "are knowledgeable on OCSEA, are trained in conducting OCSEA investigations, are equipped with "
        "specialised equipment, know how to collaborate with Internet service providers and global social "
        "media platforms and how to respond to NCMEC CyberTips.",
    ),
    SeedAction(
        "invest-specialised-unit",
        Pillar.INVEST,
        gettext_noop("A specialised police unit for OCSEA with a child-friendly reporting desk"),
        "Create a dedicated specialised police unit, or place specialised officers within an existing "
        "unit, to investigate OCSEA cases. This unit or team should be composed of officers with "
        "experience in cases of both online and offline crimes against children, and should have a "
        "public-facing reporting desk, with child-friendly spaces and technical tools and forensic "
        "capacity on-site.",
    ),
    SeedAction(
        "invest-justice-research",
        Pillar.INVEST,
        gettext_noop("Research with justice professionals and children on justice processes"),
        "Invest in research involving justice professionals who have worked on OCSEA cases, as well as "
        "with children who have been subjected to OCSEA and have engaged with the formal justice process. "
        "While the legislation can theoretically provide support for children, confirming how it works in "
        "practice is essential for strengthening response systems.",
    ),
    SeedAction(
        "invest-record-keeping",
        Pillar.INVEST,
        gettext_noop("Resources for police and hotline record keeping on OCSEA"),
        "Dedicate resources to the police and to hotlines to improve their record keeping on OCSEA, so "
        "that more accurate and precise data can help inform prevention efforts.",
    ),
)


def seed_rows(action_model: Any, agency_model: Any) -> list[Any]:
    """Create the seed actions that are missing (by key); never touch existing ones. Returns the
    created rows. Takes the model classes so that a data migration can pass its historical ones."""
    lead = agency_model.objects.get(code=COORDINATOR_AGENCY)
    existing = set(action_model.objects.values_list("key", flat=True))
    created = []
    positions: dict[str, int] = {}
    for seed in SEED_ACTIONS:
        positions[seed.pillar] = positions.get(seed.pillar, 0) + 1
        if seed.key in existing:
            continue
        created.append(
            action_model.objects.create(
                key=seed.key,
                pillar=seed.pillar,
                position=positions[seed.pillar],
                title=seed.title,
                description=seed.description,
                lead_agency=lead,
                lead_to_be_confirmed=True,
                status=ActionStatus.NOT_STARTED,
            )
        )
    return created


def seed_action_tracker(actor: Any = None) -> int:
    """Idempotent: add the recommended actions that are missing; returns how many were added."""
    actor = actor or audit.Actor.system("seed_action_tracker")
    _require(actor, TrackerPermission.EDIT)
    with transaction.atomic():
        created = seed_rows(Action, Agency)
        for action in created:
            audit.record(actor, TrackerAudit.SEED, action, ["key", "pillar", "title", "lead_agency"])
    return len(created)


# ---------------------------------------------------------------------------------------------
# Tracker

ACTION_FIELDS = (
    "status",
    "lead_agency",
    "lead_to_be_confirmed",
    "evidence_notes",
    "budget_allocated",
    "budget_spent",
    "description",
    "title",
)


MAX_AMOUNT = Decimal("99999999999999.99")  # the largest amount the budget columns hold (16 digits)


def _amount(value: Any) -> Decimal:
    """An amount in meticais, to the centavo; refuses what is not a finite amount from 0 up."""
    try:
        amount = Decimal(str(value).strip().replace(" ", ""))
    except ArithmeticError:
        raise ValidationError(_("Write an amount in meticais, such as 150000.00.")) from None
    if not amount.is_finite():
        raise ValidationError(_("Write an amount in meticais, such as 150000.00."))
    if amount < 0:
        raise ValidationError(_("A budget cannot be negative."))
    if amount > MAX_AMOUNT:
        raise ValidationError(_("That amount is too large for the budget."))
    return amount.quantize(Decimal("0.01"))


def update_action(
    actor: Any, action: Action, *, supporting_agencies: Iterable[Agency] | None = None, **changes: Any
) -> Action:
    _require(actor, TrackerPermission.EDIT, action)
    unknown = set(changes) - set(ACTION_FIELDS)
    if unknown:
        raise TypeError(f"update_action cannot change {sorted(unknown)}")
    if "status" in changes and changes["status"] not in ActionStatus.values:
        raise ValidationError(_("Choose a status from the list."))
    for money in ("budget_allocated", "budget_spent"):
        if money in changes:
            changes[money] = _amount(changes[money])
    with transaction.atomic():
        action = Action.objects.select_for_update().get(pk=action.pk)
        changed = [name for name, value in changes.items() if getattr(action, name) != value]
        for name in changed:
            setattr(action, name, changes[name])
        if changed:
            action.save(update_fields=[*changed, "updated_at"])
        if supporting_agencies is not None:
            wanted = {a.pk for a in supporting_agencies}
            if wanted != set(action.supporting_agencies.values_list("pk", flat=True)):
                action.supporting_agencies.set(wanted)
                changed.append("supporting_agencies")
        if changed:
            audit.record(actor, TrackerAudit.ACTION_UPDATE, action, changed)
    return action


def add_milestone(actor: Any, action: Action, *, title: str, due_date: dt.date) -> Milestone:
    _require(actor, TrackerPermission.EDIT, action)
    if not title.strip():
        raise ValidationError(_("A milestone needs a title."))
    with transaction.atomic():
        milestone = Milestone.objects.create(action=action, title=title.strip(), due_date=due_date)
        audit.record(actor, TrackerAudit.MILESTONE_CREATE, milestone, ["action", "title", "due_date"])
    return milestone


def complete_milestone(actor: Any, milestone: Milestone, *, done_date: dt.date | None = None) -> Milestone:
    _require(actor, TrackerPermission.EDIT, milestone.action)
    done_date = done_date or timezone.localdate()
    if done_date > timezone.localdate():
        raise ValidationError(_("A milestone cannot be done in the future."))
    with transaction.atomic():
        milestone.done_date = done_date
        milestone.save(update_fields=["done_date"])
        audit.record(actor, TrackerAudit.MILESTONE_UPDATE, milestone, ["done_date"])
    return milestone


@dataclass(frozen=True)
class ParticipantRow:
    agency: Agency
    role: str
    province: Province
    female: int = 0
    male: int = 0


def record_training(
    actor: Any,
    *,
    course_title: str,
    date: dt.date,
    district: District,
    organiser: Agency,
    participants: Sequence[ParticipantRow],
    urban: bool | None = None,
) -> TrainingSession:
    """Record one training session and who took part (counts by agency, role, province and sex).

    ``urban`` defaults to whether the district holds the provincial capital.
    """
    _require(actor, TrackerPermission.EDIT)
    if not course_title.strip():
        raise ValidationError(_("A training session needs a course title."))
    if date > timezone.localdate():
        raise ValidationError(_("A training session cannot be recorded before it happens."))
    for row in participants:
        if row.role not in TrainingRole.values:
            raise ValidationError(_("Choose a role from the list."))
        if row.female < 0 or row.male < 0:
            raise ValidationError(_("Counts of participants cannot be negative."))
    with transaction.atomic():
        session = TrainingSession.objects.create(
            course_title=course_title.strip(),
            date=date,
            district=district,
            urban=district.is_capital if urban is None else urban,
            organiser=organiser,
        )
        audit.record(
            actor,
            TrackerAudit.TRAINING_CREATE,
            session,
            ["course_title", "date", "district", "urban", "organiser"],
        )
        merged: dict[tuple[int, str, str], list[int]] = {}
        for row in participants:
            key = (row.agency.pk, row.role, row.province.pk)
            totals = merged.setdefault(key, [0, 0])
            totals[0] += row.female
            totals[1] += row.male
        for (agency_id, role, province_id), (female, male) in merged.items():
            if female or male:
                TrainingParticipant.objects.create(
                    session=session,
                    agency_id=agency_id,
                    role=role,
                    province_id=province_id,
                    female=female,
                    male=male,
                )
        if merged:
            audit.record(
                actor,
                TrackerAudit.PARTICIPANTS_ADD,
                session,
                ["agency", "role", "province", "female", "male"],
            )
    return session


# ---------------------------------------------------------------------------------------------
# Research extracts


def request_extract(
    actor: Any, *, purpose: str, fields: Iterable[str], period_start: dt.date, period_end: dt.date
) -> ExtractRequest:
    _require(actor, ExtractPermission.REQUEST)
    fields = [c for c in extract_rules.COLUMNS if c in set(fields)]
    if not fields:
        raise ValidationError(_("Choose at least one column."))
    if not purpose.strip():
        raise ValidationError(_("Say what the extract is for."))
    if period_end < period_start:
        raise ValidationError(_("The period ends before it starts."))
    with transaction.atomic():
        request = ExtractRequest.objects.create(
            requester=_user(actor),
            purpose=purpose.strip(),
            fields=fields,
            period_start=period_start,
            period_end=period_end,
        )
        audit.record(
            actor, ExtractAudit.REQUEST, request, ["purpose", "fields", "period_start", "period_end"]
        )
    return request


def decide_extract(actor: Any, request: ExtractRequest, *, approve: bool, note: str = "") -> ExtractRequest:
    _require(actor, ExtractPermission.DECIDE, request)
    with transaction.atomic():
        request = ExtractRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != ExtractStatus.REQUESTED:
            raise ValidationError(_("This request has already been decided."))
        request.status = ExtractStatus.APPROVED if approve else ExtractStatus.REFUSED
        request.approver = _user(actor)
        request.decided_at = timezone.now()
        request.decision_note = note.strip()
        request.save(update_fields=["status", "approver", "decided_at", "decision_note"])
        audit.record(
            actor,
            ExtractAudit.APPROVE if approve else ExtractAudit.REFUSE,
            request,
            ["status", "approver", "decided_at", *(["decision_note"] if note.strip() else [])],
        )
    return request


class ExtractWithheld(Exception):
    """The extract failed the k-anonymity check: nothing is released. Carries no data."""


def download_extract(actor: Any, request: ExtractRequest) -> str:
    """Build the approved extract, check it, mark the request downloaded and return the CSV.

    Raises :class:`ExtractWithheld` (and records that refusal) when the data cannot be made
    k-anonymous; nothing is released then.
    """
    _require(actor, ExtractPermission.DOWNLOAD, request)
    records = extract_rules.raw_records(request.period_start, request.period_end)
    try:
        built = extract_rules.build(records, request.fields)
    except kanon.UnsafeExtract:
        audit.record_read(actor, ExtractAudit.WITHHELD, request, request.fields)
        raise ExtractWithheld from None
    body = extract_rules.to_csv(built, request.fields)
    with transaction.atomic():
        request = ExtractRequest.objects.select_for_update().get(pk=request.pk)
        request.status = ExtractStatus.DOWNLOADED
        request.downloaded_at = timezone.now()
        request.save(update_fields=["status", "downloaded_at"])
        audit.record(actor, ExtractAudit.DOWNLOAD, request, list(request.fields))
    return body


# ---------------------------------------------------------------------------------------------
# Indicator snapshots


def request_refresh(actor: Any, period: Any) -> list[str]:  # noqa: ANN401
    """A coordinator asks for fresh national figures for ``period`` (a compute.Period): every
    indicator for it and reports received for the earlier periods of its time series. The refresh
    runs in the background worker once this transaction commits; returns the period keys asked for.
    """
    from amparo.observatory import snapshots
    from amparo.observatory.permissions import ObservatoryAudit, ObservatoryPermission
    from amparo.observatory.tasks import refresh_indicators

    _require(actor, ObservatoryPermission.REFRESH)
    plan = [(sorted(p.key() for p in periods), codes) for periods, codes in snapshots.plan_for(period)]
    with transaction.atomic():
        audit.record(
            actor,
            ObservatoryAudit.SNAPSHOT_REFRESH_REQUEST,
            ("observatory.indicatorsnapshot", period.key()),
            [],
        )
        for keys, codes in plan:
            if keys:
                transaction.on_commit(
                    lambda keys=keys, codes=codes: refresh_indicators.enqueue(periods=keys, codes=codes)
                )
    return [key for keys, _codes in plan for key in keys]
