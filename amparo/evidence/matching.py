"""Matching evidence against hash lists, on the database side.

* Exact hashes (SHA-256, SHA-1, MD5) are looked up through the (hash_type, value) database index.
* PDQ goes through one in-memory index (amparo.evidence.index, back-end chosen by
  ``AMPARO_PDQ_INDEX``: numpy, faiss or mih) holding every live PDQ entry of every list. It is rebuilt
  and swapped atomically when the lists change (a fingerprint of the entries is compared before each
  use, so every process notices changes made by another). A hit counts when its distance is within the
  list's own threshold (default 31, never above 52); all 8 rotations and mirror images of the item are
  searched and the smallest distance kept. A PDQ of quality under 50 is never matched automatically.
* After an import, only the new entries are matched against the vault (`match_new_entries`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Count, Max, Q, Sum

from amparo.evidence import actions, pdq
from amparo.evidence.index import IndexHolder, build_index
from amparo.evidence.models import EvidenceItem, HashEntry, HashList, HashType
from amparo.lib.env import ConfigError, env_str

QUERY_BATCH = 1000
LOAD_BATCH = 100_000


def backend() -> str:
    name = env_str("AMPARO_PDQ_INDEX", "numpy")
    if name not in ("numpy", "faiss", "mih"):
        raise ConfigError(f"AMPARO_PDQ_INDEX must be numpy, faiss or mih; got {name!r}.")
    return name


@dataclass(frozen=True)
class Candidate:
    """A hash list entry within reach of a hash (not yet tied to an item)."""

    entry_id: int
    hash_list_id: int
    hash_list_name: str
    hash_type: str
    distance: int
    category: str

    def as_json(self) -> dict[str, Any]:
        return {
            "list": self.hash_list_name,
            "hash_type": self.hash_type,
            "distance": self.distance,
            "category": self.category,
        }


# ---------------------------------------------------------------------------
# The PDQ index of every live entry

_lock = threading.Lock()
_holder: IndexHolder | None = None
_fingerprint: tuple | None = None


def _live_pdq():  # noqa: ANN202
    return HashEntry.objects.filter(hash_type=HashType.PDQ, deleted_at__isnull=True)


def fingerprint() -> tuple:
    """Changes whenever a PDQ entry is added or tombstoned, or a list's threshold or version changes."""
    entries = _live_pdq().aggregate(n=Count("id"), top=Max("id"))
    lists = HashList.objects.aggregate(v=Sum("version"), t=Sum("pdq_threshold"), n=Count("id"))
    return (entries["n"], entries["top"], lists["v"], lists["t"], lists["n"], backend())


def _load(entries: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """PDQ entries (default: every live one) as a (n, 32) uint8 array and their ids, streamed from the
    database in batches: 32 bytes + 8 per entry, never a Python object per entry kept."""
    entries = _live_pdq() if entries is None else entries
    total = entries.count()
    hashes = np.zeros((total, pdq.PDQ_BYTES), dtype=np.uint8)
    ids = np.zeros(total, dtype=np.int64)
    n = 0
    for entry_id, value in entries.order_by("id").values_list("id", "value").iterator(chunk_size=LOAD_BATCH):
        if n >= total:  # entries added while loading are picked up by the next rebuild
            break
        hashes[n] = np.frombuffer(bytes.fromhex(value), dtype=np.uint8)
        ids[n] = entry_id
        n += 1
    return hashes[:n], ids[:n]


def current_index() -> IndexHolder:
    """The index of every live PDQ entry, rebuilt and swapped if the lists changed since it was built."""
    global _holder, _fingerprint
    now = fingerprint()
    with _lock:
        if _holder is None or _holder.backend != now[-1]:
            _holder = IndexHolder(backend=now[-1])
            _fingerprint = None
        holder = _holder
        stale = _fingerprint != now
    if stale:
        holder.rebuild(_load)
        with _lock:
            _fingerprint = now
    return holder


def invalidate() -> None:
    global _fingerprint
    with _lock:
        _fingerprint = None


# ---------------------------------------------------------------------------
# Look-ups


def _candidates(pairs: Iterable[tuple[int, int]]) -> list[Candidate]:
    """(entry id, distance) pairs -> candidates within their list's threshold, best distance per entry."""
    best: dict[int, int] = {}
    for entry_id, distance in pairs:
        if entry_id not in best or distance < best[entry_id]:
            best[entry_id] = distance
    if not best:
        return []
    found = []
    entries = HashEntry.objects.filter(pk__in=list(best), deleted_at__isnull=True).select_related("hash_list")
    for entry in entries:
        distance = best[entry.pk]
        if entry.hash_type == HashType.PDQ and distance > min(
            entry.hash_list.pdq_threshold, pdq.MAX_THRESHOLD
        ):
            continue
        found.append(
            Candidate(
                entry.pk, entry.hash_list_id, entry.hash_list.name, entry.hash_type, distance, entry.category
            )
        )
    return sorted(found, key=lambda c: (c.distance, c.hash_list_name, c.entry_id))


def _radius() -> int:
    top = HashList.objects.aggregate(t=Max("pdq_threshold"))["t"]
    return min(top if top is not None else pdq.DEFAULT_THRESHOLD, pdq.MAX_THRESHOLD)


def exact_candidates(*, sha256: str = "", sha1: str = "", md5: str = "") -> list[Candidate]:
    cond = Q()
    for kind, value in ((HashType.SHA256, sha256), (HashType.SHA1, sha1), (HashType.MD5, md5)):
        if value:
            cond |= Q(hash_type=kind, value=value.lower())
    if not cond:
        return []
    ids = HashEntry.objects.filter(cond, deleted_at__isnull=True).values_list("id", flat=True)
    return _candidates((entry_id, 0) for entry_id in ids)


def pdq_candidates(hashes: Sequence[str], quality: int | None) -> list[Candidate]:
    """Entries within their list's threshold of any of `hashes` (an image's 8 dihedral hashes).
    Nothing for a PDQ of quality under 50: such an image is flagged for a person, never matched."""
    if not hashes or quality is None or quality < pdq.MIN_QUALITY:
        return []
    results = current_index().search_many(list(hashes), _radius())
    return _candidates(pair for hits in results for pair in hits)


def candidates_for(
    *, sha256: str, sha1: str = "", md5: str = "", pdq_hashes: Sequence[str] = (), quality: int | None = None
) -> list[Candidate]:
    return exact_candidates(sha256=sha256, sha1=sha1, md5=md5) + pdq_candidates(pdq_hashes, quality)


# ---------------------------------------------------------------------------
# Matching the vault


def _hits(item_id: uuid.UUID, found: Iterable[Candidate]) -> list[actions.Hit]:
    return [
        actions.Hit(item_id, c.entry_id, c.hash_list_id, c.hash_type, c.distance, c.category) for c in found
    ]


def _item_pdq_hashes(item: EvidenceItem) -> list[str]:
    return list(item.pdq_dihedral or ([item.pdq] if item.pdq else []))


def match_item(item: EvidenceItem) -> int:
    """Match one hashed item against every list; returns the number of new matches."""
    found = candidates_for(
        sha256=item.sha256,
        sha1=item.sha1,
        md5=item.md5,
        pdq_hashes=_item_pdq_hashes(item),
        quality=item.pdq_quality,
    )
    return actions.record_matches(_hits(item.pk, found))


def match_new_entries(hash_list: HashList, *, after_id: int) -> int:
    """Match only the entries of `hash_list` added after `after_id` against every item in the vault."""
    new = HashEntry.objects.filter(hash_list=hash_list, id__gt=after_id, deleted_at__isnull=True)
    hits: list[actions.Hit] = []
    for kind, field in ((HashType.SHA256, "sha256"), (HashType.SHA1, "sha1"), (HashType.MD5, "md5")):
        entries = (
            new.filter(hash_type=kind).values_list("id", "value", "category").iterator(chunk_size=QUERY_BATCH)
        )
        batch: list[tuple[int, str, str]] = []
        for row in entries:
            batch.append(row)
            if len(batch) >= QUERY_BATCH:
                hits += _exact_batch(hash_list, kind, field, batch)
                batch = []
        if batch:
            hits += _exact_batch(hash_list, kind, field, batch)
    new_pdq = new.filter(hash_type=HashType.PDQ)
    if new_pdq.exists():
        hashes, ids = _load(new_pdq)
        index = build_index(hashes, ids, backend())
        threshold = min(hash_list.pdq_threshold, pdq.MAX_THRESHOLD)
        items = (
            EvidenceItem.objects.filter(destroyed_at__isnull=True, pdq_quality__gte=pdq.MIN_QUALITY)
            .exclude(pdq="")
            .values_list("id", "pdq", "pdq_dihedral")
            .iterator(chunk_size=QUERY_BATCH)
        )
        item_batch: list[tuple[uuid.UUID, list[str]]] = []
        for item_id, item_pdq, dihedral in items:
            item_batch.append((item_id, list(dihedral or [item_pdq])))
            if len(item_batch) >= QUERY_BATCH:
                hits += _pdq_batch(index, item_batch, threshold, hash_list.pk)
                item_batch = []
        if item_batch:
            hits += _pdq_batch(index, item_batch, threshold, hash_list.pk)
    return actions.record_matches(hits)


def _pdq_batch(
    index: Any, batch: list[tuple[uuid.UUID, list[str]]], threshold: int, list_id: int
) -> list[actions.Hit]:
    """One search for a batch of items' dihedral hashes; the best distance per (item, entry)."""
    queries = [h for _, hashes in batch for h in hashes]
    owners = [item_id for item_id, hashes in batch for _ in hashes]
    best: dict[tuple[uuid.UUID, int], int] = {}
    for owner, results in zip(owners, index.search_many(queries, threshold), strict=True):
        for entry_id, distance in results:
            key = (owner, entry_id)
            best[key] = min(distance, best.get(key, distance))
    if not best:
        return []
    category = dict(HashEntry.objects.filter(pk__in={e for _, e in best}).values_list("pk", "category"))
    return [
        actions.Hit(item_id, entry_id, list_id, HashType.PDQ, d, category.get(entry_id, ""))
        for (item_id, entry_id), d in best.items()
    ]


def _exact_batch(
    hash_list: HashList, kind: str, field: str, batch: list[tuple[int, str, str]]
) -> list[actions.Hit]:
    by_value = {value: (entry_id, category) for entry_id, value, category in batch}
    items = EvidenceItem.objects.filter(**{f"{field}__in": list(by_value)}).values_list("id", field)
    return [
        actions.Hit(item_id, by_value[value][0], hash_list.pk, kind, 0, by_value[value][1])
        for item_id, value in items
    ]
