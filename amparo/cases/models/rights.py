"""Delivery of the victim rights information package (amparo.cases.rights builds its texts)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amparo.cases.models.records import Case, Person, SyncedModel


class RightsAudience(models.TextChoices):
    CHILD = "child", _("The child")
    CAREGIVER = "caregiver", _("The caregiver")


class DeliveryMethod(models.TextChoices):
    PRINTED = "printed", _("Printed and handed over")
    SMS = "sms", _("By SMS")
    WEB = "web", _("Web page opened with the receipt")
    VERBAL = "verbal", _("Explained in person")
    PHONE = "phone", _("Explained by phone")
    EMAIL = "email", _("By e-mail")


class RightsDelivery(SyncedModel):
    """That (and how, when, to whom) the rights package was given. The observatory counts child victims
    with at least one delivery."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="rights_deliveries")
    person = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="rights_deliveries"
    )
    audience = models.CharField(_("for"), max_length=12, choices=RightsAudience.choices)
    method = models.CharField(_("how"), max_length=12, choices=DeliveryMethod.choices)
    language = models.CharField(_("language"), max_length=8)
    delivered_at = models.DateTimeField(_("when"))
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status_at_delivery = models.CharField(_("case status when given"), max_length=24, blank=True)

    class Meta:
        ordering = ["delivered_at", "created_at"]
        verbose_name = _("rights package delivery")
        verbose_name_plural = _("rights package deliveries")
        indexes = [models.Index(fields=["case", "audience"])]

    def __str__(self) -> str:
        return f"rights delivery {self.pk}"
