"""Every write to the evidence vault goes through these functions. Each takes the acting user (or an
audit Actor for a channel or the system), checks the policy, runs in one transaction and records its
audit entry there; every event in an item's life also adds a custody event with the file's SHA-256
at that moment."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.cases.models import Case
from amparo.core import audit
from amparo.core.models import Agency
from amparo.core.policy import can
from amparo.evidence import pdq, vault
from amparo.evidence.models import (
    HASH_LENGTHS,
    CustodyEvent,
    CustodyKind,
    EvidenceItem,
    HashEntry,
    HashingState,
    HashList,
    HashSource,
    HashType,
    LinkProposal,
    Match,
)
from amparo.evidence.permissions import EvidenceAudit, EvidencePermission
from amparo.evidence.storage import get_storage

# A full reveal must follow a blurred preview by the same person within this time.
REVEAL_WINDOW = dt.timedelta(minutes=15)
# Previews decode the image in memory: larger files are refused (they are not previewed, only downloaded).
PREVIEW_MAX_BYTES = 64 * 1024 * 1024
PREVIEW_SIZE = 160
PREVIEW_BLUR = 6


def _user(actor: Any) -> Any:
    return actor.user if isinstance(actor, audit.Actor) else actor


def _require(actor: Any, permission: EvidencePermission, obj: Any) -> None:
    user = _user(actor)
    if user is None:
        return  # a public channel or the system acting on its own behalf
    if not can(user, permission, obj):
        raise PermissionDenied


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationError(_("State the reason in a few words."))
    return reason


def _custody(
    actor: Any,
    item: EvidenceItem,
    kind: CustodyKind,
    action: EvidenceAudit,
    *,
    purpose: str = "",
    counterpart: Agency | None = None,
    detail: dict | None = None,
    sha256: str | None = None,
) -> CustodyEvent:
    """One custody event and its audit entry (call inside the action's transaction)."""
    who = actor if isinstance(actor, audit.Actor) else audit.Actor(user=actor)
    user = who.user
    event = CustodyEvent.objects.create(
        item=item,
        kind=kind,
        actor_user=user,
        actor_username=user.get_username() if user is not None else "",
        actor_agency=user.agency.code if user is not None and user.agency_id else "",
        actor_channel=who.channel,
        purpose=purpose,
        sha256=sha256 if sha256 is not None else item.sha256,
        counterpart=counterpart,
        detail=detail or {},
    )
    fields = ["kind", "sha256"] + (["purpose"] if purpose else []) + (["counterpart"] if counterpart else [])
    audit.record(actor, action, item, fields)
    return event


# ---------------------------------------------------------------------------
# Receiving


def too_large_message() -> str:
    return _("The file is larger than the vault accepts (%(limit)s bytes).") % {"limit": vault.max_bytes()}


def add_item(
    actor: Any,
    case: Case,
    source: Any,
    *,
    original_name: str = "",
    declared_type: str = "",
    received_from: str = "",
    channel: str = "",
    received_by: Agency | None = None,
    classification: str = "",
    sender_details: dict[str, Any] | None = None,
    declared_hash_mismatch: list[str] | None = None,
) -> EvidenceItem:
    """Stream `source` (an UploadedFile, a binary stream or an iterable of bytes) into the vault.

    The file is sealed before the transaction opens (it may be large) and removed again if the record
    cannot be written. Hashing and matching run afterwards as a background task. `classification` and
    `sender_details` keep what the sender said of the file; `declared_hash_mismatch` names the hash
    types the sender declared that the file does not have: an integrity alarm on the custody chain.
    """
    _require(actor, EvidencePermission.ADD, case)
    user = _user(actor)
    agency = user.agency if user is not None else (received_by or case.owning_agency)
    storage = get_storage()
    sealed = getattr(
        source, "sealed", None
    )  # sealed already while it was uploaded (views.VaultUploadHandler)
    if not isinstance(sealed, vault.Sealed):
        try:
            sealed = vault.seal(uuid.uuid4(), source, storage=storage)
        except vault.TooLarge:
            raise ValidationError(too_large_message()) from None
    item_id = sealed.item_id
    try:
        with transaction.atomic():
            item = EvidenceItem.objects.create(
                id=item_id,
                case=case,
                received_by_agency=agency,
                original_name=original_name[:255],
                declared_type=declared_type[:120],
                size=sealed.size,
                sha256=sealed.sha256,
                storage_key=sealed.storage_key,
                wrapped_key=sealed.wrapped_key,
                master_key_id=sealed.master_key_id,
                chunk_size=sealed.chunk_size,
                chunk_count=sealed.chunk_count,
                classification=classification[:40],
                source_details=json.dumps(sender_details, ensure_ascii=False, sort_keys=True)
                if sender_details
                else "",
            )
            # Stored as given (encrypted); the event's kind ("received") is translated when shown, so a
            # custody record never mixes the languages of whoever happened to upload.
            purpose = received_from or ""
            detail = {"channel": channel} if channel else {}
            _custody(
                actor, item, CustodyKind.RECEIVED, EvidenceAudit.ITEM_RECEIVE, purpose=purpose, detail=detail
            )
            if declared_hash_mismatch:
                _custody(
                    actor,
                    item,
                    CustodyKind.INTEGRITY_ALARM,
                    EvidenceAudit.ITEM_INTEGRITY_ALARM,
                    detail={"declared_hash_mismatch": sorted(declared_hash_mismatch)},
                )
    except BaseException:
        storage.delete(sealed.storage_key)
        raise
    from amparo.evidence.tasks import hash_item

    hash_item.enqueue(str(item.pk))
    return item


# ---------------------------------------------------------------------------
# Hashing and matching (the system acts)

SYSTEM = audit.Actor.system("evidence")


def record_hashes(
    item: EvidenceItem,
    *,
    sha256: str,
    sha1: str,
    md5: str,
    pdq_result: pdq.PdqResult | None = None,
    dihedral: list[str] | None = None,
    vpdq: list[str] | None = None,
    not_hashed: str | None = None,
) -> EvidenceItem:
    """Store an item's hashes and a HASHED custody event. ``vpdq``: a video's frame lines;
    ``not_hashed``: why an image or video has no perceptual hash (e.g. "too large to decode safely"),
    written on the custody chain as "not hashed: <reason>"."""
    with transaction.atomic():
        item = EvidenceItem.objects.select_for_update().get(pk=item.pk)
        if sha256 != item.sha256:
            raise vault.IntegrityAlarm(f"evidence item {item.pk} hashed to another SHA-256 than at receipt")
        item.sha1, item.md5 = sha1, md5
        fields = ["sha1", "md5", "hashing"]
        if pdq_result is not None:
            item.pdq = pdq_result.hash_hex
            item.pdq_quality = pdq_result.quality
            item.pdq_dihedral = list(dihedral or [pdq_result.hash_hex])
            item.pdq_low_quality = not pdq_result.matchable
            fields += ["pdq", "pdq_quality", "pdq_dihedral", "pdq_low_quality"]
        if vpdq:
            item.vpdq = list(vpdq)
            fields.append("vpdq")
        item.hashing = HashingState.DONE
        item.save(update_fields=fields)
        detail = {"sha1": sha1, "md5": md5}
        if pdq_result is not None:
            detail |= {"pdq": pdq_result.hash_hex, "quality": pdq_result.quality}
        if vpdq:
            detail["vpdq_frames"] = len(vpdq)
        if not_hashed:
            detail["perceptual"] = f"not hashed: {not_hashed}"
        _custody(SYSTEM, item, CustodyKind.HASHED, EvidenceAudit.ITEM_HASH, detail=detail)
    return item


def mark_hashing_failed(item: EvidenceItem) -> None:
    with transaction.atomic():
        EvidenceItem.objects.filter(pk=item.pk).update(hashing=HashingState.FAILED)
        audit.record(SYSTEM, EvidenceAudit.ITEM_HASH, item, ["hashing"])


@dataclass(frozen=True)
class Hit:
    """One item matching one hash list entry."""

    item_id: uuid.UUID
    entry_id: int
    hash_list_id: int
    hash_type: str
    distance: int
    category: str


def record_matches(hits: Iterable[Hit]) -> int:
    """Store new hits (a hit already stored is skipped), flag the items as known material, add one
    MATCHED custody event per item and list. Returns the number of new matches."""
    by_item: dict[uuid.UUID, list[Hit]] = {}
    for hit in hits:
        by_item.setdefault(hit.item_id, []).append(hit)
    created = 0
    for item_id, item_hits in by_item.items():
        with transaction.atomic():
            item = EvidenceItem.objects.select_for_update().get(pk=item_id)
            known = set(Match.objects.filter(item=item).values_list("entry_id", flat=True))
            new = [h for h in item_hits if h.entry_id not in known]
            if not new:
                continue
            Match.objects.bulk_create(
                [
                    Match(
                        item=item,
                        hash_list_id=h.hash_list_id,
                        entry_id=h.entry_id,
                        hash_type=h.hash_type,
                        distance=h.distance,
                        category=h.category,
                    )
                    for h in new
                ]
            )
            created += len(new)
            if not item.known_material:
                item.known_material = True
                item.save(update_fields=["known_material"])
            names = dict(
                HashList.objects.filter(pk__in={h.hash_list_id for h in new}).values_list("pk", "name")
            )
            for list_id in sorted({h.hash_list_id for h in new}):
                list_hits = [h for h in new if h.hash_list_id == list_id]
                best = min(list_hits, key=lambda h: h.distance)
                detail = {
                    "hash_list": names.get(list_id, ""),
                    "hash_type": best.hash_type,
                    "distance": best.distance,
                    "categories": sorted({h.category for h in list_hits if h.category}),
                    "entries": len(list_hits),
                }
                _custody(SYSTEM, item, CustodyKind.MATCHED, EvidenceAudit.ITEM_MATCH, detail=detail)
    return created


def propose_links(item: EvidenceItem) -> list[LinkProposal]:
    """The same file in another case proposes linking the two cases (a person decides)."""
    proposals = []
    others = (
        EvidenceItem.objects.filter(sha256=item.sha256, destroyed_at__isnull=True)
        .exclude(case_id=item.case_id)
        .values_list("case_id", flat=True)
        .distinct()
    )
    for other in others:
        a, b = sorted([item.case_id, other], key=str)
        with transaction.atomic():
            proposal, created = LinkProposal.objects.get_or_create(
                case_a_id=a, case_b_id=b, sha256=item.sha256
            )
            if created:
                audit.record(SYSTEM, EvidenceAudit.LINK_PROPOSE, proposal, ["case_a", "case_b", "sha256"])
                proposals.append(proposal)
    return proposals


def record_integrity_alarm(item: EvidenceItem) -> None:
    with transaction.atomic():
        _custody(
            SYSTEM,
            item,
            CustodyKind.INTEGRITY_ALARM,
            EvidenceAudit.ITEM_INTEGRITY_ALARM,
            detail={"expected_sha256": item.sha256},
            sha256="",
        )


# ---------------------------------------------------------------------------
# Reveal: a blurred preview first, then the full item with a fresh TOTP code


def preview(user: Any, item: EvidenceItem, reason: str) -> bytes:
    """A small, blurred, greyscale PNG of an image item (for a video, a strip of its first blurred
    keyframes), made in memory in a child process under a memory limit; never stored."""
    from amparo.evidence import hashing

    _require(user, EvidencePermission.REVEAL, item)
    reason = _reason(reason)
    if item.size > PREVIEW_MAX_BYTES:
        raise ValidationError(_("This file is too large for a preview."))
    data = vault.read_all(item, limit=PREVIEW_MAX_BYTES)
    if hashing.media_type(data[: pdq.HEADER_BYTES]) is None:
        raise ValidationError(_("This file is not an image, so it has no preview."))
    try:
        png = hashing.shared_hasher().run(hashing.preview_png, data, PREVIEW_SIZE, PREVIEW_BLUR)
    except (pdq.PdqError, hashing.HashingFailed, MemoryError):
        raise ValidationError(_("This image cannot be decoded for a preview.")) from None
    with transaction.atomic():
        _custody(
            user,
            item,
            CustodyKind.PREVIEWED,
            EvidenceAudit.ITEM_PREVIEW,
            purpose=reason,
            detail={"step": "blurred"},
        )
    return png


def _previewed_recently(user: Any, item: EvidenceItem) -> bool:
    return CustodyEvent.objects.filter(
        item=item,
        kind=CustodyKind.PREVIEWED,
        actor_user=user,
        at__gte=timezone.now() - REVEAL_WINDOW,
    ).exists()


def _verify_totp(user: Any, code: str) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    code = (code or "").strip()
    if not code.isdigit():
        return False
    return any(
        device.verify_token(code) for device in TOTPDevice.objects.devices_for_user(user, confirmed=True)
    )


def reveal(user: Any, item: EvidenceItem, reason: str, totp_code: str, *, download: bool = False) -> None:
    """Allow the full item: after a blurred preview by the same person, with a stated reason and a fresh
    TOTP code. A refused attempt is audited too. The caller then streams `vault.read_chunks(item)`."""
    _require(user, EvidencePermission.REVEAL, item)
    reason = _reason(reason)
    if item.destroyed_at is not None:
        raise ValidationError(_("This item was destroyed."))
    if not _previewed_recently(user, item):
        raise ValidationError(_("Look at the blurred preview first, then confirm within 15 minutes."))
    if not _verify_totp(user, totp_code):
        audit.record_read(user, EvidenceAudit.ITEM_REVEAL_REFUSED, item, ["otp_token"])
        raise ValidationError(_("The code from your authenticator app is not right. Try the current one."))
    vault.verify(item)
    kind, action = (
        (CustodyKind.DOWNLOADED, EvidenceAudit.ITEM_DOWNLOAD)
        if download
        else (CustodyKind.VIEWED, EvidenceAudit.ITEM_REVEAL)
    )
    with transaction.atomic():
        _custody(user, item, kind, action, purpose=reason, detail={"step": "full"})


# ---------------------------------------------------------------------------
# Custody actions


def place_legal_hold(user: Any, item: EvidenceItem, reason: str) -> EvidenceItem:
    _require(user, EvidencePermission.CUSTODY, item)
    reason = _reason(reason)
    with transaction.atomic():
        item = EvidenceItem.objects.select_for_update().get(pk=item.pk)
        if item.legal_hold:
            raise ValidationError(_("This item is already under legal hold."))
        item.legal_hold = True
        item.save(update_fields=["legal_hold"])
        _custody(user, item, CustodyKind.LEGAL_HOLD, EvidenceAudit.ITEM_HOLD, purpose=reason)
    return item


def release_legal_hold(user: Any, item: EvidenceItem, reason: str) -> EvidenceItem:
    _require(user, EvidencePermission.CUSTODY, item)
    reason = _reason(reason)
    with transaction.atomic():
        item = EvidenceItem.objects.select_for_update().get(pk=item.pk)
        if not item.legal_hold:
            raise ValidationError(_("This item is not under legal hold."))
        item.legal_hold = False
        item.save(update_fields=["legal_hold"])
        _custody(user, item, CustodyKind.RELEASED, EvidenceAudit.ITEM_RELEASE, purpose=reason)
    return item


def share_item(user: Any, item: EvidenceItem, agency: Agency, reason: str) -> CustodyEvent:
    """Record that the item was shared with another agency. Access itself follows the case's referrals:
    the receiving agency sees the item once it has accepted a referral of the case."""
    _require(user, EvidencePermission.CUSTODY, item)
    reason = _reason(reason)
    if agency.pk == user.agency_id:
        raise ValidationError(_("Choose another agency than your own."))
    vault.verify(item)
    with transaction.atomic():
        return _custody(
            user, item, CustodyKind.SHARED, EvidenceAudit.ITEM_SHARE, purpose=reason, counterpart=agency
        )


def destroy_item(user: Any, item: EvidenceItem, reason: str) -> EvidenceItem:
    """Destroy the stored file (its record, hashes and custody remain). Refused under legal hold."""
    _require(user, EvidencePermission.CUSTODY, item)
    reason = _reason(reason)
    with transaction.atomic():
        item = EvidenceItem.objects.select_for_update().get(pk=item.pk)
        if item.legal_hold:
            raise ValidationError(_("An item under legal hold cannot be destroyed. Release it first."))
        if item.destroyed_at is not None:
            raise ValidationError(_("This item was already destroyed."))
        item.destroyed_at = timezone.now()
        item.wrapped_key = b""  # crypto-shredding: without its key no copy of the ciphertext can be read
        item.save(update_fields=["destroyed_at", "wrapped_key"])
        _custody(user, item, CustodyKind.DESTROYED, EvidenceAudit.ITEM_DESTROY, purpose=reason)
        transaction.on_commit(lambda key=item.storage_key: get_storage().delete(key))
    return item


# ---------------------------------------------------------------------------
# Hash lists


@dataclass(frozen=True)
class ListRow:
    hash_type: str
    value: str
    category: str = ""
    entry_id: str = ""
    deleted: bool = False


@dataclass
class ImportResult:
    hash_list: HashList
    added: int = 0
    tombstoned: int = 0
    skipped: int = 0
    first_new_id: int | None = None
    matches: int = 0
    added_by_type: dict[str, int] = field(default_factory=dict)


def clean_row(row: ListRow) -> ListRow:
    kind = (row.hash_type or "").strip().lower()
    if kind not in HashType.values:
        raise ValueError(f"unknown hash type {kind!r}")
    value = (row.value or "").strip().lower()
    if len(value) != HASH_LENGTHS[kind] or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"not a {kind} hash")
    return ListRow(
        kind, value, (row.category or "").strip()[:100], (row.entry_id or "").strip()[:100], row.deleted
    )


def get_or_create_hash_list(
    actor: Any, name: str, source: str, *, permission_note: str = "", pdq_threshold: int | None = None
) -> HashList:
    _require(actor, EvidencePermission.HASHLIST_MANAGE, None)
    if source not in HashSource.values:
        raise ValidationError(_("Unknown hash list source: %(source)s.") % {"source": source})
    if pdq_threshold is not None and not 0 <= pdq_threshold <= pdq.MAX_THRESHOLD:
        raise ValidationError(
            _("The PDQ threshold must be between 0 and %(cap)s.") % {"cap": pdq.MAX_THRESHOLD}
        )
    with transaction.atomic():
        hash_list, created = HashList.objects.get_or_create(
            name=name,
            defaults={
                "source": source,
                "permission_note": permission_note,
                "pdq_threshold": pdq.DEFAULT_THRESHOLD if pdq_threshold is None else pdq_threshold,
            },
        )
        if not created and hash_list.source != source:
            raise ValidationError(_("A hash list with this name comes from another source."))
        if created:
            audit.record(actor, EvidenceAudit.HASHLIST_IMPORT, hash_list, ["name", "source", "pdq_threshold"])
    return hash_list


INSERT_ROWS = 500  # rows per INSERT statement (6 parameters each: within SQLite's and PostgreSQL's limits)


def _insert_entries(hash_list: HashList, rows: list[ListRow]) -> None:
    """Insert new entries, skipping those already in the list (the unique constraint decides), with one
    parameterised statement per 500 rows: the ORM's per-object overhead made 10-million-line lists slow."""
    from django.db import connection

    qn = connection.ops.quote_name
    table = qn(HashEntry._meta.db_table)
    columns = ", ".join(
        qn(c) for c in ("hash_list_id", "hash_type", "value", "category", "entry_id", "created_at")
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement per batch, the columns as arrays: psycopg parses no long list of placeholders.
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT %s, u.t, u.v, u.c, u.e, %s "  # noqa: S608 - names are ours
                "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS u(t, v, c, e) "
                "ON CONFLICT DO NOTHING",
                [
                    hash_list.pk,
                    now,
                    [r.hash_type for r in rows],
                    [r.value for r in rows],
                    [r.category for r in rows],
                    [r.entry_id for r in rows],
                ],
            )
            return
        for start in range(0, len(rows), INSERT_ROWS):
            part = rows[start : start + INSERT_ROWS]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(part))
            params = [
                v for r in part for v in (hash_list.pk, r.hash_type, r.value, r.category, r.entry_id, now)
            ]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT DO NOTHING",  # noqa: S608 - names are ours
                params,
            )


def import_rows(
    actor: Any,
    hash_list: HashList,
    rows: Iterable[ListRow],
    *,
    batch_size: int = 5000,
    progress: Any = None,
    match: bool = True,
) -> ImportResult:
    """Stream rows into a list in batches (one transaction each): new entries are added, entries already
    in the list skipped, deletions tombstoned. Then only the new entries are matched against the vault."""
    _require(actor, EvidencePermission.HASHLIST_MANAGE, None)
    result = ImportResult(hash_list)
    before = HashEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    batch: list[ListRow] = []

    def flush() -> None:
        adds = [r for r in batch if not r.deleted]
        deletions = [r for r in batch if r.deleted]
        with transaction.atomic():
            if adds:
                _insert_entries(hash_list, adds)
            if deletions:
                cond = Q()
                for r in deletions:
                    cond |= Q(hash_type=r.hash_type, value=r.value)
                result.tombstoned += HashEntry.objects.filter(
                    cond, hash_list=hash_list, deleted_at__isnull=True
                ).update(deleted_at=timezone.now())
        if progress is not None:
            progress(len(batch))
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    new_ids = HashEntry.objects.filter(hash_list=hash_list, id__gt=before)
    result.added_by_type = dict(
        new_ids.order_by("hash_type")
        .values_list("hash_type")
        .annotate(n=Count("id"))
        .values_list("hash_type", "n")
    )
    result.added = sum(result.added_by_type.values())
    result.first_new_id = new_ids.order_by("id").values_list("id", flat=True).first()
    with transaction.atomic():
        HashList.objects.filter(pk=hash_list.pk).update(version=F("version") + 1, updated_at=timezone.now())
        fields = ["entries"] + (["deleted_at"] if result.tombstoned else [])
        audit.record(actor, EvidenceAudit.HASHLIST_IMPORT, hash_list, fields)
    hash_list.refresh_from_db()
    if match and result.first_new_id is not None:
        from amparo.evidence import matching

        matching.invalidate()
        result.matches = matching.match_new_entries(hash_list, after_id=before)
    elif result.tombstoned:
        from amparo.evidence import matching

        matching.invalidate()
    return result


def import_vpdq(
    actor: Any, hash_list: HashList, videos: Iterable[tuple[str, str, list[Any]]], *, match: bool = True
) -> ImportResult:
    """Add listed videos to a list: each ``(entry id, category, vPDQ frames)`` becomes one entry whose
    value is the SHA-256 of its frame lines (a video listed twice is skipped), then the vault's videos
    are matched against the new entries."""
    from amparo.evidence import vpdq

    _require(actor, EvidencePermission.HASHLIST_MANAGE, None)
    result = ImportResult(hash_list)
    before = HashEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with transaction.atomic():
        for entry_id, category, frames in videos:
            lines = vpdq.format_lines(frames)
            value = hashlib.sha256(lines.encode()).hexdigest()
            _, created = HashEntry.objects.get_or_create(
                hash_list=hash_list,
                hash_type=HashType.VPDQ,
                value=value,
                defaults={"frames": lines, "category": category[:100], "entry_id": entry_id[:100]},
            )
            result.added += created
            result.skipped += not created
        HashList.objects.filter(pk=hash_list.pk).update(version=F("version") + 1, updated_at=timezone.now())
        audit.record(actor, EvidenceAudit.HASHLIST_IMPORT, hash_list, ["entries"])
    hash_list.refresh_from_db()
    if match and result.added:
        from amparo.evidence import matching

        matching.invalidate()
        result.matches = matching.match_new_entries(hash_list, after_id=before)
    return result


def export_case_hashes(actor: Any, case: Case) -> Iterator[EvidenceItem]:
    """The items whose hashes a case export carries (never files): audited, and an EXPORTED custody event
    per item. The caller writes them out through amparo.evidence.formats."""
    _require(actor, EvidencePermission.EXPORT_HASHES, case)
    items = list(
        EvidenceItem.objects.filter(case=case).prefetch_related("matches").order_by("received_at", "id")
    )
    with transaction.atomic():
        for item in items:
            _custody(
                actor, item, CustodyKind.EXPORTED, EvidenceAudit.ITEM_EXPORT, detail={"content": "hashes"}
            )
        audit.record(actor, EvidenceAudit.HASHES_EXPORT, case, ["sha256", "sha1", "md5", "pdq"])
    return iter(items)
