"""The indicator registry: what the observatory measures, defined in code.

Each indicator has a stable code (``OCSEA.REPORTS.RECEIVED``) that never changes meaning; a change
of definition bumps its ``version``. Names and definitions are English msgids translated through
Django i18n. ``kind`` tells :mod:`amparo.observatory.compute` how to compute it; an indicator
whose data source does not exist yet is registered with ``available=False`` and a note, and is
never given a number.

Disaggregations (``by``) are codes of :data:`DIMENSIONS`. Some are *multi-valued*: a case may have
several OCSEA forms or platforms and a child may have told several people, so the rows of such a
breakdown count mentions and their sum is not the number of cases or children.

Other apps add their own indicators from their ``AppConfig.ready()``: :func:`register_indicator`
(an indicator with a ``kind`` of its own and the function that gives its population to count, see
:func:`amparo.observatory.queries._source`) and, for a breakdown the observatory does not know,
:func:`register_dimension` (its label and categories). The observatory never imports them; their
figures go through the same computation and disclosure control as the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Disaggregations an indicator may allow. "period" is always implied by the period asked for.
PERIOD: Final = "period"
PROVINCE: Final = "province"
DISTRICT: Final = "district"
FORM: Final = "form"
PLATFORM: Final = "platform"
CHANNEL: Final = "channel"
SEX: Final = "sex"
AGE_BAND: Final = "age_band"
RELATIONSHIP: Final = "relationship"
DISCLOSURE: Final = "disclosure"
KNOWN: Final = "known"  # offender known / unknown to the child
AREA: Final = "area"  # inside / outside the provincial capital (training)
STAGE: Final = "stage"  # attrition funnel stage
LANGUAGE: Final = "language"  # one of settings.LANGUAGES
SETTLEMENT: Final = "settlement"  # urban or rural

DIMENSIONS: Final[dict[str, Promise]] = {
    PERIOD: _("Period"),
    PROVINCE: _("Province"),
    DISTRICT: _("District"),
    FORM: _("OCSEA form"),
    PLATFORM: _("Platform"),
    CHANNEL: _("Channel"),
    SEX: _("Sex"),
    AGE_BAND: _("Age band"),
    RELATIONSHIP: _("Offender's relationship to the child"),
    DISCLOSURE: _("Whom the child told"),
    KNOWN: _("Offender known to the child"),
    AREA: _("Inside or outside the provincial capital"),
    STAGE: _("Stage"),
    LANGUAGE: _("Language"),
    SETTLEMENT: _("Urban or rural"),
}
# Breakdowns whose rows may overlap (one record counted in several rows).
MULTI_VALUED: Final = frozenset({FORM, PLATFORM, DISCLOSURE})

COUNT: Final = "count"
PERCENT: Final = "percent"
DAYS: Final = "days"
PERSONS: Final = "persons"

UNITS: Final[dict[str, Promise]] = {
    COUNT: _("count"),
    PERCENT: _("percent"),
    DAYS: _("days (median)"),
    PERSONS: _("persons"),
}

SOURCE_CASES: Final = _(
    "Case records (cases app): cases, persons, status changes, referrals, justice events and rights "
    "package deliveries. A duplicate merged into another case is not counted."
)
SOURCE_TRAINING: Final = _("Training register of the national action tracker.")
SOURCE_EVIDENCE: Final = _("Evidence vault: known-material hash matches.")
SOURCE_TAKEDOWN: Final = _("Evidence app: take-down notices sent to platforms and their answers.")


class UnknownIndicator(LookupError):
    """No indicator has that code; `amparo indicators list` shows the codes."""


@dataclass(frozen=True, kw_only=True)
class Indicator:
    code: str
    name: Promise
    definition: Promise
    numerator: Promise
    denominator: Promise | None = None  # counts and medians have none; shares name theirs
    unit: str
    disaggregations: tuple[str, ...]
    source: Promise
    version: str = "1"  # raise it when the definition or the computation changes
    # Version history: "2" for every case indicator: a duplicate merged into another case is no
    # longer counted; the funnel and the days to investigation, charge and verdict also count the
    # justice events that mark those steps. "3" for OCSEA.INTL.ACTED_ON: a justice event
    # opening an investigation also counts as acting on the referral; for OCSEA.FUNNEL: a verdict of
    # any kind recorded as a justice event means the case reached court.
    kind: str
    available: bool = True
    note: Promise | str = ""
    # False for a stock or a rolling window (people subscribed at the end of the period, districts
    # reached in the 12 months up to it): a quarter or a year is then computed at its own end, not
    # summed from its months.
    additive: bool = True
    # A two-way view published with the others, whose margins are then the one-way views of its two
    # disaggregations (protected as one table, like a page that shows the cross-tabulation).
    cross: tuple[str, str] | None = None

    @property
    def has_rate(self) -> bool:
        return self.denominator is not None and self.unit == PERCENT

    @property
    def is_median(self) -> bool:
        return self.unit == DAYS

    def allows(self, by: tuple[str, ...]) -> bool:
        return all(d in self.disaggregations for d in by) and len(set(by)) == len(by)


_PLACE = (PROVINCE, DISTRICT)
_CASE_DIMS = (*_PLACE, CHANNEL)

INDICATORS: Final[tuple[Indicator, ...]] = (
    Indicator(
        code="OCSEA.REPORTS.RECEIVED",
        name=_("Reports received"),
        definition=_(
            "Reports of online child sexual exploitation and abuse received in the period, by the date "
            "they were received, whatever their outcome. By province and district this is also the "
            "number of cases per area."
        ),
        numerator=_("Cases received in the period."),
        unit=COUNT,
        disaggregations=_CASE_DIMS,
        source=SOURCE_CASES,
        version="2",
        kind="cases",
    ),
    Indicator(
        code="OCSEA.CASES.FORM",
        name=_("Cases by OCSEA form"),
        definition=_(
            "Cases received in the period, by form of online child sexual exploitation and abuse. "
            "A case with several forms is counted under each of them."
        ),
        numerator=_("Mentions of each form among cases received in the period."),
        unit=COUNT,
        disaggregations=(FORM, PROVINCE),
        source=SOURCE_CASES,
        version="2",
        kind="case_forms",
    ),
    Indicator(
        code="OCSEA.CASES.PLATFORM",
        name=_("Cases by platform"),
        definition=_(
            "Cases received in the period, by the platform or service where the abuse took place. "
            "A case involving several platforms is counted under each of them."
        ),
        numerator=_("Mentions of each platform among cases received in the period."),
        unit=COUNT,
        disaggregations=(PLATFORM, PROVINCE),
        source=SOURCE_CASES,
        version="2",
        kind="case_platforms",
    ),
    Indicator(
        code="OCSEA.VICTIMS.CHILD",
        name=_("Child victims"),
        definition=_(
            "Children (under 18, or of unrecorded age) recorded as victims in cases received in the period."
        ),
        numerator=_("Persons with the role victim, not recorded as adults, in cases received in the period."),
        unit=PERSONS,
        disaggregations=(SEX, AGE_BAND, PROVINCE, DISTRICT),
        source=SOURCE_CASES,
        version="2",
        kind="victims",
    ),
    Indicator(
        code="OCSEA.OFFENDERS.KNOWN",
        name=_("Offenders known or unknown to the child"),
        definition=_(
            "Offenders recorded in cases received in the period, by whether the child knew them: known "
            "when so recorded or when the relationship is family, partner, friend, acquaintance, teacher "
            "or caregiver; unknown when so recorded or when the relationship is a stranger or an "
            "online-only contact."
        ),
        numerator=_("Persons with the role offender in cases received in the period."),
        unit=PERSONS,
        disaggregations=(KNOWN, RELATIONSHIP, PROVINCE),
        source=SOURCE_CASES,
        version="2",
        kind="offenders",
    ),
    Indicator(
        code="OCSEA.VICTIMS.DISCLOSURE",
        name=_("Whom child victims told"),
        definition=_(
            "Child victims in cases received in the period, by whom they told about the abuse. A child "
            "who told several people is counted under each of them."
        ),
        numerator=_("Mentions of each kind of person told, among child victims."),
        unit=PERSONS,
        disaggregations=(DISCLOSURE,),
        source=SOURCE_CASES,
        version="2",
        kind="disclosure",
    ),
    Indicator(
        code="OCSEA.VICTIMS.TOLD_NO_ONE",
        name=_("Share of child victims who told no one"),
        definition=_(
            "Of the child victims in cases received in the period whose disclosure is recorded, the "
            "share who had told no one."
        ),
        numerator=_("Child victims who had told no one."),
        denominator=_("Child victims whose disclosure is recorded."),
        unit=PERCENT,
        disaggregations=(SEX, AGE_BAND, PROVINCE),
        source=SOURCE_CASES,
        version="2",
        kind="told_no_one",
    ),
    Indicator(
        code="OCSEA.REFERRAL.POLICE_72H",
        name=_("Share of reports that reached the police within 72 hours"),
        definition=_(
            "Of the reports received in the period, the share received by a police or criminal "
            "investigation agency, or referred to one (whatever its answer), within 72 hours of being "
            "received."
        ),
        numerator=_("Reports received by, or referred to, the police within 72 hours."),
        denominator=_("Reports received in the period."),
        unit=PERCENT,
        disaggregations=_CASE_DIMS,
        source=SOURCE_CASES,
        version="2",
        kind="police_72h",
    ),
    Indicator(
        code="OCSEA.DAYS.REFERRAL",
        name=_("Median days from report to referral"),
        definition=_(
            "Median number of days between receiving a report and its first referral to another "
            "agency, for cases first referred in the period."
        ),
        numerator=_("Days from report to first referral."),
        unit=DAYS,
        disaggregations=_CASE_DIMS,
        source=SOURCE_CASES,
        version="2",
        kind="median_referral",
    ),
    Indicator(
        code="OCSEA.DAYS.INVESTIGATION",
        name=_("Median days from report to investigation"),
        definition=_(
            "Median number of days between receiving a report and the case first going under "
            "investigation (a change of status, or a justice event recording that an investigation was "
            "opened, whichever came first), for cases that did so in the period."
        ),
        numerator=_(
            "Days from report to the first change of status to under investigation, or the opening of an investigation."
        ),
        unit=DAYS,
        disaggregations=_CASE_DIMS,
        source=SOURCE_CASES,
        version="2",
        kind="median_investigation",
    ),
    Indicator(
        code="OCSEA.DAYS.CHARGE",
        name=_("Median days from report to charge"),
        definition=_(
            "Median number of days between receiving a report and the case first going to the "
            "prosecutor (a change of status, or a justice event recording that charges were filed, "
            "whichever came first), for cases that did so in the period."
        ),
        numerator=_(
            "Days from report to the first change of status to with prosecutor, or the filing of charges."
        ),
        unit=DAYS,
        disaggregations=_CASE_DIMS,
        source=SOURCE_CASES,
        version="2",
        kind="median_charge",
    ),
    Indicator(
        code="OCSEA.DAYS.VERDICT",
        name=_("Median days from report to verdict"),
        definition=_(
            "Median number of days between receiving a report and a verdict (the case closed as "
            "convicted or acquitted, or a justice event recording a conviction or an acquittal, "
            "whichever came first), for verdicts given in the period."
        ),
        numerator=_("Days from report to the first verdict."),
        unit=DAYS,
        disaggregations=_CASE_DIMS,
        source=SOURCE_CASES,
        version="2",
        kind="median_verdict",
    ),
    Indicator(
        code="OCSEA.FUNNEL",
        name=_("Attrition funnel"),
        definition=_(
            "Of the reports received in the period, how many have reached each stage so far: "
            "investigation, prosecution, court and conviction. A case reaches a stage by a change of "
            "status or by the matching justice event (investigation opened, charges filed, court case "
            "registered or any verdict for the court, a verdict of conviction for conviction)."
        ),
        numerator=_("Reports received in the period that have reached the stage."),
        denominator=_("Reports received in the period."),
        unit=PERCENT,
        disaggregations=(STAGE,),
        source=SOURCE_CASES,
        version="3",
        kind="funnel",
    ),
    Indicator(
        code="OCSEA.INTL.RECEIVED",
        name=_("International referrals received"),
        definition=_(
            "Reports received in the period through the international referral channel: NCMEC "
            "CyberTipline reports imported into Amparo, and referrals from a foreign police force or "
            "a hotline network."
        ),
        numerator=_("Cases received through the international channel."),
        unit=COUNT,
        disaggregations=_PLACE,
        source=SOURCE_CASES,
        version="2",
        kind="intl_received",
    ),
    Indicator(
        code="OCSEA.INTL.ACTED_ON",
        name=_("Share of international referrals acted on"),
        definition=_(
            "Of the international referrals received in the period (CyberTipline reports included), "
            "the share that have gone under investigation (a change of status, or a justice event "
            "recording that an investigation was opened) or been referred to another agency."
        ),
        numerator=_("International referrals investigated or referred on."),
        denominator=_("International referrals received in the period."),
        unit=PERCENT,
        disaggregations=_PLACE,
        source=SOURCE_CASES,
        version="3",
        kind="intl_acted",
        note=_(
            "Partial: only investigation and referral are recorded as action; replies to the foreign "
            "sender are not recorded yet."
        ),
    ),
    Indicator(
        code="OCSEA.HASH.MATCHES",
        name=_("Known-material hash matches"),
        definition=_(
            "Cases with at least one evidence item that matched a list of known child sexual abuse "
            "material, by the date of the first match in the period."
        ),
        numerator=_("Cases with a first known-material match in the period."),
        unit=COUNT,
        disaggregations=(PROVINCE,),
        source=SOURCE_EVIDENCE,
        version="2",
        kind="hash_matches",
    ),
    Indicator(
        code="OCSEA.DAYS.REMOVAL",
        name=_("Median days to content removal"),
        definition=_(
            "Median number of days between a removal request to a platform and the content being taken "
            "down, for content taken down in the period."
        ),
        numerator=_("Days from removal request to removal, for each take-down notice."),
        unit=DAYS,
        disaggregations=(PLATFORM,),
        source=SOURCE_TAKEDOWN,
        version="2",
        kind="median_removal",
    ),
    Indicator(
        code="OCSEA.VICTIMS.RIGHTS_INFO",
        name=_("Share of child victims who received the rights information package"),
        definition=_(
            "Of the child victims in cases received in the period, the share who were given the "
            "information package on their rights: a delivery recorded for the child, for their "
            "caregiver, or for the case without naming a person."
        ),
        numerator=_("Child victims given the rights information package."),
        denominator=_("Child victims in cases received in the period."),
        unit=PERCENT,
        disaggregations=(SEX, AGE_BAND, PROVINCE),
        source=SOURCE_CASES,
        version="2",
        kind="rights_info",
    ),
    Indicator(
        code="OCSEA.TRAINING.OFFICERS",
        name=_("Trained officers"),
        definition=_(
            "People trained on online child sexual exploitation and abuse in sessions held in the "
            "period, by the province where they work and by whether the session was held in a "
            "provincial capital."
        ),
        numerator=_("Participants in training sessions held in the period."),
        unit=PERSONS,
        disaggregations=(PROVINCE, AREA),
        source=SOURCE_TRAINING,
        kind="training",
    ),
)

REGISTRY: Final[dict[str, Indicator]] = {indicator.code: indicator for indicator in INDICATORS}

# Registered by other apps (see the module docstring): kind -> source function, and the categories
# of the breakdowns they add.
SourceFunction = Callable[[Indicator, Any, Any], Any]  # (indicator, Period, Agency | None) -> compute.Source
_SOURCES: dict[str, SourceFunction] = {}
_DIMENSION_CATEGORIES: dict[str, Callable[[], list[tuple[str, str]]]] = {}
_BUILT_IN_KINDS: Final = frozenset(indicator.kind for indicator in INDICATORS)


def register_indicator(indicator: Indicator, source: SourceFunction) -> None:
    """Add another app's indicator to the registry (call it from ``AppConfig.ready()``).

    ``indicator.kind`` must be its own; ``source(indicator, period, agency)`` returns a
    :class:`amparo.observatory.queries.Source`: the population to count (a queryset), the expression
    of each disaggregation the indicator allows, the measure (a count by default) and, for a share
    (``unit=PERCENT`` with a denominator), the expression that is true for the numerator. Calling it
    again for the same code and kind replaces the entry (``ready()`` may run more than once).
    """
    if indicator.kind in _BUILT_IN_KINDS:
        raise ImproperlyConfigured(f"indicator kind {indicator.kind!r} is the observatory's own")
    known = REGISTRY.get(indicator.code)
    if known is not None and known.kind != indicator.kind:
        raise ImproperlyConfigured(f"indicator code {indicator.code!r} is already registered")
    unknown = set(indicator.disaggregations) - set(DIMENSIONS)
    if unknown:
        raise ImproperlyConfigured(f"{indicator.code}: register the disaggregations {sorted(unknown)} first")
    if indicator.cross is not None and not indicator.allows(indicator.cross):
        raise ImproperlyConfigured(f"{indicator.code}: its cross view must use two of its disaggregations")
    REGISTRY[indicator.code] = indicator
    _SOURCES[indicator.kind] = source


def register_dimension(code: str, label: Promise, categories: Callable[[], list[tuple[str, str]]]) -> None:
    """Add a disaggregation: its label and a function giving its (code, translated label) pairs in
    display order, every category included (tables list zeros too)."""
    if code in DIMENSIONS and code not in _DIMENSION_CATEGORIES:
        raise ImproperlyConfigured(f"disaggregation {code!r} is the observatory's own")
    DIMENSIONS[code] = label
    _DIMENSION_CATEGORIES[code] = categories


def source_for(kind: str) -> SourceFunction | None:
    """The source function another app registered for ``kind``, or None."""
    return _SOURCES.get(kind)


def registered_categories(dimension: str) -> list[tuple[str, str]] | None:
    """The categories of a disaggregation another app registered, or None."""
    found = _DIMENSION_CATEGORIES.get(dimension)
    return None if found is None else found()


def get(code: str) -> Indicator:
    try:
        return REGISTRY[code]
    except KeyError:
        raise UnknownIndicator(code) from None


def all_indicators() -> list[Indicator]:
    """The built-in indicators, then those other apps registered, in registration order."""
    return list(REGISTRY.values())
