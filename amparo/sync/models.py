"""District nodes (national side), the node's own synchronisation state (district side), the last agreed
value of each synchronised field, and conflicts kept for a person to resolve."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amparo.core.fields import EncryptedTextField
from amparo.core.models import District


class Node(models.Model):
    """A district node known to the national server. Its credential's private key never leaves the node."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.SlugField(_("name"), max_length=40, unique=True)
    district = models.ForeignKey(District, on_delete=models.PROTECT, verbose_name=_("district"))
    public_key = models.CharField(max_length=64)  # raw Ed25519 public key, base64
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    wiped_at = models.DateTimeField(_("reported wiped"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last contact"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("district node")
        verbose_name_plural = _("district nodes")

    def __str__(self) -> str:
        return self.name

    @property
    def origin(self) -> str:
        return f"node-{self.name}"


class SeenNonce(models.Model):
    """Nonces of signed requests seen recently (replays are refused)."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE)
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["node", "nonce"], name="unique_node_nonce")]

    def __str__(self) -> str:
        return f"nonce {self.pk}"


class NodeState(models.Model):
    """The district node's own identity and progress (one row, pk=1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    node_id = models.UUIDField()
    name = models.SlugField(max_length=40)
    district = models.ForeignKey(District, on_delete=models.PROTECT)
    upstream = models.URLField()
    private_key = EncryptedTextField()  # raw Ed25519 private key, base64, encrypted at rest
    pushed_audit_id = models.BigIntegerField(default=0)  # local audit entries up to here are pushed
    pull_cursor = models.BigIntegerField(default=0)  # national audit entries up to here are pulled
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    open_conflicts = models.PositiveIntegerField(default=0)  # as last reported by the national server
    revoked_at = models.DateTimeField(null=True, blank=True)
    wiped_at = models.DateTimeField(null=True, blank=True)
    wipe_reported_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"node state {self.name}"

    @property
    def origin(self) -> str:
        return f"node-{self.name}"


class FieldBase(models.Model):
    """On a node: the hash of the value of a field as last agreed with the national server. A field whose
    local value differs from its base was changed here; one whose national value differs was changed there."""

    model = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    field = models.CharField(max_length=64)
    value_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "object_id", "field"], name="unique_field_base")
        ]

    def __str__(self) -> str:
        return f"{self.model}.{self.field}"


class Conflict(models.Model):
    """The same field changed on a node and on the national server since they last agreed. Both values are
    kept (encrypted); the national value stays in force until a person with the right resolves it."""

    class Resolution(models.TextChoices):
        NATIONAL = "national", _("Kept the national value")
        NODE = "node", _("Took the district node's value")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    node = models.ForeignKey(Node, on_delete=models.PROTECT, null=True, blank=True)
    origin = models.CharField(max_length=64)
    model = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    field = models.CharField(max_length=64)
    case_id = models.UUIDField(null=True, blank=True, db_index=True)
    national_value = EncryptedTextField()  # canonical JSON
    node_value = EncryptedTextField()  # canonical JSON
    node_value_hash = models.CharField(max_length=64)
    detected_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=12, choices=Resolution.choices, blank=True)

    class Meta:
        ordering = ["detected_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "object_id", "field", "node_value_hash"],
                condition=models.Q(resolved_at__isnull=True),
                name="unique_open_conflict",
            )
        ]

    def __str__(self) -> str:
        return f"conflict {self.model}.{self.field}"


class FileUpload(models.Model):
    """National side: an evidence file a node is sending, piece by piece (resumable).

    Each piece is sealed in the vault as it arrives (never plaintext on disk); when the last byte is in,
    the pieces are re-sealed as one evidence item under the node's item id and removed.
    """

    id = models.BigAutoField(primary_key=True)
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="uploads")
    item_id = models.UUIDField()
    case_id = models.UUIDField()
    agency_code = models.CharField(max_length=40)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = EncryptedTextField(blank=True)
    declared_type = models.CharField(max_length=120, blank=True)
    received = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["node", "item_id"], name="sync_upload_once_per_node")]

    def __str__(self) -> str:
        return f"upload {self.item_id} ({self.received}/{self.size})"


class FilePiece(models.Model):
    """One received piece of a FileUpload, sealed in the vault (the attributes `vault` reads)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    upload = models.ForeignKey(FileUpload, on_delete=models.CASCADE, related_name="pieces")
    offset = models.BigIntegerField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=200)
    wrapped_key = models.BinaryField()
    master_key_id = models.CharField(max_length=16)
    chunk_size = models.PositiveIntegerField()
    chunk_count = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["upload", "offset"], name="sync_piece_offset_once")]

    def __str__(self) -> str:
        return f"piece at {self.offset} of upload {self.upload_id}"


class SentFile(models.Model):
    """Node side: evidence items whose file the national server has confirmed."""

    item_id = models.UUIDField(primary_key=True)
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"file {self.item_id} sent"
