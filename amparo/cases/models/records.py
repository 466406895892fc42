"""The OCSEA case record: cases, the people linked to them, notes, status transitions and
inter-agency referrals.

Records a district office may create offline have UUID keys, created/updated times and an
`origin` (the installation that created them), so that district nodes can synchronise later.
Identifying data (names, phones, addresses, free text) is encrypted at rest; blind indexes
allow exact-match look-ups without decrypting.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amparo.cases.taxonomy import (
    TAXONOMY_VERSION,
    AgeBand,
    Disclosure,
    Form,
    Mode,
    Platform,
    Relationship,
    Sex,
)
from amparo.cases.workflow import Outcome, Status
from amparo.core.fields import EncryptedTextField
from amparo.core.models import Agency, District, Province
from amparo.lib import normalise

# Crockford's base32 without I, L, O, U: unambiguous when read aloud or typed.
_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference() -> str:
    """A random case reference such as 'AMP-7K3Q-X9D2' (40 random bits; reveals no count or order)."""
    chars = "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))
    return f"AMP-{chars[:4]}-{chars[4:]}"


def default_origin() -> str:
    return settings.ORIGIN


class SyncedModel(models.Model):
    """Base for records that a district node may create offline."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    origin = models.CharField(_("origin"), max_length=64, default=default_origin, editable=False)

    class Meta:
        abstract = True


class Channel(models.TextChoices):
    WEB = "web", _("Web form")
    SMS = "sms", _("SMS")
    USSD = "ussd", _("USSD")
    HELPLINE = "helpline", _("Helpline call")
    DESK = "desk", _("Agency desk (walk-in)")
    INDUSTRY = "industry", _("Industry report")
    INTERNATIONAL = "international", _("International referral")
    OTHER = "other", _("Other channel")


class Priority(models.TextChoices):
    IMMEDIATE = "immediate", _("Immediate danger")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


PRIORITY_ORDER = {Priority.IMMEDIATE: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class DatePrecision(models.TextChoices):
    EXACT = "exact", _("Exact date")
    MONTH = "month", _("Month known")
    YEAR = "year", _("Year known")
    APPROXIMATE = "approximate", _("Approximate")


class Case(SyncedModel):
    reference = models.CharField(
        _("reference"), max_length=16, unique=True, default=new_reference, editable=False
    )
    channel = models.CharField(_("channel of origin"), max_length=16, choices=Channel.choices)
    owning_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="owned_cases", verbose_name=_("owning agency")
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_cases",
        verbose_name=_("assigned to"),
    )
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    priority = models.CharField(
        _("priority"), max_length=12, choices=Priority.choices, default=Priority.NORMAL, db_index=True
    )
    taxonomy_version = models.CharField(_("taxonomy version"), max_length=16, default=TAXONOMY_VERSION)
    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices, default=Mode.UNKNOWN)
    received_at = models.DateTimeField(_("received"), db_index=True)
    incident_date = models.DateField(_("incident date"), null=True, blank=True)
    incident_date_precision = models.CharField(
        _("incident date precision"),
        max_length=12,
        choices=DatePrecision.choices,
        default=DatePrecision.APPROXIMATE,
    )
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("province")
    )
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("district")
    )
    narrative = EncryptedTextField(_("narrative"))
    risk_flags = models.JSONField(_("risk flags"), default=list, blank=True)
    is_demo = models.BooleanField(_("synthetic demo case"), default=False)
    # Time limits (amparo.cases.deadlines): due times follow the priority's targets; a case is
    # acknowledged when first triaged or assigned, and acted on when referred, investigated or closed.
    acknowledge_due_at = models.DateTimeField(_("acknowledge by"), null=True, blank=True)
    action_due_at = models.DateTimeField(_("act by"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    actioned_at = models.DateTimeField(_("acted on"), null=True, blank=True)
    # A duplicate merged into another case stays in the database (un-merge restores it).
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_cases",
        verbose_name=_("merged into"),
    )
    merged_at = models.DateTimeField(_("merged"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["owning_agency", "status"]),
            models.Index(fields=["province", "received_at"]),
            models.Index(fields=["owning_agency", "acknowledged_at", "acknowledge_due_at"]),
            models.Index(fields=["owning_agency", "actioned_at", "action_due_at"]),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def form_codes(self) -> list[str]:
        return [f.form for f in self.forms.all()]

    @property
    def platform_codes(self) -> list[str]:
        return [p.platform for p in self.platforms.all()]


class CaseForm(models.Model):
    """One OCSEA form of a case (a case may have several)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="forms")
    form = models.CharField(_("form"), max_length=32, choices=Form.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "form"], name="unique_case_form")]
        indexes = [models.Index(fields=["form"])]

    def __str__(self) -> str:
        return self.form


class CasePlatform(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="platforms")
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "platform"], name="unique_case_platform")]
        indexes = [models.Index(fields=["platform"])]

    def __str__(self) -> str:
        return self.platform


class PersonRole(models.TextChoices):
    VICTIM = "victim", _("Victim")
    OFFENDER = "offender", _("Offender")
    REPORTER = "reporter", _("Reporter")
    CAREGIVER = "caregiver", _("Caregiver")


def _name_index_value(person: Person) -> str:
    """'' (no index) for a blank name, so that an empty look-up never lists everyone without one."""
    return (
        normalise.name_and_birth_year(person.name, person.birth_year) if normalise.name(person.name) else ""
    )


def _phone_index_value(person: Person) -> str:
    return normalise.phone(person.phone)


class Person(SyncedModel):
    """A person linked to a case. Name, phone and address are encrypted; the rest is not identifying alone."""

    # Blind indexes and the normalised value each one is computed from (see amparo.core.keys).
    BLIND_INDEXES = {"name_index": _name_index_value, "phone_index": _phone_index_value}

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="persons")
    role = models.CharField(_("role in the case"), max_length=12, choices=PersonRole.choices)
    name = EncryptedTextField(_("name"))
    phone = EncryptedTextField(_("phone"))
    address = EncryptedTextField(_("address"))
    name_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    age = models.PositiveSmallIntegerField(_("age"), null=True, blank=True)
    age_band = models.CharField(_("age band"), max_length=8, choices=AgeBand.choices, default=AgeBand.UNKNOWN)
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    disability = models.BooleanField(_("has a disability"), null=True, blank=True)
    in_school = models.BooleanField(_("in school"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    relationship = models.CharField(
        _("relationship to the child"), max_length=20, choices=Relationship.choices, blank=True
    )
    known_to_child = models.BooleanField(_("known to the child"), null=True, blank=True)
    disclosure = models.JSONField(_("whom the child told"), default=list, blank=True)

    class Meta:
        ordering = ["role", "created_at"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")

    def __str__(self) -> str:
        return f"{self.get_role_display()} ({self.pk})"


# Fields of a person or case that identify someone: shown only to identity roles.
IDENTIFYING_PERSON_FIELDS = ("name", "phone", "address")
IDENTIFYING_CASE_FIELDS = ("narrative",)

DISCLOSURE_CODES = frozenset(Disclosure.values)
FORM_CODES = frozenset(Form.values)
PLATFORM_CODES = frozenset(Platform.values)


class CaseNote(SyncedModel):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    text = EncryptedTextField(_("note"))

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"note {self.pk}"


class Transition(SyncedModel):
    """A change of status: who, when, why. Durations and attrition are measured from these."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=24, choices=Status.choices)
    to_status = models.CharField(max_length=24, choices=Status.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    reason = EncryptedTextField(_("reason"))
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["at", "created_at"]
        # Durations and the attrition funnel are measured from transitions (the observatory).
        indexes = [models.Index(fields=["to_status", "at"]), models.Index(fields=["case", "to_status", "at"])]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    REVOKED = "revoked", _("Revoked")


class Referral(SyncedModel):
    """A case referred from one agency to another. Only an accepted referral grants access."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="referrals")
    from_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="referrals_made")
    to_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="referrals_received")
    status = models.CharField(
        max_length=12, choices=ReferralStatus.choices, default=ReferralStatus.PENDING, db_index=True
    )
    reason = EncryptedTextField(_("reason"))
    urgency = models.CharField(_("urgency"), max_length=12, choices=Priority.choices, default=Priority.NORMAL)
    # What the receiving agency may see beyond the non-identifying case facts (ShareableField codes).
    shared_fields = models.JSONField(_("information shared"), default=list, blank=True)
    consent = models.ForeignKey(
        "cases.ConsentRecord",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name=_("consent or legal basis"),
    )
    respond_by = models.DateTimeField(_("answer by"), null=True, blank=True)
    decision_reason = EncryptedTextField(_("reason for the decision"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["to_agency", "status"]), models.Index(fields=["case", "created_at"])]

    def __str__(self) -> str:
        return f"referral {self.pk} ({self.status})"
