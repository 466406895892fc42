"""The evidence vault: items (encrypted files of a case), their chain of custody, hash lists and matches.

An item's bytes live only encrypted in the storage back-end (amparo.evidence.storage), sealed by
amparo.evidence.vault under a per-file key wrapped by the master key. Custody events are append-only:
only amparo.evidence.actions creates them, nothing updates or deletes them.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from amparo.cases.models import Case
from amparo.cases.taxonomy import Platform
from amparo.core.fields import EncryptedTextField
from amparo.core.models import Agency
from amparo.evidence import pdq


class HashingState(models.TextChoices):
    PENDING = "pending", _("Waiting to be hashed")
    DONE = "done", _("Hashed")
    FAILED = "failed", _("Hashing failed")


class EvidenceItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence_items")
    received_by_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("received by")
    )
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    # The name the file came with can identify a person: encrypted, shown only with the item.
    original_name = EncryptedTextField(_("original file name"))
    declared_type = models.CharField(_("declared type"), max_length=120, blank=True)
    size = models.BigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    sha1 = models.CharField(_("SHA-1"), max_length=40, blank=True, db_index=True)
    md5 = models.CharField(_("MD5"), max_length=32, blank=True, db_index=True)
    pdq = models.CharField(_("PDQ"), max_length=64, blank=True)
    pdq_quality = models.PositiveSmallIntegerField(_("PDQ quality"), null=True, blank=True)
    pdq_dihedral = models.JSONField(_("PDQ of rotations and mirror images"), default=list, blank=True)
    # A PDQ of quality under 50 is never matched automatically: the item is flagged for a person instead.
    # A video's vPDQ: one "frame,quality,pdq_hex,timestamp" line per sampled frame.
    vpdq = models.JSONField(_("vPDQ frames"), default=list, blank=True)
    pdq_low_quality = models.BooleanField(_("PDQ quality too low to match"), default=False)
    hashing = models.CharField(
        _("hashing"), max_length=8, choices=HashingState.choices, default=HashingState.PENDING
    )
    known_material = models.BooleanField(_("known material"), default=False, db_index=True)
    # As the sender classified the file (NCMEC's ESP industry classification A1-B2, ...); blank if none.
    classification = models.CharField(_("classification as received"), max_length=40, blank=True)
    # What the sender said of the file (original URL, EXIF, annotations, whether the platform viewed it),
    # as JSON: encrypted, because it can identify a person.
    source_details = EncryptedTextField(_("details from the sender"))
    # Encryption: where the sealed bytes are and the per-file key, wrapped by the master key it names.
    storage_key = models.CharField(max_length=200, unique=True, editable=False)
    wrapped_key = models.BinaryField(editable=False)
    master_key_id = models.CharField(max_length=16, editable=False)
    chunk_size = models.PositiveIntegerField(editable=False)
    chunk_count = models.PositiveIntegerField(editable=False)
    legal_hold = models.BooleanField(_("under legal hold"), default=False)
    destroyed_at = models.DateTimeField(_("destroyed"), null=True, blank=True)

    class Meta:
        ordering = ["received_at", "id"]
        verbose_name = _("evidence item")
        verbose_name_plural = _("evidence items")

    def __str__(self) -> str:
        return f"{self.case.reference}/{str(self.id)[:8]}"

    @property
    def short_id(self) -> str:
        return str(self.id)[:8]

    @property
    def categories(self) -> list[str]:
        """Categories of the known material this item matched, as the hash lists gave them."""
        return sorted({m.category for m in self.matches.all() if m.category})

    @property
    def classification_labels(self) -> list[str]:
        """The sender's classification and the matched lists' categories (for an export's category)."""
        return ([self.classification] if self.classification else []) + self.categories

    @property
    def sender_details(self) -> dict[str, Any]:
        """``source_details`` decoded (``{}`` when the sender said nothing)."""
        try:
            details = json.loads(self.source_details) if self.source_details else {}
        except ValueError:
            return {}
        return details if isinstance(details, dict) else {}


class CustodyKind(models.TextChoices):
    RECEIVED = "received", _("Received")
    HASHED = "hashed", _("Hashed")
    MATCHED = "matched", _("Matched a hash list")
    PREVIEWED = "previewed", _("Blurred preview shown")
    VIEWED = "viewed", _("Viewed")
    DOWNLOADED = "downloaded", _("Downloaded")
    EXPORTED = "exported", _("Hashes exported")
    SHARED = "shared", _("Shared with another agency")
    LEGAL_HOLD = "legal_hold", _("Placed under legal hold")
    RELEASED = "released", _("Released from legal hold")
    DESTROYED = "destroyed", _("Destroyed")
    INTEGRITY_ALARM = "integrity_alarm", _("Integrity alarm")


class CustodyEvent(models.Model):
    """One link of an item's chain of custody. Append-only (created only by amparo.evidence.actions)."""

    id = models.BigAutoField(primary_key=True)
    item = models.ForeignKey(EvidenceItem, on_delete=models.PROTECT, related_name="custody")
    kind = models.CharField(_("event"), max_length=16, choices=CustodyKind.choices)
    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    actor_agency = models.CharField(max_length=40, blank=True)
    actor_channel = models.CharField(max_length=64, blank=True)
    purpose = EncryptedTextField(_("purpose"))
    sha256 = models.CharField(_("SHA-256 at that moment"), max_length=64)
    counterpart = models.ForeignKey(
        Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("agency")
    )
    # Non-identifying particulars (hash list name, distance, category, reveal step); never personal data.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["item", "id"]
        verbose_name = _("custody event")
        verbose_name_plural = _("custody events")

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"

    @property
    def actor_label(self) -> str:
        if self.actor_username:
            return (
                f"{self.actor_username} ({self.actor_agency})" if self.actor_agency else self.actor_username
            )
        return self.actor_channel


class HashSource(models.TextChoices):
    NATIONAL = "national", _("National")
    ICSE = "icse", _("INTERPOL ICSE")
    NCMEC = "ncmec", _("NCMEC")
    IWF = "iwf", _("IWF")
    OTHER = "other", _("Other")


class HashType(models.TextChoices):
    MD5 = "md5", "MD5"
    SHA1 = "sha1", "SHA-1"
    SHA256 = "sha256", "SHA-256"
    PDQ = "pdq", "PDQ"
    VPDQ = "vpdq", "vPDQ"


# A vPDQ entry's value is the SHA-256 of its frame lines (its identity in the list); the frames
# themselves are in ``HashEntry.frames``.
HASH_LENGTHS = {HashType.MD5: 32, HashType.SHA1: 40, HashType.SHA256: 64, HashType.PDQ: 64, HashType.VPDQ: 64}


class HashList(models.Model):
    """A bank of known-material hashes from one source, used under the permission it came with."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    source = models.CharField(_("source"), max_length=12, choices=HashSource.choices)
    permission_note = models.TextField(_("permission note"), blank=True)
    pdq_threshold = models.PositiveSmallIntegerField(
        _("PDQ distance threshold"),
        default=pdq.DEFAULT_THRESHOLD,
        validators=[MinValueValidator(0), MaxValueValidator(pdq.MAX_THRESHOLD)],
    )
    version = models.PositiveIntegerField(default=0, editable=False)  # bumped on every change
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("hash list")
        verbose_name_plural = _("hash lists")
        constraints = [
            models.CheckConstraint(
                name="hashlist_pdq_threshold_capped",
                condition=models.Q(pdq_threshold__lte=pdq.MAX_THRESHOLD),
            )
        ]

    def __str__(self) -> str:
        return self.name


class HashEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    hash_list = models.ForeignKey(HashList, on_delete=models.CASCADE, related_name="entries")
    hash_type = models.CharField(max_length=8, choices=HashType.choices)
    value = models.CharField(max_length=64)  # lower-case hex
    category = models.CharField(_("category as received"), max_length=100, blank=True)
    entry_id = models.CharField(_("entry id at the source"), max_length=100, blank=True)
    # vPDQ entries only: the listed video's frames, one "frame,quality,pdq_hex,timestamp" line each.
    frames = models.TextField(_("vPDQ frames"), blank=True, db_default="")
    deleted_at = models.DateTimeField(_("tombstoned"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("hash list entry")
        verbose_name_plural = _("hash list entries")
        constraints = [
            models.UniqueConstraint(fields=["hash_list", "hash_type", "value"], name="unique_hash_per_list")
        ]
        indexes = [models.Index(fields=["hash_type", "value"], name="evidence_hash_lookup")]

    def __str__(self) -> str:
        return f"{self.hash_type}:{self.value}"


class Match(models.Model):
    """An item matched a hash list entry: exactly (distance 0) or by PDQ distance."""

    item = models.ForeignKey(EvidenceItem, on_delete=models.CASCADE, related_name="matches")
    hash_list = models.ForeignKey(HashList, on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey(HashEntry, on_delete=models.PROTECT, related_name="matches")
    hash_type = models.CharField(max_length=8, choices=HashType.choices)
    distance = models.PositiveSmallIntegerField(default=0)
    category = models.CharField(max_length=100, blank=True)
    matched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "distance", "id"]
        constraints = [models.UniqueConstraint(fields=["item", "entry"], name="unique_match_per_entry")]

    def __str__(self) -> str:
        return f"{self.hash_list.name}:{self.hash_type}:{self.distance}"


class LinkProposal(models.Model):
    """The same file (same SHA-256) is in two cases: a person should decide whether to link them."""

    case_a = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    case_b = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    sha256 = models.CharField(max_length=64)
    proposed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case_a", "case_b", "sha256"], name="unique_link_proposal")
        ]

    def __str__(self) -> str:
        return f"{self.case_a.reference} ~ {self.case_b.reference}"


class TakedownStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    REMOVED = "removed", _("Removed")
    REFUSED = "refused", _("Refused")
    NOT_FOUND = "not_found", _("Not found")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class TakedownNotice(models.Model):
    """A notice to an organisation to remove material at a URL. Time to removal is
    `removed_at - requested_at`. The URL may identify a person: encrypted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="takedown_notices"
    )
    url = EncryptedTextField(_("URL"))
    platform = models.CharField(
        _("platform"), max_length=16, choices=Platform.choices, default=Platform.UNKNOWN
    )
    # The industry organisation addressed (intake.IndustryOrganisation); null when sent outside the API.
    organisation = models.ForeignKey(
        "intake.IndustryOrganisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="takedown_notices",
        verbose_name=_("organisation"),
    )
    requested_at = models.DateTimeField(_("requested"), db_index=True)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=TakedownStatus.choices, default=TakedownStatus.SENT
    )
    answer_note = EncryptedTextField(_("answer"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("takedown notice")
        verbose_name_plural = _("takedown notices")
        indexes = [models.Index(fields=["organisation", "status"])]

    def __str__(self) -> str:
        return f"takedown {str(self.id)[:8]}"

    @property
    def time_to_removal(self):  # noqa: ANN201 - a timedelta or None
        if self.removed_at is None:
            return None
        return self.removed_at - self.requested_at


class BlockCategory(models.TextChoices):
    CSAM = "csam", _("Child sexual abuse material")
    GROOMING = "grooming", _("Grooming or solicitation of children")
    SEXTORTION = "sextortion", _("Sexual extortion of children")
    TRAFFICKING = "trafficking", _("Trafficking of children")
    OTHER = "other", pgettext_lazy("block reason", "Other")


class BlockedUrl(models.Model):
    """One entry of the national URL block list, downloadable by authorised organisations. A removed
    entry is kept (removed_at set) so that the list's history stays auditable."""

    url = models.CharField(_("URL"), max_length=2000)
    url_hash = models.CharField(max_length=64, editable=False)
    category = models.CharField(_("reason"), max_length=16, choices=BlockCategory.choices)
    added_at = models.DateTimeField(_("added"), auto_now_add=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)

    class Meta:
        ordering = ["added_at", "id"]
        verbose_name = _("blocked URL")
        verbose_name_plural = _("blocked URLs")
        constraints = [
            models.UniqueConstraint(
                fields=["url_hash"],
                condition=models.Q(removed_at__isnull=True),
                name="unique_active_blocked_url",
            )
        ]

    def __str__(self) -> str:
        return f"blocked {self.pk}"
