"""Consent to share, the information chosen for sharing, and relations between cases."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amparo.cases.models.records import Case, SyncedModel
from amparo.core.fields import EncryptedTextField


class ShareableField(models.TextChoices):
    """What a referral may share beyond the case's non-identifying facts (forms, platforms,
    place, dates, status, priority, ages and sexes). The referring agency chooses; the receiving
    agency sees nothing else (page, API, exports)."""

    NARRATIVE = "narrative", _("What happened (the account)")
    VICTIM_IDENTITY = "victim_identity", _("The child's name and contact details")
    CAREGIVER_IDENTITY = "caregiver_identity", _("Caregivers' names and contact details")
    OFFENDER_IDENTITY = "offender_identity", _("The alleged offender's identifiers")
    REPORTER_IDENTITY = "reporter_identity", _("The reporter's name and contact details")
    NOTES = "notes", _("Case notes")
    EVIDENCE = "evidence", _("Evidence items (hashes and labels; files only through the vault)")
    JUSTICE = "justice", _("Justice record (investigation, charges, court)")
    INTERVIEWS = "interviews", _("Records of interviews with the child")
    SERVICES = "services", _("Service referrals")


class ConsentAnswer(models.TextChoices):
    GIVEN = "given", _("Consent given")
    REFUSED = "refused", _("Consent refused")
    NOT_ASKED = "not_asked", _("Not asked")
    NOT_APPLICABLE = "not_applicable", _("Not applicable (no caregiver, or the child cannot be asked)")


class LegalBasis(models.TextChoices):
    """Grounds that allow sharing without consent; each needs a written justification."""

    NONE = "", _("No legal basis needed (consent given)")
    IMMEDIATE_DANGER = "immediate_danger", _("The child is in immediate danger")
    CRIMINAL_OFFENCE = "criminal_offence", _("Mandatory reporting of a public crime to the authorities")
    COURT_ORDER = "court_order", _("Order of a court or the Public Prosecutor")
    CAREGIVER_IS_SUSPECT = "caregiver_is_suspect", _("The caregiver is suspected of the abuse")
    BEST_INTERESTS = "best_interests", _("The child's best interests (Law 7/2008 on child protection)")


class ConsentRecord(SyncedModel):
    """Consent of the child and the caregiver to share information, or the legal basis that overrides
    it with its justification. A referral needs one that permits sharing (amparo.cases.consent)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=200)
    child_consent = models.CharField(
        _("child's consent"), max_length=16, choices=ConsentAnswer.choices, default=ConsentAnswer.NOT_ASKED
    )
    caregiver_consent = models.CharField(
        _("caregiver's consent"),
        max_length=16,
        choices=ConsentAnswer.choices,
        default=ConsentAnswer.NOT_ASKED,
    )
    legal_basis = models.CharField(
        _("legal basis"), max_length=32, choices=LegalBasis.choices, blank=True, default=""
    )
    justification = EncryptedTextField(_("justification"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"))

    class Meta:
        ordering = ["recorded_at", "created_at"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")

    def __str__(self) -> str:
        return f"consent {self.pk}"


class RelationReason(models.TextChoices):
    SAME_CHILD = "same_child", _("Same child")
    SAME_OFFENDER = "same_offender", _("Same offender or offender account")
    SAME_EVIDENCE = "same_evidence", _("Same evidence")
    SAME_REPORT = "same_report", _("Same incident reported twice")
    OTHER = "other", _("Other connection")


class CaseRelation(SyncedModel):
    """A link between two cases (audited, removable). Merging is recorded on Case.merged_into."""

    from_case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="relations_from")
    to_case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="relations_to")
    reason = models.CharField(_("reason"), max_length=16, choices=RelationReason.choices)
    note = EncryptedTextField(_("note"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("case relation")
        verbose_name_plural = _("case relations")
        constraints = [
            models.CheckConstraint(
                name="case_relation_not_self", condition=~models.Q(from_case=models.F("to_case"))
            ),
            models.UniqueConstraint(
                fields=["from_case", "to_case", "reason"],
                condition=models.Q(removed_at__isnull=True),
                name="unique_active_case_relation",
            ),
        ]

    def __str__(self) -> str:
        return f"relation {self.pk}"
