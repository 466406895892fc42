"""The service directory (by district) and referrals of a child or family to a service."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amparo.cases.models.records import Case, Person, SyncedModel
from amparo.core.fields import EncryptedTextField
from amparo.core.models import Agency, District, Province


class ServiceKind(models.TextChoices):
    HELPLINE = "helpline", _("Helpline")
    FAMILY_DESK = "family_desk", _("Family and minors help-desk (police)")
    INTEGRATED_CENTRE = "integrated_centre", _("Integrated assistance centre (hospital)")
    HEALTH = "health", _("Health care")
    PSYCHOSOCIAL = "psychosocial", _("Psychosocial support")
    LEGAL_AID = "legal_aid", _("Legal aid")
    SHELTER = "shelter", _("Shelter")
    SOCIAL_WELFARE = "social_welfare", _("Social welfare office")
    OTHER = "other", _("Other service")


class Service(SyncedModel):
    """A service a child or family can be sent to. National services have no district; demo entries are
    marked and never shown outside the demo."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=24, choices=ServiceKind.choices)
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("run by agency")
    )
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("province")
    )
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("district")
    )
    is_national = models.BooleanField(_("serves the whole country"), default=False)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    hours = models.CharField(_("opening hours"), max_length=200, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    free_of_charge = models.BooleanField(_("free of charge"), default=True)
    notes = models.TextField(_("notes"), blank=True)
    is_demo = models.BooleanField(_("demo entry"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("service")
        verbose_name_plural = _("services")
        indexes = [models.Index(fields=["district", "kind"]), models.Index(fields=["province", "kind"])]

    def __str__(self) -> str:
        return self.name


class ServiceOutcome(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    RECEIVED = "received", _("Service received")
    NOT_ATTENDED = "not_attended", _("Did not attend")
    DECLINED_BY_FAMILY = "declined_by_family", _("Declined by the child or family")
    NOT_AVAILABLE = "not_available", _("Service not available")
    UNKNOWN = "unknown", _("Outcome unknown")


class ServiceReferral(SyncedModel):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="service_referrals")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="referrals")
    person = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="service_referrals"
    )
    reason = EncryptedTextField(_("reason"))
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    referred_at = models.DateTimeField(_("referred"))
    outcome = models.CharField(
        _("outcome"), max_length=24, choices=ServiceOutcome.choices, default=ServiceOutcome.PENDING
    )
    outcome_note = EncryptedTextField(_("outcome note"))
    outcome_at = models.DateTimeField(_("outcome recorded"), null=True, blank=True)

    class Meta:
        ordering = ["referred_at", "created_at"]
        verbose_name = _("service referral")
        verbose_name_plural = _("service referrals")

    def __str__(self) -> str:
        return f"service referral {self.pk}"
