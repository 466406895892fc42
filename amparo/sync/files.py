"""Evidence files from a district node to the national server, in resumable pieces.

The node offers each evidence item it holds and the national server has not confirmed (`offer`), learns
how many bytes already arrived, and sends the rest in pieces of PIECE_BYTES (`receive_piece`), each in
its own signed request. A piece sent twice, or a piece whose answer was lost, changes nothing: the
server answers with the offset it expects next and the node carries on from there. Each piece is sealed
in the vault as it arrives (never plaintext on disk); with the last byte the pieces are re-sealed as one
evidence item under the node's item id, its SHA-256 checked against the node's, and the pieces removed.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from amparo.cases.models import Case
from amparo.core import audit
from amparo.core.models import Agency
from amparo.evidence import vault
from amparo.evidence.models import CustodyEvent, EvidenceItem
from amparo.evidence.storage import get_storage, max_bytes
from amparo.sync.models import FilePiece, FileUpload, Node, SentFile
from amparo.sync.protocol import ProtocolError

if TYPE_CHECKING:
    from amparo.sync.client import Client

PIECE_BYTES = 128 * 1024  # small enough to get through a bad 2G link between resets


class _Staged:
    """What `vault.seal` needs to find the pieces' bytes again."""

    def __init__(self, sealed: vault.Sealed) -> None:
        self.sealed = sealed


# ---------------------------------------------------------------- national side


def _uuid(value: Any, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ProtocolError(f"{what} is not a UUID") from None


def offer(node: Node, payload: dict[str, Any]) -> dict[str, Any]:
    """The node announces a file; the answer says how many bytes the server already holds."""
    item_id = _uuid(payload.get("item"), "item")
    if EvidenceItem.objects.filter(pk=item_id).exists():
        return {"received": int(payload.get("size", 0)), "complete": True}
    case_id = _uuid(payload.get("case"), "case")
    if not Case.objects.filter(pk=case_id, district_id=node.district_id).exists():
        raise ProtocolError(
            "the file's case is not known here or not in this node's district; push the case first"
        )
    size, sha256 = payload.get("size"), str(payload.get("sha256", ""))
    if not isinstance(size, int) or size < 0 or size > max_bytes():
        raise ProtocolError("the file's size is missing or larger than the vault accepts")
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ProtocolError("the file's SHA-256 must be 64 lower-case hexadecimal digits")
    agency = str(payload.get("agency", ""))
    if not Agency.objects.filter(code=agency).exists():
        raise ProtocolError("the receiving agency is unknown")
    upload, _created = FileUpload.objects.get_or_create(
        node=node,
        item_id=item_id,
        defaults={
            "case_id": case_id,
            "agency_code": agency,
            "size": size,
            "sha256": sha256,
            "original_name": str(payload.get("name", ""))[:255],
            "declared_type": str(payload.get("type", ""))[:120],
        },
    )
    if (upload.size, upload.sha256) != (size, sha256):
        raise ProtocolError("the file changed since it was first offered")
    if upload.received == upload.size:  # every byte is in but completing failed last time: try again
        _complete(node, upload)
    return {"received": upload.received, "complete": upload.completed_at is not None}


class _AlreadyHave(Exception):
    """Another request stored this piece first."""


def receive_piece(node: Node, payload: dict[str, Any]) -> dict[str, Any]:
    item_id = _uuid(payload.get("item"), "item")
    upload = FileUpload.objects.filter(node=node, item_id=item_id).first()
    if upload is None:
        raise ProtocolError("offer the file before sending its pieces")
    offset = payload.get("offset")
    try:
        data = base64.b64decode(str(payload.get("data", "")), validate=True)
    except binascii.Error:
        raise ProtocolError("the piece is not valid base64") from None
    if not isinstance(offset, int) or offset < 0:
        raise ProtocolError("the piece's offset is missing")
    if upload.completed_at is None and offset == upload.received and data:
        if offset + len(data) > upload.size:
            raise ProtocolError("the piece goes past the end of the file")
        sealed = vault.seal(uuid.uuid4(), [data])
        try:
            with transaction.atomic():
                locked = FileUpload.objects.select_for_update().get(pk=upload.pk)
                if locked.received != offset:  # a concurrent retry got there first
                    raise _AlreadyHave
                FilePiece.objects.create(
                    id=sealed.item_id,
                    upload=locked,
                    offset=offset,
                    size=sealed.size,
                    sha256=sealed.sha256,
                    storage_key=sealed.storage_key,
                    wrapped_key=sealed.wrapped_key,
                    master_key_id=sealed.master_key_id,
                    chunk_size=sealed.chunk_size,
                    chunk_count=sealed.chunk_count,
                )
                locked.received = offset + len(data)
                locked.save(update_fields=["received"])
        except BaseException:
            get_storage().delete(sealed.storage_key)
            upload.refresh_from_db()
            if upload.received == offset:
                raise
        upload.refresh_from_db()
        if upload.received == upload.size:
            _complete(node, upload)
    # A repeated or early piece: say where to carry on.
    return {"received": upload.received, "complete": upload.completed_at is not None}


def _plaintext(upload: FileUpload) -> Iterator[bytes]:
    for piece in upload.pieces.order_by("offset"):
        yield from vault.read_staged(piece)


def _complete(node: Node, upload: FileUpload) -> None:
    from amparo.evidence import actions as evidence_actions

    storage = get_storage()
    leftover = vault.storage_key_for(upload.item_id)
    if storage.exists(leftover) and not EvidenceItem.objects.filter(pk=upload.item_id).exists():
        storage.delete(leftover)  # sealed by an attempt that died before its record was written
    try:
        sealed = vault.seal(upload.item_id, _plaintext(upload))
    except vault.IntegrityAlarm:
        _restart(upload)
        raise ProtocolError("a stored piece failed verification; the file will be sent again") from None
    if sealed.sha256 != upload.sha256 or sealed.size != upload.size:
        get_storage().delete(sealed.storage_key)
        _restart(upload)
        raise ProtocolError("the file's SHA-256 does not match the one offered; it will be sent again")
    case = Case.objects.get(pk=upload.case_id)
    try:
        evidence_actions.add_item(
            audit.Actor(channel=f"node:{node.name}"),
            case,
            _Staged(sealed),
            original_name=upload.original_name,
            declared_type=upload.declared_type,
            received_from=f"district node {node.name}",
            channel="sync",
            received_by=Agency.objects.get(code=upload.agency_code),
        )
    except BaseException:
        get_storage().delete(sealed.storage_key)
        raise
    _drop_pieces(upload)
    FileUpload.objects.filter(pk=upload.pk).update(completed_at=timezone.now())
    upload.refresh_from_db()


def _drop_pieces(upload: FileUpload) -> None:
    storage = get_storage()
    for piece in list(upload.pieces.all()):
        storage.delete(piece.storage_key)
        piece.delete()


def _restart(upload: FileUpload) -> None:
    _drop_pieces(upload)
    FileUpload.objects.filter(pk=upload.pk).update(received=0)
    upload.refresh_from_db()


# ---------------------------------------------------------------- node side


def unsent_items() -> list[EvidenceItem]:
    sent = SentFile.objects.values_list("item_id", flat=True)
    return list(
        EvidenceItem.objects.filter(destroyed_at__isnull=True)
        .exclude(pk__in=sent)
        .select_related("received_by_agency")
        .order_by("received_at")
    )


def unsent_count() -> int:
    sent = SentFile.objects.values_list("item_id", flat=True)
    return EvidenceItem.objects.filter(destroyed_at__isnull=True).exclude(pk__in=sent).count()


def _bytes_from(item: EvidenceItem, offset: int) -> Iterator[bytes]:
    """The item's plaintext from `offset` on, in pieces of PIECE_BYTES (verified as read)."""
    buffer = bytearray()
    position = 0
    for chunk in vault.read_chunks(item):
        if position + len(chunk) <= offset:
            position += len(chunk)
            continue
        start = max(0, offset - position)
        buffer += chunk[start:]
        position += len(chunk)
        while len(buffer) >= PIECE_BYTES:
            yield bytes(buffer[:PIECE_BYTES])
            del buffer[:PIECE_BYTES]
    if buffer:
        yield bytes(buffer)


def send_files(client: Client) -> int:
    """Send every evidence file the national server has not confirmed; returns how many completed."""
    done = 0
    for item in unsent_items():
        answer = client.call(
            "/sync/v1/file/offer",
            {
                "item": str(item.pk),
                "case": str(item.case_id),
                "agency": item.received_by_agency.code,
                "size": item.size,
                "sha256": item.sha256,
                "name": item.original_name,
                "type": item.declared_type,
            },
        )
        pieces: Iterator[bytes] | None = None
        position = -1
        while not answer.get("complete"):
            offset = int(answer["received"])
            if pieces is None or offset != position:  # first piece, or the server wants another offset
                pieces, position = _bytes_from(item, offset), offset
            piece = next(pieces, b"")
            if not piece:
                break
            position += len(piece)
            answer = client.call(
                "/sync/v1/file/piece",
                {"item": str(item.pk), "offset": offset, "data": base64.b64encode(piece).decode("ascii")},
            )
            client.report.file_bytes += len(piece)
        if answer.get("complete"):
            SentFile.objects.get_or_create(item_id=item.pk, defaults={"sent_at": timezone.now()})
            done += 1
    return done


def wipe_evidence() -> dict[str, int]:
    """The wipe hook: erase every evidence file and record held on this node."""
    storage = get_storage()
    items = list(EvidenceItem.objects.values_list("storage_key", flat=True))
    for key in items:
        storage.delete(key)
    custody, _ = CustodyEvent.objects.all().delete()
    deleted, _ = EvidenceItem.objects.all().delete()
    SentFile.objects.all().delete()
    return {"evidence.CustodyEvent": custody, "evidence.EvidenceItem": deleted}


__all__ = [
    "PIECE_BYTES",
    "offer",
    "receive_piece",
    "send_files",
    "unsent_count",
    "unsent_items",
    "wipe_evidence",
]


def rewrap_pieces() -> int:
    """Re-wrap the key of every received file piece under the current master key (registered with
    core.keys: the master-key rotation runs it). Resumable; returns how many were re-wrapped."""
    return vault.rewrap_rows(FilePiece, batch=500)
