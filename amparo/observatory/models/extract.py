"""De-identified research extract requests: request, approval, download.

The request records who asks, why, for which columns and period; a national coordinator approves
or refuses it; the extract itself is built only at download time (``amparo.observatory.extract``)
and never stored.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amparo.core.fields import EncryptedTextField

__all__ = ["ExtractRequest", "ExtractStatus"]


class ExtractStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    DOWNLOADED = "downloaded", _("Downloaded")


class ExtractRequest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requester")
    )
    purpose = EncryptedTextField(_("purpose"))
    fields = models.JSONField(_("columns"), default=list)
    period_start = models.DateField(_("first day"))
    period_end = models.DateField(_("last day"))
    status = models.CharField(
        _("status"), max_length=12, choices=ExtractStatus.choices, default=ExtractStatus.REQUESTED
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decision_note = EncryptedTextField(_("decision note"))
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    downloaded_at = models.DateTimeField(_("downloaded"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("research extract request")
        verbose_name_plural = _("research extract requests")
        constraints = [
            models.CheckConstraint(
                name="extract_period_ordered", condition=models.Q(period_end__gte=models.F("period_start"))
            )
        ]

    def __str__(self) -> str:
        return f"extract {self.pk}"
