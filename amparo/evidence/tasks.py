"""Background work of the vault. Tasks take ids only (never personal data) and load inside."""

from __future__ import annotations

import hashlib
import io
import logging

from django_tasks import task

from amparo.evidence import actions, pdq, vault
from amparo.evidence.models import EvidenceItem

logger = logging.getLogger(__name__)

# Images are decoded whole (Pillow needs it); larger images get exact hashes only.
PDQ_MAX_BYTES = 256 * 1024 * 1024


@task()
def hash_item(item_id: str) -> None:
    """SHA-256 (re-verified), SHA-1 and MD5 of an item's plaintext, PDQ + quality + the 8 dihedral hashes
    for images, then matching against every hash list and proposals to link cases holding the same file."""
    from amparo.evidence import matching

    item = EvidenceItem.objects.filter(pk=item_id, destroyed_at__isnull=True).first()
    if item is None:
        return
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(usedforsecurity=False)
    md5 = hashlib.md5(usedforsecurity=False)
    header = b""
    image: io.BytesIO | None = None
    try:
        for chunk in vault.read_chunks(item):
            if not header:
                header = chunk[: pdq.HEADER_BYTES]
                if pdq.is_image(header) and item.size <= PDQ_MAX_BYTES:
                    image = io.BytesIO()
            sha256.update(chunk)
            sha1.update(chunk)
            md5.update(chunk)
            if image is not None:
                image.write(chunk)
    except vault.IntegrityAlarm:
        actions.mark_hashing_failed(item)
        logger.error("evidence item %s failed verification while hashing", item.pk)
        return
    pdq_result, dihedral = None, None
    if image is not None:
        image.seek(0)
        try:
            pdq_result, dihedral = pdq.pdq_all(image)
        except pdq.PdqError:
            logger.warning("evidence item %s looks like an image but could not be PDQ-hashed", item.pk)
        finally:
            image.close()
    item = actions.record_hashes(
        item,
        sha256=sha256.hexdigest(),
        sha1=sha1.hexdigest(),
        md5=md5.hexdigest(),
        pdq_result=pdq_result,
        dihedral=dihedral,
    )
    matching.match_item(item)
    actions.propose_links(item)
