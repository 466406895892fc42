"""Matching evidence against hash lists, on the database side.

* Exact hashes (SHA-256, SHA-1, MD5) are looked up through the (hash_type, value) database index.
* PDQ goes through one in-memory index (amparo.evidence.index, back-end chosen by
  ``AMPARO_PDQ_INDEX``: numpy, faiss or mih) holding every live PDQ entry of every list. It is rebuilt
  and swapped atomically when the lists change (a fingerprint of the entries is compared before each
  use, so every process notices changes made by another). A hit counts when its distance is within the
  list's own threshold (default 31, never above 52); all 8 rotations and mirror images of the item are
  searched and the smallest distance kept. A PDQ of quality under 50 is never matched automatically.
* Videos: vPDQ as the reference defines it (``amparo.evidence.vpdq``): frames of quality >= 50 closer
  than 31 bits; a video matches a listed one when the share of matched frames reaches
  ``AMPARO_VPDQ_QUERY_SHARE`` on its side and ``AMPARO_VPDQ_TARGET_SHARE`` on the listed side (80 and
  80 by default). The candidate's ``distance`` is then the percentage of frames unmatched on the worse
  side, and its shares are reported.
* ``candidates_for_many`` looks up a batch of files at once (``amparo evidence scan``): one database
  query per exact hash type, one index search for every PDQ hash of the batch.
* After an import, only the new entries are matched against the vault (`match_new_entries`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Count, Max, Sum

from amparo.evidence import actions, pdq, vpdq
from amparo.evidence.index import IndexHolder, build_index
from amparo.evidence.models import EvidenceItem, HashEntry, HashList, HashType
from amparo.lib.env import ConfigError, env_int, env_str

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
    distance: int  # for vPDQ: the percentage of frames unmatched on the worse side
    category: str
    query_share: float | None = None  # vPDQ: percent of the file's good frames matched
    target_share: float | None = None  # vPDQ: percent of the listed video's good frames matched

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "list": self.hash_list_name,
            "hash_type": self.hash_type,
            "distance": self.distance,
            "category": self.category,
        }
        if self.query_share is not None:
            data |= {
                "query_share": round(self.query_share, 1),
                "target_share": round(self.target_share or 0, 1),
            }
        return data


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


def _radius() -> int:
    top = HashList.objects.aggregate(t=Max("pdq_threshold"))["t"]
    return min(top if top is not None else pdq.DEFAULT_THRESHOLD, pdq.MAX_THRESHOLD)


@dataclass(frozen=True)
class Query:
    """One file's hashes to look up: exact, PDQ (the 8 dihedral hashes and their quality), vPDQ."""

    sha256: str = ""
    sha1: str = ""
    md5: str = ""
    pdq_hashes: Sequence[str] = ()
    quality: int | None = None
    vpdq: Sequence[str] = ()  # frame lines


def vpdq_shares() -> tuple[float, float]:
    """The shares (percent) of matching frames a video needs on the query's and the listed side."""
    return (
        float(env_int("AMPARO_VPDQ_QUERY_SHARE", int(vpdq.DEFAULT_QUERY_SHARE), minimum=1)),
        float(env_int("AMPARO_VPDQ_TARGET_SHARE", int(vpdq.DEFAULT_TARGET_SHARE), minimum=1)),
    )


_vpdq_cache: tuple[tuple, list[tuple[int, list[vpdq.Frame]]]] | None = None


def _vpdq_entries() -> list[tuple[int, list[vpdq.Frame]]]:
    """Every live vPDQ entry's frames, parsed once per change of the entries."""
    global _vpdq_cache
    live = HashEntry.objects.filter(hash_type=HashType.VPDQ, deleted_at__isnull=True)
    stamp = tuple(live.aggregate(n=Count("id"), top=Max("id")).values())
    cache = _vpdq_cache
    if cache is not None and cache[0] == stamp:
        return cache[1]
    entries = [(entry_id, vpdq.parse_lines(frames)) for entry_id, frames in live.values_list("id", "frames")]
    _vpdq_cache = (stamp, entries)
    return entries


def candidates_for_many(queries: Sequence[Query]) -> list[list[Candidate]]:
    """Look up a batch of files at once: one database query for every exact hash, one index search for
    every PDQ hash of the batch, and the listed videos for each vPDQ. A PDQ of quality under 50 is
    never matched (such an image is flagged for a person)."""
    pairs: list[dict[int, int]] = [{} for _ in queries]
    shares: dict[tuple[int, int], tuple[float, float]] = {}
    # Exact hashes.
    wanted: dict[tuple[str, str], list[int]] = {}
    for k, q in enumerate(queries):
        for kind, value in ((HashType.SHA256, q.sha256), (HashType.SHA1, q.sha1), (HashType.MD5, q.md5)):
            if value:
                wanted.setdefault((str(kind), value.lower()), []).append(k)
    for kind in (HashType.SHA256, HashType.SHA1, HashType.MD5):
        values = [v for (t, v) in wanted if t == kind]
        for start in range(0, len(values), QUERY_BATCH):
            rows = HashEntry.objects.filter(
                hash_type=kind, value__in=values[start : start + QUERY_BATCH], deleted_at__isnull=True
            ).values_list("id", "value")
            for entry_id, value in rows:
                for k in wanted[(str(kind), value)]:
                    pairs[k][entry_id] = 0
    # PDQ: one batched search.
    owners: list[int] = []
    hashes: list[str] = []
    for k, q in enumerate(queries):
        if q.pdq_hashes and q.quality is not None and q.quality >= pdq.MIN_QUALITY:
            owners += [k] * len(q.pdq_hashes)
            hashes += list(q.pdq_hashes)
    if hashes:
        for k, hits in zip(owners, current_index().search_many(hashes, _radius()), strict=True):
            for entry_id, distance in hits:
                if distance < pairs[k].get(entry_id, distance + 1):
                    pairs[k][entry_id] = distance
    # vPDQ: the reference's brute-force comparison with every listed video.
    if any(q.vpdq for q in queries):
        need_query, need_target = vpdq_shares()
        listed = _vpdq_entries()
        for k, q in enumerate(queries):
            if not q.vpdq:
                continue
            frames = vpdq.parse_lines(q.vpdq)
            for entry_id, target in listed:
                found = vpdq.match(frames, target)
                if found.matches(need_query, need_target):
                    pairs[k][entry_id] = round(100 - min(found.query_share, found.target_share))
                    shares[(k, entry_id)] = (found.query_share, found.target_share)
    return _resolve(pairs, shares)


def _resolve(
    pairs: list[dict[int, int]], shares: dict[tuple[int, int], tuple[float, float]]
) -> list[list[Candidate]]:
    """(entry id, distance) per query -> candidates within their list's threshold, one database query."""
    ids = {entry_id for found in pairs for entry_id in found}
    if not ids:
        return [[] for _ in pairs]
    entries = {
        e.pk: e
        for e in HashEntry.objects.filter(pk__in=ids, deleted_at__isnull=True).select_related("hash_list")
    }
    results: list[list[Candidate]] = []
    for k, found in enumerate(pairs):
        out = []
        for entry_id, distance in found.items():
            entry = entries.get(entry_id)
            if entry is None:
                continue
            if entry.hash_type == HashType.PDQ and distance > min(
                entry.hash_list.pdq_threshold, pdq.MAX_THRESHOLD
            ):
                continue
            share = shares.get((k, entry_id))
            out.append(
                Candidate(
                    entry.pk,
                    entry.hash_list_id,
                    entry.hash_list.name,
                    entry.hash_type,
                    distance,
                    entry.category,
                    *(share or (None, None)),
                )
            )
        results.append(sorted(out, key=lambda c: (c.distance, c.hash_list_name, c.entry_id)))
    return results


def exact_candidates(*, sha256: str = "", sha1: str = "", md5: str = "") -> list[Candidate]:
    return candidates_for_many([Query(sha256=sha256, sha1=sha1, md5=md5)])[0]


def pdq_candidates(hashes: Sequence[str], quality: int | None) -> list[Candidate]:
    """Entries within their list's threshold of any of `hashes` (an image's 8 dihedral hashes).
    Nothing for a PDQ of quality under 50: such an image is flagged for a person, never matched."""
    return candidates_for_many([Query(pdq_hashes=hashes, quality=quality)])[0]


def candidates_for(
    *,
    sha256: str,
    sha1: str = "",
    md5: str = "",
    pdq_hashes: Sequence[str] = (),
    quality: int | None = None,
    vpdq_frames: Sequence[str] = (),
) -> list[Candidate]:
    query = Query(sha256, sha1, md5, pdq_hashes, quality, vpdq_frames)
    return candidates_for_many([query])[0]


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
        vpdq_frames=item.vpdq or (),
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
    hits += _vpdq_new_entries(hash_list, new.filter(hash_type=HashType.VPDQ))
    return actions.record_matches(hits)


def _vpdq_new_entries(hash_list: HashList, entries: Any) -> list[actions.Hit]:
    """Every video in the vault against newly listed videos (the reference's brute-force match)."""
    listed = [(e, c, vpdq.parse_lines(f)) for e, f, c in entries.values_list("id", "frames", "category")]
    if not listed:
        return []
    need_query, need_target = vpdq_shares()
    hits = []
    items = EvidenceItem.objects.filter(destroyed_at__isnull=True).exclude(vpdq=[]).values_list("id", "vpdq")
    for item_id, lines in items.iterator(chunk_size=100):
        frames = vpdq.parse_lines(lines)
        for entry_id, category, target in listed:
            found = vpdq.match(frames, target)
            if found.matches(need_query, need_target):
                distance = round(100 - min(found.query_share, found.target_share))
                hits.append(actions.Hit(item_id, entry_id, hash_list.pk, HashType.VPDQ, distance, category))
    return hits


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
