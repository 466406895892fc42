"""In-memory PDQ indexes: find every stored hash within a Hamming radius of a query.

Three back-ends sit behind one ``PdqIndex`` protocol and return identical results
(the same ``(id, distance)`` pairs, sorted by distance then id):

``NumpyIndex``
    Brute force. The 256-bit hashes are kept column-major as four ``uint64`` arrays
    (one per 64-bit word) so each pass reads contiguous memory; a block of queries is
    XORed against a block of the index and ``np.bitwise_count`` gives the distances.
    The first two words are a filter (a hash within ``r`` overall is within ``r`` on
    any half), and only the rare survivors are checked on all four words.

``FaissIndex``
    ``faiss.IndexBinaryFlat(256)`` with ``range_search``. Faiss keeps results with a
    distance *strictly* below its radius, so it is asked for ``radius + 1``.

``MihIndex``
    Multi-index hashing (Norouzi, Punjani and Fleet). The hash is cut into ``m``
    chunks; if two hashes are within ``r`` then, by the pigeonhole principle, some
    chunk is within ``r // m``. Each chunk is bucketed by its leading bits; a query
    probes only the buckets near its own chunks, filters the candidates on the whole
    chunk, and verifies the few survivors on all 256 bits. Exact, not approximate:
    when the radius is so wide that probing would touch a large share of the index it
    falls back to the brute-force scan.

``IndexHolder`` keeps the index in use and replaces it with a freshly built one by a
single reference swap under a lock, so a reader never sees a half-built index.

No Django imports here: the vault builds these from database rows and owns policy
(threshold per list, quality floor).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from itertools import combinations
from typing import Protocol, runtime_checkable

import numpy as np

from amparo.evidence.pdq import MAX_THRESHOLD, PDQ_BYTES, hex_to_bytes

Match = tuple[int, int]  # (id, distance)
HashInput = np.ndarray | Sequence[str]

BACKENDS = ("numpy", "faiss", "mih")


@runtime_checkable
class PdqIndex(Protocol):
    """Radius search over 256-bit PDQ hashes."""

    def build(self, hashes: HashInput, ids: Sequence[int] | np.ndarray | None = None) -> None:
        """Replace the contents with ``hashes`` (``uint8`` array (n, 32) or hex strings).

        ``ids`` are integers returned by searches (default: positions 0..n-1).
        """
        ...

    def search(self, query_hex: str, radius: int) -> list[Match]:
        """All ``(id, distance)`` with distance <= ``radius``, by distance then id."""
        ...

    def search_many(self, queries: Sequence[str], radius: int) -> list[list[Match]]:
        """``search`` for each query, in order."""
        ...

    def __len__(self) -> int: ...


# --------------------------------------------------------------------------- helpers


def _as_bytes(hashes: HashInput) -> np.ndarray:
    if isinstance(hashes, np.ndarray):
        array = np.ascontiguousarray(hashes, dtype=np.uint8)
        if array.ndim != 2 or array.shape[1] != PDQ_BYTES:
            raise ValueError("A hash array must have shape (n, 32) of uint8.")
        return array
    return hex_to_bytes(hashes)


def _as_ids(ids: Sequence[int] | np.ndarray | None, n: int) -> np.ndarray:
    """Ids as an integer array, ``int32`` when they fit (it halves their memory)."""
    if ids is None:
        return np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    array = np.asarray(ids, dtype=np.int64)
    if array.shape != (n,):
        raise ValueError(f"Expected {n} ids, got {array.shape[0] if array.ndim else 0}.")
    if n and array.min() >= -(2**31) and array.max() < 2**31:
        return array.astype(np.int32)
    return array


def _check_radius(radius: int) -> int:
    radius = int(radius)
    if not 0 <= radius <= MAX_THRESHOLD:
        raise ValueError(f"The radius must be between 0 and {MAX_THRESHOLD}.")
    return radius


def bytes_to_words(array: np.ndarray) -> np.ndarray:
    """(n, 32) ``uint8`` to column-major words: a (4, n) native ``uint64`` array.

    Word 0 holds the first 16 hex digits, most significant bit first.
    """
    n = array.shape[0]
    words = np.ascontiguousarray(array).view(">u8").reshape(n, 4).astype(np.uint64)
    return np.ascontiguousarray(words.T)


def hex_to_words(queries: Sequence[str]) -> np.ndarray:
    """Hex queries to a (q, 4) native ``uint64`` array (row per query)."""
    array = hex_to_bytes(queries)
    return array.view(">u8").reshape(len(queries), 4).astype(np.uint64)


def _sorted_matches(ids: np.ndarray, dists: np.ndarray) -> list[Match]:
    if ids.size == 0:
        return []
    order = np.lexsort((ids, dists))
    return [(int(i), int(d)) for i, d in zip(ids[order], dists[order], strict=True)]


# --------------------------------------------------------------------------- numpy


class NumpyIndex:
    """Brute-force scan over column-major ``uint64`` words with ``np.bitwise_count``."""

    name = "numpy"

    def __init__(self, block_rows: int = 1 << 15, query_block: int = 32) -> None:
        self.block_rows = block_rows
        self.query_block = query_block
        self._words = np.zeros((4, 0), dtype=np.uint64)
        self._ids = np.zeros(0, dtype=np.int64)

    def build(self, hashes: HashInput, ids: Sequence[int] | np.ndarray | None = None) -> None:
        array = _as_bytes(hashes)
        self._ids = _as_ids(ids, array.shape[0])
        self._words = bytes_to_words(array)

    def build_from_words(self, words: np.ndarray, ids: np.ndarray) -> None:
        """Adopt an existing (4, n) word array without copying (used by ``MihIndex``)."""
        self._words = words
        self._ids = ids

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self._words.nbytes + self._ids.nbytes)

    def search(self, query_hex: str, radius: int) -> list[Match]:
        return self.search_many([query_hex], radius)[0]

    def search_many(self, queries: Sequence[str], radius: int) -> list[list[Match]]:
        radius = _check_radius(radius)
        queries = list(queries)
        if not queries:
            return []
        return self._search_words(hex_to_words(queries), radius)

    def _search_words(self, qwords: np.ndarray, radius: int) -> list[list[Match]]:
        nq = qwords.shape[0]
        n = len(self)
        hit_q: list[np.ndarray] = []
        hit_pos: list[np.ndarray] = []
        w0, w1, w2, w3 = self._words
        for qs in range(0, nq, self.query_block):
            q = qwords[qs : qs + self.query_block]
            q0, q1 = q[:, 0:1], q[:, 1:2]
            for start in range(0, n, self.block_rows):
                stop = min(start + self.block_rows, n)
                # Half-distance filter: at most 128, fits in uint8.
                half = np.bitwise_count(w0[start:stop] ^ q0)
                half += np.bitwise_count(w1[start:stop] ^ q1)
                qi, pos = np.nonzero(half <= radius)
                if qi.size:
                    hit_q.append(qi + qs)
                    hit_pos.append(pos + start)
        results: list[list[Match]] = [[] for _ in range(nq)]
        if not hit_q:
            return results
        qi = np.concatenate(hit_q)
        pos = np.concatenate(hit_pos)
        dist = np.zeros(qi.shape[0], dtype=np.int64)
        for word in range(4):
            dist += np.bitwise_count(self._words[word][pos] ^ qwords[qi, word])
        keep = dist <= radius
        qi, pos, dist = qi[keep], pos[keep], dist[keep]
        order = np.lexsort((self._ids[pos], dist, qi))
        qi, pos, dist = qi[order], pos[order], dist[order]
        bounds = np.searchsorted(qi, np.arange(nq + 1))
        for k in range(nq):
            a, b = bounds[k], bounds[k + 1]
            results[k] = [(int(i), int(d)) for i, d in zip(self._ids[pos[a:b]], dist[a:b], strict=True)]
        return results


# --------------------------------------------------------------------------- faiss


class FaissIndex:
    """``faiss.IndexBinaryFlat(256)`` with ``range_search(radius + 1)``."""

    name = "faiss"

    def __init__(self) -> None:
        import faiss

        self._faiss = faiss
        self._index = faiss.IndexBinaryFlat(256)
        self._ids = np.zeros(0, dtype=np.int64)

    def build(self, hashes: HashInput, ids: Sequence[int] | np.ndarray | None = None) -> None:
        array = _as_bytes(hashes)
        self._ids = _as_ids(ids, array.shape[0])
        index = self._faiss.IndexBinaryFlat(256)
        if array.shape[0]:
            index.add(array)
        self._index = index

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    @property
    def nbytes(self) -> int:
        return len(self) * PDQ_BYTES + int(self._ids.nbytes)

    def search(self, query_hex: str, radius: int) -> list[Match]:
        return self.search_many([query_hex], radius)[0]

    def search_many(self, queries: Sequence[str], radius: int) -> list[list[Match]]:
        radius = _check_radius(radius)
        queries = list(queries)
        if not queries:
            return []
        if len(self) == 0:
            return [[] for _ in queries]
        # Faiss keeps distances strictly below its radius.
        lims, dists, labels = self._index.range_search(hex_to_bytes(queries), radius + 1)
        return [
            _sorted_matches(self._ids[labels[lims[k] : lims[k + 1]]], dists[lims[k] : lims[k + 1]])
            for k in range(len(queries))
        ]


# --------------------------------------------------------------------------- multi-index hashing


@cache
def _flip_masks(bits: int, max_weight: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ``bits``-bit mask of weight <= ``max_weight``, and each mask's weight."""
    masks: list[int] = []
    weights: list[int] = []
    for weight in range(max_weight + 1):
        for positions in combinations(range(bits), weight):
            value = 0
            for p in positions:
                value |= 1 << p
            masks.append(value)
            weights.append(weight)
    return np.array(masks, dtype=np.int64), np.array(weights, dtype=np.int64)


class MihIndex:
    """Exact multi-index hashing over ``chunks`` equal chunks (4, 8 or 16).

    Memory per hash: 32 bytes of words, plus per chunk a 4-byte position and the
    chunk's low bits (2 or 4 bytes), plus bucket offsets.
    """

    name = "mih"

    def __init__(self, chunks: int = 8, prefix_bits: int | None = None, max_probe_share: float = 0.1):
        if chunks not in (4, 8, 16):
            raise ValueError("chunks must be 4, 8 or 16.")
        self.chunks = chunks
        self.chunk_bits = 256 // chunks
        self._prefix_bits_setting = prefix_bits
        self.max_probe_share = max_probe_share
        self._scan = NumpyIndex()
        self._build_tables(np.zeros((4, 0), dtype=np.uint64))

    # -- building

    def _chunk_values(self, words: np.ndarray, c: int) -> np.ndarray:
        per_word = 64 // self.chunk_bits
        word = words[c // per_word]
        shift = np.uint64(64 - self.chunk_bits * (c % per_word + 1))
        if self.chunk_bits == 64:
            return word
        return (word >> shift) & np.uint64((1 << self.chunk_bits) - 1)

    def _build_tables(self, words: np.ndarray) -> None:
        n = words.shape[1]
        if self._prefix_bits_setting is not None:
            prefix = self._prefix_bits_setting
        else:
            # About 4 hashes a bucket: smaller buckets mean fewer candidates to filter, and the
            # offsets (4 bytes a bucket per chunk) stay at 128 MB at most (the cap, 10 M hashes
            # and up). One bit fewer (8 a bucket) answered 1.5x fewer queries/s at 2 M.
            prefix = max(4, math.ceil(math.log2(n + 1)) - 2)
        self.prefix_bits = min(self.chunk_bits, prefix, 22)
        # The next (up to 8) bits of each chunk are kept beside the positions as a
        # cheap, contiguous filter before the 256-bit verification.
        self.filter_bits = min(8, self.chunk_bits - self.prefix_bits)
        buckets = 1 << self.prefix_bits
        pos_dtype = np.int32 if n < 2**31 else np.int64
        off_dtype = np.int32 if self.chunks * n < 2**31 else np.int64
        self._positions = np.empty(self.chunks * n, dtype=pos_dtype)
        self._filters = np.empty(self.chunks * n, dtype=np.uint8)
        self._offsets = np.empty(self.chunks * buckets + 1, dtype=off_dtype)
        prefix_shift = np.uint64(self.chunk_bits - self.prefix_bits)
        filter_shift = np.uint64(self.chunk_bits - self.prefix_bits - self.filter_bits)
        filter_mask = np.uint64((1 << self.filter_bits) - 1)
        for c in range(self.chunks):
            values = self._chunk_values(words, c)
            prefixes = (values >> prefix_shift).astype(np.int64)
            order = np.argsort(prefixes, kind="stable")
            base = c * n
            self._positions[base : base + n] = order
            self._filters[base : base + n] = ((values[order] >> filter_shift) & filter_mask).astype(np.uint8)
            del values, order
            counts = np.bincount(prefixes, minlength=buckets)
            self._offsets[c * buckets : (c + 1) * buckets] = base + np.concatenate(
                ([0], np.cumsum(counts)[:-1])
            )
        self._offsets[-1] = self.chunks * n

    def build(self, hashes: HashInput, ids: Sequence[int] | np.ndarray | None = None) -> None:
        array = _as_bytes(hashes)
        ids_array = _as_ids(ids, array.shape[0])
        words = bytes_to_words(array)
        self._build_tables(words)
        self._scan.build_from_words(words, ids_array)

    def __len__(self) -> int:
        return len(self._scan)

    @property
    def nbytes(self) -> int:
        return self._scan.nbytes + int(self._positions.nbytes + self._filters.nbytes + self._offsets.nbytes)

    # -- searching

    def _probe_is_worthwhile(self, radius: int) -> bool:
        n = len(self)
        if n == 0:
            return False
        per_chunk = radius // self.chunks
        if per_chunk > 6:
            return False
        masks, _ = _flip_masks(self.prefix_bits, min(per_chunk, self.prefix_bits))
        expected = self.chunks * masks.shape[0] * (n / (1 << self.prefix_bits))
        return expected <= self.max_probe_share * n

    def search(self, query_hex: str, radius: int) -> list[Match]:
        return self.search_many([query_hex], radius)[0]

    def search_many(self, queries: Sequence[str], radius: int) -> list[list[Match]]:
        radius = _check_radius(radius)
        queries = list(queries)
        if not queries:
            return []
        qwords = hex_to_words(queries)
        if not self._probe_is_worthwhile(radius):
            return self._scan._search_words(qwords, radius)
        return [self._search_one(qwords[k], radius) for k in range(len(queries))]

    def _search_one(self, qword: np.ndarray, radius: int) -> list[Match]:
        per_chunk = radius // self.chunks
        masks, weights = _flip_masks(self.prefix_bits, min(per_chunk, self.prefix_bits))
        buckets = 1 << self.prefix_bits
        qcol = qword.reshape(4, 1)
        qchunks = np.array([int(self._chunk_values(qcol, c)[0]) for c in range(self.chunks)], dtype=np.uint64)
        qprefix = (qchunks >> np.uint64(self.chunk_bits - self.prefix_bits)).astype(np.int64)
        qfilter = (qchunks >> np.uint64(self.chunk_bits - self.prefix_bits - self.filter_bits)) & np.uint64(
            (1 << self.filter_bits) - 1
        )
        qfilter = qfilter.astype(np.uint8)
        # Buckets to probe: (chunks, masks) -> global bucket number.
        probe = (qprefix[:, None] ^ masks[None, :]) + (np.arange(self.chunks, dtype=np.int64) * buckets)[
            :, None
        ]
        probe = probe.ravel()
        starts = self._offsets[probe]
        lengths = self._offsets[probe + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return []
        # Ragged gather of every bucket's slots.
        nonempty = lengths > 0
        starts, lengths = starts[nonempty], lengths[nonempty]
        n_weights = per_chunk + 1
        # Each probe belongs to a class (chunk, prefix weight); a per-query table says,
        # for each class and each value of the stored filter bits, whether the chunk
        # can still be within ``per_chunk`` bits: popcount(filter ^ query's) + weight.
        probe_class = (
            np.arange(self.chunks, dtype=np.int32)[:, None] * n_weights + weights[None, :].astype(np.int32)
        ).ravel()[nonempty]
        values = np.arange(256, dtype=np.uint8)
        filter_dist = np.bitwise_count(values[None, :] ^ qfilter[:, None]).astype(np.int16)  # (chunks, 256)
        table = (
            filter_dist[:, None, :] + np.arange(n_weights, dtype=np.int16)[None, :, None] <= per_chunk
        ).ravel()
        run_start = np.cumsum(lengths) - lengths
        slots = np.repeat(starts - run_start, lengths) + np.arange(total)
        keep = table[np.repeat(probe_class * 256, lengths) + self._filters[slots]]
        candidates = np.unique(self._positions[slots[keep]])
        if candidates.size == 0:
            return []
        words = self._scan._words
        dist = np.zeros(candidates.shape[0], dtype=np.int64)
        for word in range(4):
            dist += np.bitwise_count(words[word][candidates] ^ qword[word])
        good = dist <= radius
        return _sorted_matches(self._scan._ids[candidates[good]], dist[good])


# --------------------------------------------------------------------------- factory and holder


def make_index(backend: str = "numpy") -> PdqIndex:
    """A new empty index of the named back-end: ``numpy``, ``faiss`` or ``mih``."""
    if backend == "numpy":
        return NumpyIndex()
    if backend == "faiss":
        return FaissIndex()
    if backend == "mih":
        return MihIndex()
    raise ValueError(f"Unknown PDQ index back-end {backend!r}; choose one of {', '.join(BACKENDS)}.")


def build_index(
    hashes: HashInput, ids: Sequence[int] | np.ndarray | None = None, backend: str = "numpy"
) -> PdqIndex:
    """A new index of the named back-end holding ``hashes``."""
    index = make_index(backend)
    index.build(hashes, ids)
    return index


class IndexHolder:
    """The index in use, replaced atomically by a freshly built one.

    Build the new index outside the lock (``rebuild`` does this), then swap the
    reference under it. Searches take a reference to whichever index is current and
    use it to the end, so a reader never sees a partly built index and never waits
    for a build.
    """

    def __init__(self, index: PdqIndex | None = None, backend: str = "numpy") -> None:
        self.backend = backend
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._index: PdqIndex = index if index is not None else make_index(backend)
        self._version = 0

    @property
    def current(self) -> PdqIndex:
        with self._lock:
            return self._index

    @property
    def version(self) -> int:
        """How many swaps have happened (0 for the initial index)."""
        with self._lock:
            return self._version

    def swap(self, new_index: PdqIndex) -> PdqIndex:
        """Make ``new_index`` current and return the one it replaces."""
        with self._lock:
            old, self._index = self._index, new_index
            self._version += 1
            return old

    def rebuild(
        self,
        load: Callable[[], tuple[HashInput, Sequence[int] | np.ndarray]],
        backend: str | None = None,
    ) -> PdqIndex:
        """Load ``(hashes, ids)``, build a new index from them, swap it in, return it.

        Rebuilds are serialised (two concurrent rebuilds cannot swap in stale data in
        the wrong order); searches carry on against the old index meanwhile.
        """
        with self._build_lock:
            hashes, ids = load()
            index = build_index(hashes, ids, backend or self.backend)
            self.swap(index)
            return index

    def search(self, query_hex: str, radius: int) -> list[Match]:
        return self.current.search(query_hex, radius)

    def search_many(self, queries: Iterable[str], radius: int) -> list[list[Match]]:
        return self.current.search_many(list(queries), radius)

    def __len__(self) -> int:
        return len(self.current)
