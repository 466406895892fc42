"""Reports that arrive from abroad and from industry: NCMEC CyberTipline referrals, and the organisations
(platforms, internet and mobile providers) that use the industry API with their hashed, scoped keys.

Nothing here identifies a person: identifiers from a report go to the case (encrypted fields of
amparo.cases); an API key is kept only as its SHA-256 and a short prefix.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = [
    "IndustryApiKey",
    "IndustryKind",
    "IndustryOrganisation",
    "IndustryScope",
    "IndustrySubmission",
    "InternationalReferral",
    "ReferralSource",
]


class ReferralSource(models.TextChoices):
    NCMEC = "ncmec", _("NCMEC CyberTipline")


class InternationalReferral(models.Model):
    """One imported report from abroad. The unique (source, external id) makes a second import of the
    same report return the case of the first."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.CharField(
        _("source"), max_length=16, choices=ReferralSource.choices, default=ReferralSource.NCMEC
    )
    external_id = models.CharField(_("report id at the source"), max_length=64)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="international_referrals")
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    file_count = models.PositiveIntegerField(_("files stored"), default=0)

    class Meta:
        ordering = ["-imported_at"]
        verbose_name = _("international referral")
        verbose_name_plural = _("international referrals")
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="unique_international_referral")
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class IndustryKind(models.TextChoices):
    PLATFORM = "platform", _("Online platform")
    ISP = "isp", _("Internet provider")
    MOBILE = "mobile", _("Mobile operator")
    HOSTING = "hosting", _("Hosting provider")
    OTHER = "other", _("Other organisation")


class IndustryScope(models.TextChoices):
    """What an API key may do (a key holds one or more)."""

    REPORTS_SUBMIT = "reports:submit", _("Submit reports and list own submissions")
    PRESERVATION_READ = "preservation:read", _("Read preservation requests")
    PRESERVATION_ANSWER = "preservation:answer", _("Answer preservation requests")
    TAKEDOWN_READ = "takedown:read", _("Read takedown notices")
    TAKEDOWN_ANSWER = "takedown:answer", _("Answer takedown notices")
    BLOCKLIST_READ = "blocklist:read", _("Download the national URL block list")


class IndustryOrganisation(models.Model):
    """A company that reports to Amparo and receives its requests through the industry API."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=12, choices=IndustryKind.choices)
    # Where preservation requests to this organisation are addressed (cases.PreservationRequest.provider).
    service_provider = models.ForeignKey(
        "cases.ServiceProvider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="industry_organisations",
        verbose_name=_("service provider"),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("industry organisation")
        verbose_name_plural = _("industry organisations")

    def __str__(self) -> str:
        return self.name


class IndustryApiKey(models.Model):
    """An organisation's API key: only its SHA-256 is stored (keys are 256-bit random), with the first
    characters in clear to find the row and name the key in lists."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(IndustryOrganisation, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("industry API key")
        verbose_name_plural = _("industry API keys")

    def __str__(self) -> str:
        return f"key {self.prefix}…"


class IndustrySubmission(models.Model):
    """A report an organisation submitted through the API: its own id, and the case it opened.
    Unique per organisation, so that a repeated submission returns the first answer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        IndustryOrganisation, on_delete=models.PROTECT, related_name="submissions"
    )
    submission_id = models.CharField(_("the organisation's submission id"), max_length=100)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="industry_submissions")
    submitted_at = models.DateTimeField(_("submitted"), auto_now_add=True)
    # Declared files: [{"sha256"|"md5"|"sha1": hex, "uploaded": bool}] (hashes are not personal data).
    files = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("industry submission")
        verbose_name_plural = _("industry submissions")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "submission_id"], name="unique_industry_submission"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}:{self.submission_id}"
