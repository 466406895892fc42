"""The justice chain (investigation to verdict and compensation), child interviews, and
preservation and disclosure requests to service providers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amparo.cases.models.records import Case, Person, SyncedModel
from amparo.core.fields import EncryptedTextField


class JusticeEventKind(models.TextChoices):
    INVESTIGATION_OPENED = "investigation_opened", _("Investigation opened")
    SUSPECT_IDENTIFIED = "suspect_identified", _("Suspect identified")
    SUSPECT_ARRESTED = "suspect_arrested", _("Suspect arrested")
    CHARGES_FILED = "charges_filed", _("Charges filed")
    CASE_ARCHIVED = "case_archived", _("Investigation archived (no charges)")
    COURT_CASE_REGISTERED = "court_case_registered", _("Court case registered")
    HEARING = "hearing", _("Hearing")
    VERDICT = "verdict", _("Verdict")
    SENTENCE = "sentence", _("Sentence")
    APPEAL = "appeal", _("Appeal")
    COMPENSATION_ORDERED = "compensation_ordered", _("Compensation ordered")
    COMPENSATION_PAID = "compensation_paid", _("Compensation paid")


class Verdict(models.TextChoices):
    NONE = "", _("—")
    CONVICTED = "convicted", _("Convicted")
    ACQUITTED = "acquitted", _("Acquitted")
    DISMISSED = "dismissed", _("Dismissed")


class JusticeEvent(SyncedModel):
    """One step of the justice chain. Attrition from report to verdict is measured from these."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="justice_events")
    kind = models.CharField(_("event"), max_length=24, choices=JusticeEventKind.choices)
    occurred_at = models.DateTimeField(_("date"))
    court_case_number = models.CharField(_("court case number"), max_length=64, blank=True)
    court_name = models.CharField(_("court"), max_length=200, blank=True)
    verdict = models.CharField(_("verdict"), max_length=12, choices=Verdict.choices, blank=True, default="")
    sentence = models.CharField(_("sentence"), max_length=300, blank=True)
    amount_mzn = models.DecimalField(
        _("amount (MZN)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    details = EncryptedTextField(_("details"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["occurred_at", "created_at"]
        verbose_name = _("justice event")
        verbose_name_plural = _("justice events")
        indexes = [models.Index(fields=["kind", "occurred_at"])]

    def __str__(self) -> str:
        return self.kind


class Interview(SyncedModel):
    """An interview of a child. Recorded interviews need not be repeated; the case page warns
    before another interview of the same child."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="interviews")
    person = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="interviews"
    )
    occurred_at = models.DateTimeField(_("date"))
    interviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    interviewer_name = models.CharField(_("interviewer"), max_length=200, blank=True)
    interviewer_trained = models.BooleanField(_("interviewer trained in interviewing children"))
    support_person_present = models.BooleanField(_("support person present"))
    support_person_role = models.CharField(_("support person (role)"), max_length=100, blank=True)
    recorded = models.BooleanField(_("recorded (audio or video)"))
    recording_reference = models.CharField(_("where the recording is kept"), max_length=200, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    notes = EncryptedTextField(_("notes"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["occurred_at", "created_at"]
        verbose_name = _("interview")
        verbose_name_plural = _("interviews")

    def __str__(self) -> str:
        return f"interview {self.pk}"


class ProviderKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile operator")
    PLATFORM = "platform", _("Online platform")
    ISP = "isp", _("Internet provider")
    OTHER = "other", _("Other provider")


class ServiceProvider(models.Model):
    """A company that can be asked to preserve or disclose data (configurable in the admin)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=12, choices=ProviderKind.choices)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    address = models.TextField(_("address for legal requests"), blank=True)
    email = models.EmailField(_("e-mail for legal requests"), blank=True)
    portal = models.CharField(_("law-enforcement portal"), max_length=200, blank=True)
    response_days = models.PositiveSmallIntegerField(_("days allowed to answer"), default=30)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("service provider")
        verbose_name_plural = _("service providers")

    def __str__(self) -> str:
        return self.name


class PreservationKind(models.TextChoices):
    PRESERVATION = "preservation", _("Preservation request")
    DISCLOSURE = "disclosure", _("Disclosure request")


class PreservationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged by the provider")
    FULFILLED = "fulfilled", _("Fulfilled")
    PARTIAL = "partial", _("Partly fulfilled")
    REFUSED = "refused", _("Refused")
    EXPIRED = "expired", _("Expired without answer")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class PreservationRequest(SyncedModel):
    """A request to a provider to preserve (or disclose) data about identifiers in a date range."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="preservation_requests")
    provider = models.ForeignKey(ServiceProvider, on_delete=models.PROTECT, related_name="requests")
    kind = models.CharField(_("kind"), max_length=16, choices=PreservationKind.choices)
    number = models.CharField(_("request number"), max_length=32, unique=True)
    # One identifier per line (phone numbers, account names, URLs, IP addresses): encrypted.
    identifiers = EncryptedTextField(_("identifiers"))
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"))
    legal_basis = models.TextField(_("legal basis"))
    status = models.CharField(
        _("status"), max_length=16, choices=PreservationStatus.choices, default=PreservationStatus.DRAFT
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    deadline = models.DateField(_("answer due"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answer_note = EncryptedTextField(_("answer"))
    last_reminder_at = models.DateTimeField(_("last reminder"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("preservation request")
        verbose_name_plural = _("preservation requests")
        indexes = [models.Index(fields=["status", "deadline"]), models.Index(fields=["provider", "status"])]

    def __str__(self) -> str:
        return self.number
