"""The demo data as a plan: pure generation, no database.

`generate_cases()` turns (number, seed, today, geography) into a list of `CaseSpec`: everything a
synthetic case will hold, including the workflow steps it will take. The same arguments always give
the same plan; only `random.Random(seed)` is used, never the global generator, and "today" is passed
in. `amparo.demo.actions` writes a plan through the ordinary case actions.

Everyone here is invented: names are common Mozambican first names and surnames combined at random,
phone numbers are random digits, narratives are short benign templates. The shares follow the
Disrupting Harm in Mozambique findings (offenders mostly known to the child, Facebook/Messenger and
WhatsApp most common, about 30% of children told no one) and the 2017 census for where people live.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import random
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from amparo.cases.taxonomy import (
    KNOWN_RELATIONSHIPS,
    Form,
    Mode,
    Platform,
    Relationship,
    RiskFlag,
    Sex,
)
from amparo.cases.workflow import Outcome, Status
from amparo.core.roles import Role
from amparo.demo import shares

TZ = ZoneInfo("Africa/Maputo")
DEFAULT_SEED = 2026
DEFAULT_CASES = 2000
MONTHS = 24
DEMO_PASSWORD = "amparo-demo-2026"  # noqa: S105 - published on purpose: demo users only, AMPARO_DEMO=1 only
SYSTEM_ACTOR_NAME = "seed_demo"

# Agency codes the plan refers to (the national ones come from core's migration 0003).
HELPLINE = "linha-fala-crianca"
GAFMVV = "prm-gafmvv"
SERNIC = "sernic"
PGR = "pgr"
MGCAS = "mgcas"
COURT = "tribunal-menores-maputo"
NAMPULA_DESK = "demo-gafmvv-nampula"
NAMPULA = "MZ07"
MAPUTO_CITY = "MZ06"


# --- Agencies and users -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AgencySpec:
    code: str
    name: str
    short_name: str
    kind: str
    scope_level: str
    province: str | None


DEMO_AGENCIES: tuple[AgencySpec, ...] = (
    AgencySpec(
        code=NAMPULA_DESK,
        name="Gabinete de Atendimento à Família e Menores Vítimas de Violência de Nampula (demonstração)",
        short_name="GAFMVV Nampula (demo)",
        kind="police",
        scope_level="province",
        province=NAMPULA,
    ),
)


@dataclasses.dataclass(frozen=True)
class UserSpec:
    username: str
    agency: str
    roles: tuple[str, ...]
    title: str  # stored as the last name, after the first name "Demo"
    scope_province: str | None = None


DEMO_USERS: tuple[UserSpec, ...] = (
    UserSpec("operador116", HELPLINE, (Role.HELPLINE_OPERATOR,), "Operador da Linha 116"),
    UserSpec("supervisor116", HELPLINE, (Role.AGENCY_SUPERVISOR,), "Supervisor da Linha 116"),
    UserSpec("atendimento", GAFMVV, (Role.INTAKE_OFFICER,), "Agente de atendimento"),
    UserSpec(
        "atendimento.nampula",
        NAMPULA_DESK,
        (Role.INTAKE_OFFICER,),
        "Agente de atendimento de Nampula",
        NAMPULA,
    ),
    UserSpec("investigador", SERNIC, (Role.INVESTIGATOR,), "Investigador"),
    UserSpec("supervisor.sernic", SERNIC, (Role.AGENCY_SUPERVISOR,), "Supervisor do SERNIC"),
    UserSpec("procurador", PGR, (Role.PROSECUTOR,), "Procurador"),
    UserSpec("assistente.social", MGCAS, (Role.SOCIAL_WORKER,), "Assistente social"),
    UserSpec("oficial.tribunal", COURT, (Role.COURT_OFFICER,), "Oficial de justiça"),
    UserSpec("coordenador", MGCAS, (Role.NATIONAL_COORDINATOR,), "Coordenador nacional"),
    UserSpec("analista", MGCAS, (Role.ANALYST,), "Analista"),
    UserSpec("auditor", "cndh", (Role.AUDITOR,), "Auditor"),
    UserSpec("administrador", "intic", (Role.SYSADMIN,), "Administrador do sistema"),
)

# Who acts for an agency in the plan: the user that refers its cases, and the one that decides
# referrals it receives or takes cases it owns.
CASE_WORKER = {
    HELPLINE: "operador116",
    GAFMVV: "atendimento",
    NAMPULA_DESK: "atendimento.nampula",
    SERNIC: "investigador",
}
SUPERVISOR = {
    HELPLINE: "supervisor116",
    GAFMVV: "atendimento",
    NAMPULA_DESK: "atendimento.nampula",
    SERNIC: "supervisor.sernic",
}
DECIDER = {SERNIC: "investigador", MGCAS: "assistente.social", PGR: "procurador", COURT: "oficial.tribunal"}


# Who owns a report, by channel; the weights and words are in amparo.demo.shares.
OWNER_BY_CHANNEL = {
    "helpline": HELPLINE,
    "desk": GAFMVV,
    "web": HELPLINE,
    "sms": HELPLINE,
    "ussd": HELPLINE,
    "international": SERNIC,
}


# --- The plan ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PersonSpec:
    role: str
    name: str = ""
    phone: str = ""
    age: int | None = None
    birth_year: int | None = None
    sex: str = Sex.UNKNOWN
    disability: bool | None = None
    in_school: bool | None = None
    language: str = ""
    relationship: str = ""
    known_to_child: bool | None = None
    disclosure: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class TransitionSpec:
    to_status: str
    at: dt.datetime
    reason: str
    outcome: str = ""


@dataclasses.dataclass(frozen=True)
class ReferralSpec:
    """A referral made by `by` (of the owning agency) at `at`; `decision` is accepted, declined or
    pending, taken by `decided_by` at `decided_at`."""

    to_agency: str
    reason: str
    by: str
    decision: str
    decided_by: str = ""
    at: dt.datetime | None = None
    decided_at: dt.datetime | None = None
    # The consent to share (or the legal basis) recorded just before, what is shared and how urgently.
    child_consent: str = "given"
    caregiver_consent: str = "given"
    legal_basis: str = ""
    justification: str = ""
    shared_fields: tuple[str, ...] = ()
    urgency: str = "normal"


@dataclasses.dataclass(frozen=True)
class AssignSpec:
    username: str


Step = TransitionSpec | ReferralSpec | AssignSpec


@dataclasses.dataclass(frozen=True)
class CaseSpec:
    channel: str
    owner: str
    received_at: dt.datetime
    province: str | None
    district: str | None
    forms: tuple[str, ...]
    platforms: tuple[str, ...]
    mode: str
    priority: str
    risk_flags: tuple[str, ...]
    incident_date: dt.date | None
    incident_date_precision: str
    narrative: str
    persons: tuple[PersonSpec, ...]
    steps: tuple[Step, ...] = ()

    @property
    def status(self) -> str:
        moves = [s for s in self.steps if isinstance(s, TransitionSpec)]
        return moves[-1].to_status if moves else Status.RECEIVED

    @property
    def outcome(self) -> str:
        moves = [s for s in self.steps if isinstance(s, TransitionSpec)]
        return moves[-1].outcome if moves else ""


Geography = Mapping[str, Sequence[tuple[str, bool]]]  # province code -> [(district code, is capital)]


class _Weighted:
    """A fixed discrete distribution, drawn with one `rng.random()` per draw."""

    def __init__(self, weights: Mapping[Any, float]) -> None:
        self.values = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))
        self.total = self.cumulative[-1]

    def draw(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


_CHANNEL = _Weighted(shares.CHANNELS)
_FORM = _Weighted(shares.FORMS)
_PLATFORM = _Weighted(shares.PLATFORMS)
_KNOWN = _Weighted(shares.KNOWN)
_NOT_KNOWN = _Weighted(shares.NOT_KNOWN)
_TOLD = _Weighted(shares.TOLD)
_AGE = _Weighted(shares.AGES)
_SEX = _Weighted(shares.VICTIM_SEX)
_PROVINCE = _Weighted(shares.PROVINCE_POPULATION)
_HOUR = _Weighted(dict(enumerate([1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 7, 6, 5, 4, 3, 2])))
_REPORTER = _Weighted({"caregiver": 55, "teacher": 15, "relative": 18, "neighbour": 12})

# Later forms that often come with an earlier one (a second form for about a quarter of cases).
_RELATED_FORMS = {
    Form.GROOMING: (Form.OFFER_FOR_IMAGES, Form.SEXTORTION, Form.UNWANTED_EXPOSURE),
    Form.SEXTORTION: (Form.NONCONSENSUAL_SHARING, Form.GROOMING),
    Form.NONCONSENSUAL_SHARING: (Form.SEXTORTION, Form.HARASSMENT),
    Form.OFFER_FOR_IMAGES: (Form.GROOMING,),
    Form.HARASSMENT: (Form.UNWANTED_EXPOSURE, Form.NONCONSENSUAL_SHARING),
    Form.UNWANTED_EXPOSURE: (Form.HARASSMENT,),
    Form.CSAM_PRODUCTION: (Form.CSAM_DISTRIBUTION, Form.GROOMING),
    Form.CSAM_DISTRIBUTION: (Form.CSAM_POSSESSION,),
    Form.LIVE_STREAMING: (Form.CSAM_PRODUCTION, Form.OFFER_FOR_IMAGES),
    Form.TRAFFICKING: (Form.GROOMING,),
}
_SERIOUS_FORMS = frozenset(
    {Form.CSAM_PRODUCTION, Form.CSAM_DISTRIBUTION, Form.LIVE_STREAMING, Form.TRAFFICKING, Form.SEXTORTION}
)


def window(today: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The 24 months before `today`: from that date two years earlier to the start of `today` (Maputo time)."""
    try:
        first = today.replace(year=today.year - MONTHS // 12)
    except ValueError:  # 29 February
        first = today.replace(year=today.year - MONTHS // 12, day=28)
    return dt.datetime.combine(first, dt.time(), tzinfo=TZ), dt.datetime.combine(today, dt.time(), tzinfo=TZ)


def generate_cases(n: int, *, seed: int, today: dt.date, geography: Geography) -> list[CaseSpec]:
    """The plan for `n` synthetic cases, in the order they were received."""
    rng = random.Random(seed)
    start, horizon = window(today)
    places = _Places(geography)
    received = sorted(_received_at(rng, start, horizon) for _ in range(n))
    return [_case(rng, when, horizon, places) for when in received]


def _received_at(rng: random.Random, start: dt.datetime, horizon: dt.datetime) -> dt.datetime:
    """A day drawn with linear growth (the last month sees about twice the first), at a daytime-weighted hour."""
    growth = 1.0
    u = rng.random()
    t = (-1 + (1 + 2 * growth * u * (1 + growth / 2)) ** 0.5) / growth  # inverse of the CDF of 1 + growth*t
    days = (horizon.date() - start.date()).days
    day = start.date() + dt.timedelta(days=min(int(t * days), days - 1))
    hour = _HOUR.draw(rng)
    return dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=TZ)


class _Places:
    def __init__(self, geography: Geography) -> None:
        self.capital: dict[str, str | None] = {}
        self.others: dict[str, list[str]] = {}
        for province in sorted(shares.PROVINCE_POPULATION):
            districts = sorted(geography.get(province, ()))
            self.capital[province] = next((code for code, is_capital in districts if is_capital), None)
            self.others[province] = [code for code, is_capital in districts if not is_capital]

    def draw(self, rng: random.Random) -> tuple[str, str | None]:
        province = _PROVINCE.draw(rng)
        capital, others = self.capital[province], self.others[province]
        if capital and (not others or rng.random() < shares.CAPITAL_SHARE):
            return province, capital
        return province, (rng.choice(others) if others else None)


def _name(rng: random.Random, sex: str) -> str:
    first = rng.choice(
        shares.FEMALE_NAMES
        if sex == Sex.FEMALE
        else shares.MALE_NAMES
        if sex == Sex.MALE
        else shares.FEMALE_NAMES + shares.MALE_NAMES
    )
    return (
        f"{first} {rng.choice(shares.SURNAMES)} {rng.choice(shares.SURNAMES)}"
        if rng.random() < 0.3
        else f"{first} {rng.choice(shares.SURNAMES)}"
    )


def _phone(rng: random.Random) -> str:
    """+258 8X XXX XXXX: random digits, invented."""
    return f"+258 8{rng.choice('234567')} {rng.randrange(1000):03d} {rng.randrange(10000):04d}"


def _case(rng: random.Random, received_at: dt.datetime, horizon: dt.datetime, places: _Places) -> CaseSpec:
    # Each step draws from `rng` in a fixed order: the same seed gives the same cases.
    channel = _CHANNEL.draw(rng)
    owner, province, district = _place(rng, channel, places)
    first_form, forms, platforms = _what_and_where(rng)
    victim, self_report = _child(rng, channel, province, received_at)
    offender, relationship, mode = _offender(rng, victim.age)
    reporter_kind, reporter = _reporter(rng, channel, self_report, victim.language)
    persons = [victim, offender] if reporter is None else [victim, offender, reporter]
    flags, priority = _risk_and_priority(rng, relationship, forms)
    incident_date, precision = _incident(rng, received_at)
    where = shares.PLATFORM_TEXT[platforms[0]]
    what, who = shares.FORM_TEXT[first_form].format(where=where), shares.REPORTER_TEXT[reporter_kind]
    narrative = f"Synthetic demo case: {what}. {who}"
    spec = CaseSpec(
        channel=channel,
        owner=owner,
        received_at=received_at,
        province=province,
        district=district,
        forms=tuple(forms),
        platforms=tuple(platforms),
        mode=mode,
        priority=priority,
        risk_flags=tuple(flags),
        incident_date=incident_date,
        incident_date_precision=precision,
        narrative=narrative,
        persons=tuple(persons),
    )
    return _with_steps(rng, spec, horizon)


def _place(rng: random.Random, channel: str, places: _Places) -> tuple[str, str | None, str | None]:
    """The owning agency and where: desk reports always have a place; remote channels sometimes do not."""
    owner = OWNER_BY_CHANNEL[channel]
    province: str | None
    district: str | None
    province, district = places.draw(rng)
    if channel != "desk":
        r = rng.random()
        if r < 0.05:
            province = district = None
        elif r < 0.12:
            district = None
    if channel == "desk" and province == NAMPULA:
        owner = NAMPULA_DESK  # Nampula's walk-in reports go to its provincial desk (province-scoped)

    return owner, province, district


def _what_and_where(rng: random.Random) -> tuple[str, list[str], list[str]]:
    """The forms of abuse (the first one and a related one sometimes) and where online."""
    first_form = _FORM.draw(rng)
    forms = [first_form]
    if first_form in _RELATED_FORMS and rng.random() < 0.25:
        forms.append(rng.choice(_RELATED_FORMS[first_form]))
    platforms = [_PLATFORM.draw(rng)]
    if rng.random() < 0.2:
        second = _PLATFORM.draw(rng)
        if second not in platforms and Platform.UNKNOWN not in (second, platforms[0]):
            platforms.append(second)

    return first_form, forms, platforms


def _child(
    rng: random.Random, channel: str, province: str | None, received_at: dt.datetime
) -> tuple[PersonSpec, bool]:
    """The child, and whether the child reported (then the child's phone may be known)."""
    age = _AGE.draw(rng)
    sex = _SEX.draw(rng)
    year = received_at.year
    birth_year = year - age - rng.randrange(2) if age is not None else None
    named = {"helpline": 0.75, "desk": 0.85, "web": 0.4, "sms": 0.3, "ussd": 0.3, "international": 0.1}[
        channel
    ]
    self_report = channel in ("helpline", "sms", "ussd", "web") and (age or 0) >= 12 and rng.random() < 0.45
    told = ("no_one",) if rng.random() < shares.SHARE_TOLD_NO_ONE else _told(rng)
    language = ""
    if channel in ("helpline", "desk"):
        language = shares.REGIONAL_LANGUAGE.get(province or "", "pt") if rng.random() < 0.25 else "pt"
    victim = PersonSpec(
        role="victim",
        name=_name(rng, sex) if rng.random() < named else "",
        phone=_phone(rng) if self_report and rng.random() < 0.6 else "",
        age=age,
        birth_year=birth_year,
        sex=sex,
        disability=True if rng.random() < 0.04 else (False if rng.random() < 0.5 else None),
        in_school=(rng.random() < 0.85) if age is not None and age >= 6 else None,
        language=language,
        disclosure=told,
    )

    return victim, self_report


def _offender(rng: random.Random, child_age: int | None) -> tuple[PersonSpec, str, str]:
    """The offender (about two thirds known to the child) and the mode of the abuse."""
    known = rng.random() < shares.SHARE_KNOWN
    relationship = _KNOWN.draw(rng) if known else _NOT_KNOWN.draw(rng)
    offender = PersonSpec(
        role="offender",
        age=_offender_age(rng, relationship, child_age),
        sex=Sex.MALE if rng.random() < 0.85 else (Sex.FEMALE if rng.random() < 0.6 else Sex.UNKNOWN),
        relationship=relationship,
        known_to_child=True
        if relationship in KNOWN_RELATIONSHIPS
        else (None if relationship == Relationship.UNKNOWN else False),
    )
    if relationship in KNOWN_RELATIONSHIPS:
        mode = (
            Mode.IN_PERSON_WITH_TECH
            if rng.random() < 0.5
            else (Mode.ONLINE if rng.random() < 0.9 else Mode.UNKNOWN)
        )
    elif relationship == Relationship.UNKNOWN:
        mode = Mode.ONLINE if rng.random() < 0.6 else Mode.UNKNOWN
    else:
        mode = Mode.ONLINE if rng.random() < 0.92 else Mode.UNKNOWN

    return offender, relationship, mode


def _reporter(
    rng: random.Random, channel: str, self_report: bool, language: str
) -> tuple[str, PersonSpec | None]:
    """Who reported, and the reporter as a person of the case when it is an adult around the child."""
    if channel == "international":
        reporter_kind = "international"
    elif self_report:
        reporter_kind = "self"
    elif channel in ("web", "sms", "ussd") and rng.random() < 0.35:
        reporter_kind = "anonymous"
    else:
        reporter_kind = _REPORTER.draw(rng)
    if reporter_kind not in ("caregiver", "teacher", "relative", "neighbour"):
        return reporter_kind, None
    reporter_sex = Sex.FEMALE if rng.random() < 0.65 else Sex.MALE
    has_phone = channel in ("helpline", "sms", "ussd") or rng.random() < 0.5
    return reporter_kind, PersonSpec(
        role="caregiver" if reporter_kind == "caregiver" else "reporter",
        name=_name(rng, reporter_sex) if rng.random() < 0.8 else "",
        phone=_phone(rng) if has_phone and rng.random() < 0.8 else "",
        sex=reporter_sex,
        age=rng.randrange(25, 61),
        language=language,
    )


def _risk_and_priority(rng: random.Random, relationship: str, forms: list[str]) -> tuple[list[str], str]:
    flags: list[str] = []
    if rng.random() < 0.03:
        flags.append(RiskFlag.IMMEDIATE_DANGER)
    if relationship in KNOWN_RELATIONSHIPS and rng.random() < 0.3:
        flags.append(RiskFlag.ONGOING_CONTACT)
    if (
        relationship in (Relationship.FAMILY, Relationship.TEACHER_CAREGIVER, Relationship.INTIMATE_PARTNER)
        and rng.random() < 0.4
    ):
        flags.append(RiskFlag.OFFENDER_HAS_ACCESS)
    if rng.random() < 0.03:
        flags.append(RiskFlag.SELF_HARM)
    if {Form.NONCONSENSUAL_SHARING, Form.SEXTORTION, Form.CSAM_DISTRIBUTION} & set(
        forms
    ) and rng.random() < 0.5:
        flags.append(RiskFlag.IMAGES_SPREADING)
    if rng.random() < 0.03:
        flags.append(RiskFlag.MULTIPLE_VICTIMS)
    if RiskFlag.IMMEDIATE_DANGER in flags:
        priority = "immediate"
    elif _SERIOUS_FORMS & set(forms) or RiskFlag.SELF_HARM in flags or rng.random() < 0.12:
        priority = "high"
    else:
        priority = "low" if rng.random() < 0.12 else "normal"

    return flags, priority


def _incident(rng: random.Random, received_at: dt.datetime) -> tuple[dt.date | None, str]:
    """When it happened, and how precisely that is known."""
    r = rng.random()
    if r < 0.1:
        return None, "approximate"
    back = rng.randrange(0, 7) if r < 0.5 else rng.randrange(7, 31) if r < 0.8 else rng.randrange(31, 181)
    incident_date = received_at.date() - dt.timedelta(days=back)
    precision = "exact" if back < 7 else ("month" if back < 31 or rng.random() < 0.5 else "approximate")
    return incident_date, precision


def _told(rng: random.Random) -> tuple[str, ...]:
    first = _TOLD.draw(rng)
    if rng.random() < 0.3:
        second = _TOLD.draw(rng)
        if second != first:
            return tuple(sorted((first, second), key=list(shares.TOLD).index))
    return (first,)


def _offender_age(rng: random.Random, relationship: str, victim_age: int | None) -> int | None:
    if relationship == Relationship.FRIEND_PEER:
        base = victim_age if victim_age is not None else 15
        return max(10, base + rng.randrange(-1, 4))
    ranges = {
        Relationship.INTIMATE_PARTNER: (16, 31),
        Relationship.FAMILY: (18, 56),
        Relationship.ACQUAINTANCE: (18, 51),
        Relationship.TEACHER_CAREGIVER: (24, 56),
        Relationship.ONLINE_ONLY: (18, 46),
        Relationship.STRANGER: (18, 51),
    }
    if relationship not in ranges or (
        relationship in (Relationship.ONLINE_ONLY, Relationship.STRANGER) and rng.random() < 0.6
    ):
        return None
    return rng.randrange(*ranges[relationship])


# --- Workflow ----------------------------------------------------------------------------------

REASONS = {
    Status.TRIAGED: "Synthetic demo: triage done.",
    Status.ASSIGNED: "Synthetic demo: assigned to a case worker.",
    Status.REFERRED: "Synthetic demo: referred to another agency.",
    Status.UNDER_INVESTIGATION: "Synthetic demo: investigation opened.",
    Status.WITH_PROSECUTOR: "Synthetic demo: file sent to the prosecutor.",
    Status.IN_COURT: "Synthetic demo: charges filed in court.",
    Status.CLOSED: "Synthetic demo: case closed.",
}
# What each receiving agency is given (the minimum it needs: decision 11) and on which grounds. The
# grounds alternate by the referral's minute (no random draw, so that the case plans stay the same):
# most referrals to the police and prosecutor rest on mandatory reporting, some on the family's consent;
# social welfare is always asked with consent.
REFERRAL_SHARES = {
    SERNIC: ("narrative", "victim_identity", "offender_identity", "evidence", "notes"),
    MGCAS: ("victim_identity", "caregiver_identity", "services", "notes"),
    PGR: ("narrative", "victim_identity", "offender_identity", "evidence", "justice", "interviews", "notes"),
    COURT: ("narrative", "victim_identity", "offender_identity", "evidence", "justice", "interviews"),
}
LEGAL_BASES = {
    SERNIC: ("criminal_offence", "Synthetic demo: sexual exploitation of a child is a public crime."),
    PGR: ("criminal_offence", "Synthetic demo: the investigation found a public crime."),
    COURT: ("court_order", "Synthetic demo: the prosecutor's order to bring the case to court."),
}


def referral_grounds(to_agency: str, at: dt.datetime) -> dict[str, Any]:
    """The consent fields of a demo referral: consent given, or a legal basis with its justification."""
    if to_agency in LEGAL_BASES and at.minute % 3 != 0:
        basis, justification = LEGAL_BASES[to_agency]
        child = "not_asked" if at.minute % 3 == 1 else "refused"
        return {
            "child_consent": child,
            "caregiver_consent": "not_asked",
            "legal_basis": basis,
            "justification": justification,
        }
    caregiver = "not_applicable" if at.minute % 5 == 0 else "given"
    return {"child_consent": "given", "caregiver_consent": caregiver, "legal_basis": "", "justification": ""}


REFERRAL_REASONS = {
    SERNIC: "Synthetic demo: needs criminal investigation.",
    MGCAS: "Synthetic demo: the child and family need social support.",
    PGR: "Synthetic demo: investigation complete, for the prosecutor.",
    COURT: "Synthetic demo: for the children's court.",
}


class _Walk:
    """Builds a case's steps; a move that would land after the horizon does not happen (the case stays)."""

    def __init__(self, rng: random.Random, spec: CaseSpec, horizon: dt.datetime) -> None:
        self.rng, self.spec, self.horizon = rng, spec, horizon
        self.t = spec.received_at
        self.steps: list[Step] = []

    def move(self, to: str, lo_days: float, hi_days: float, outcome: str = "") -> bool:
        # Skewed towards the short end: most cases move sooner, a few wait long.
        delay = lo_days + (hi_days - lo_days) * self.rng.random() ** 2
        at = (self.t + dt.timedelta(days=delay)).replace(microsecond=0)
        if at >= self.horizon:
            return False
        self.steps.append(TransitionSpec(to, at, REASONS[to], outcome))
        self.t = at
        return True

    def close(self, outcomes: Mapping[str, float], lo_days: float, hi_days: float) -> bool:
        return self.move(Status.CLOSED, lo_days, hi_days, _Weighted(outcomes).draw(self.rng))

    def refer(self, to_agency: str, by: str, accept: float = 0.9, pending: float = 0.05) -> str:
        r = self.rng.random()
        decision = "accepted" if r < accept else ("pending" if r < accept + pending else "declined")
        at = (self.t + dt.timedelta(minutes=5 + 55 * self.rng.random())).replace(microsecond=0)
        # The receiving agency answers within hours to a few days, never after the horizon.
        answer = at + dt.timedelta(hours=1 + 71 * self.rng.random() ** 2)
        decided_at = min(answer, self.horizon - dt.timedelta(minutes=1)).replace(microsecond=0)
        if at >= self.horizon or decided_at < at:
            decision, at, decided_at = "pending", min(at, self.horizon - dt.timedelta(minutes=2)), None
        self.steps.append(
            ReferralSpec(
                to_agency,
                REFERRAL_REASONS[to_agency],
                by,
                decision,
                DECIDER[to_agency] if decision != "pending" else "",
                at,
                decided_at if decision != "pending" else None,
                shared_fields=REFERRAL_SHARES[to_agency],
                urgency=self.spec.priority,
                **referral_grounds(to_agency, at),
            )
        )
        return decision


def _with_steps(rng: random.Random, spec: CaseSpec, horizon: dt.datetime) -> CaseSpec:
    w = _Walk(rng, spec, horizon)
    _walk(w, spec)
    return dataclasses.replace(spec, steps=tuple(w.steps))


def _walk(w: _Walk, spec: CaseSpec) -> None:
    """received → triaged → assigned/referred → under_investigation → with_prosecutor → in_court → closed,
    with fewer cases at each stage (closures and cases still waiting)."""
    rng, owner = w.rng, spec.owner
    r = rng.random()
    if r < 0.05:
        w.close({Outcome.DUPLICATE: 6, Outcome.NO_OFFENCE: 4}, 0.05, 3)
        return
    if r < 0.09 or not w.move(Status.TRIAGED, 0.02, 3):
        return
    if owner != SERNIC and rng.random() < 0.2:
        w.refer(MGCAS, CASE_WORKER[owner])

    r = rng.random()
    if r < 0.12:
        w.close({Outcome.SUPPORT_ONLY: 7, Outcome.NO_OFFENCE: 3}, 1, 14)
        return
    if r < 0.18:
        return  # still at triage
    refer_share = {HELPLINE: 0.65, GAFMVV: 0.4, NAMPULA_DESK: 0.4}.get(owner, 0.0)
    if rng.random() < refer_share:
        _referred_to_sernic(w, spec)
        return
    if not w.move(Status.ASSIGNED, 0.5, 10):
        return
    w.steps.append(AssignSpec(CASE_WORKER[owner]))
    r = rng.random()
    if owner == HELPLINE:  # the helpline counsels; it does not investigate
        if r < 0.65:
            w.close({Outcome.SUPPORT_ONLY: 8, Outcome.WITHDRAWN: 2}, 2, 30)
        elif r < 0.85:
            _referred_to_sernic(w, spec)
        return
    if r < 0.6:
        if w.move(Status.UNDER_INVESTIGATION, 2, 20):
            _investigation(w, spec)
    elif r < 0.85:
        w.close({Outcome.WITHDRAWN: 4, Outcome.NO_OFFENCE: 3, Outcome.SUPPORT_ONLY: 3}, 5, 60)


def _referred_to_sernic(w: _Walk, spec: CaseSpec) -> None:
    if not w.move(Status.REFERRED, 0.2, 5):
        return
    decision = w.refer(SERNIC, CASE_WORKER[spec.owner], accept=0.88, pending=0.06)
    if decision == "pending":
        return
    r = w.rng.random()
    if decision == "declined":
        if w.move(Status.ASSIGNED, 1, 10):
            w.steps.append(AssignSpec(CASE_WORKER[spec.owner]))
            if r < 0.7:
                w.close({Outcome.SUPPORT_ONLY: 8, Outcome.WITHDRAWN: 2}, 2, 30)
        return
    if r < 0.75:
        if w.move(Status.UNDER_INVESTIGATION, 2, 20):
            _investigation(w, spec)
    elif r < 0.9:
        w.close({Outcome.NO_OFFENCE: 5, Outcome.WITHDRAWN: 5}, 5, 45)


def _investigation(w: _Walk, spec: CaseSpec, sent_back: bool = False) -> None:
    rng = w.rng
    r = rng.random()
    if r < 0.4:
        if not w.move(Status.WITH_PROSECUTOR, 20, 150):
            return
        if not sent_back:
            w.refer(PGR, SUPERVISOR[spec.owner], accept=1.0, pending=0.0)
        _prosecution(w, spec, sent_back)
    elif r < 0.75:
        w.close({Outcome.NO_OFFENCE: 4, Outcome.WITHDRAWN: 4, Outcome.DISMISSED: 2}, 30, 200)


def _prosecution(w: _Walk, spec: CaseSpec, sent_back: bool) -> None:
    rng = w.rng
    r = rng.random()
    if r < 0.08 and not sent_back:
        if w.move(Status.UNDER_INVESTIGATION, 10, 60):
            _investigation(w, spec, sent_back=True)
        return
    if r < 0.55:
        if not w.move(Status.IN_COURT, 30, 180):
            return
        if spec.province == MAPUTO_CITY:
            w.refer(COURT, SUPERVISOR[spec.owner], accept=1.0, pending=0.0)
        if rng.random() < 0.7:
            w.close({Outcome.CONVICTED: 6, Outcome.ACQUITTED: 2.5, Outcome.DISMISSED: 1.5}, 60, 300)
    elif r < 0.8:
        w.close({Outcome.DISMISSED: 6, Outcome.WITHDRAWN: 4}, 20, 120)


# --- Signatures --------------------------------------------------------------------------------


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def case_content(spec: CaseSpec) -> dict[str, Any]:
    """A case's content in a form that the database can be compared against (no ids or references)."""
    referrals = [s for s in spec.steps if isinstance(s, ReferralSpec)]
    assigned = [s.username for s in spec.steps if isinstance(s, AssignSpec)]
    return {
        "received_at": _utc(spec.received_at),
        "channel": spec.channel,
        "owner": spec.owner,
        "province": spec.province,
        "district": spec.district,
        "forms": sorted(spec.forms),
        "platforms": sorted(spec.platforms),
        "mode": spec.mode,
        "priority": spec.priority,
        "risk_flags": list(spec.risk_flags),
        "incident_date": spec.incident_date.isoformat() if spec.incident_date else None,
        "incident_date_precision": spec.incident_date_precision,
        "narrative": spec.narrative,
        "status": spec.status,
        "outcome": spec.outcome,
        "assigned_to": assigned[-1] if assigned else None,
        "persons": sorted(person_content(p) for p in spec.persons),
        "transitions": [
            [s.to_status, s.outcome, _utc(s.at), s.reason]
            for s in spec.steps
            if isinstance(s, TransitionSpec)
        ],
        "referrals": sorted([r.to_agency, r.decision] for r in referrals),
    }


def person_content(p: PersonSpec) -> list[Any]:
    return [
        p.role, p.name, p.phone, p.age if p.age is not None else -1, p.birth_year or 0, p.sex,
        str(p.disability), str(p.in_school), p.language, p.relationship, str(p.known_to_child), list(p.disclosure),
    ]  # fmt: skip


def signature(contents: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 over the cases' contents, independent of their order."""
    lines = sorted(json.dumps(c, sort_keys=True, ensure_ascii=False) for c in contents)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def plan_signature(plan: Sequence[CaseSpec]) -> str:
    return signature([case_content(c) for c in plan])
