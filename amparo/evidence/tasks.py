"""Background work of the vault. Tasks take ids only (never personal data) and load inside."""

from __future__ import annotations

import hashlib
import logging

from django_tasks import task

from amparo.evidence import actions, hashing, pdq, vault
from amparo.evidence.models import EvidenceItem
from amparo.lib.env import env_int

logger = logging.getLogger(__name__)

# Images and videos up to this size are hashed perceptually (in a child process, from memory);
# larger files get exact hashes only.
PERCEPTUAL_MAX_BYTES = 256 * 1024 * 1024


def seconds_per_hash() -> float:
    """vPDQ sampling: one frame every AMPARO_VPDQ_SECONDS_PER_HASH seconds (default 1)."""
    return float(env_int("AMPARO_VPDQ_SECONDS_PER_HASH", 1, minimum=1))


def perceptual(data: bytes) -> hashing.FileHashes:
    """PDQ (fast path) or vPDQ of a file's bytes in the bounded child; a child that dies or stalls
    gives a result that says so, never an exception that would lose the exact hashes."""
    try:
        return hashing.shared_hasher().run(hashing.hash_bytes, data, seconds_per_hash=seconds_per_hash())
    except hashing.HashingFailed as exc:
        return hashing.FileHashes(size=len(data), not_hashed=exc.reason)


@task()
def hash_item(item_id: str) -> None:
    """SHA-256 (re-verified), SHA-1 and MD5 of an item's plaintext; for images PDQ + quality + the 8
    dihedral hashes, for videos vPDQ, computed in a child process under a memory limit (a hostile file
    is marked "not hashed" on its custody chain instead of taking the worker down); then matching
    against every hash list and proposals to link cases holding the same file."""
    from amparo.evidence import matching

    item = EvidenceItem.objects.filter(pk=item_id, destroyed_at__isnull=True).first()
    if item is None:
        return
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(usedforsecurity=False)
    md5 = hashlib.md5(usedforsecurity=False)
    header = b""
    kind: str | None = None
    media: list[bytes] | None = None
    try:
        for chunk in vault.read_chunks(item):
            if not header:
                header = chunk[: pdq.HEADER_BYTES]
                kind = hashing.media_type(header)
                if kind is not None and item.size <= PERCEPTUAL_MAX_BYTES:
                    media = []
            sha256.update(chunk)
            sha1.update(chunk)
            md5.update(chunk)
            if media is not None:
                media.append(chunk)
    except vault.IntegrityAlarm:
        actions.mark_hashing_failed(item)
        logger.error("evidence item %s failed verification while hashing", item.pk)
        return
    found: hashing.FileHashes | None = None
    if media is not None:
        found = perceptual(b"".join(media))
        media = None
        if found.not_hashed:
            logger.warning("evidence item %s not hashed perceptually: %s", item.pk, found.not_hashed)
    elif kind is not None:
        found = hashing.FileHashes(size=item.size, media_type=kind, not_hashed=hashing.NOT_HASHED_TOO_LARGE)
    pdq_result = None
    if found is not None and found.pdq is not None:
        pdq_result = pdq.PdqResult(found.pdq, int(found.quality or 0))
    item = actions.record_hashes(
        item,
        sha256=sha256.hexdigest(),
        sha1=sha1.hexdigest(),
        md5=md5.hexdigest(),
        pdq_result=pdq_result,
        dihedral=found.dihedral if found is not None and pdq_result is not None else None,
        vpdq=found.vpdq if found is not None else None,
        not_hashed=found.not_hashed if found is not None else None,
    )
    matching.match_item(item)
    actions.propose_links(item)
