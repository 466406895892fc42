"""The PDQ index back-ends agree with each other and with a plain Hamming scan."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.evidence import index as pdq_index
from amparo.evidence.index import (
    FaissIndex,
    IndexHolder,
    MihIndex,
    NumpyIndex,
    PdqIndex,
    build_index,
    make_index,
)
from amparo.evidence.pdq import MAX_THRESHOLD, hamming


def all_backends() -> list[PdqIndex]:
    """Every back-end, with multi-index hashing forced to probe even where it would scan."""
    return [
        NumpyIndex(),
        NumpyIndex(block_rows=7, query_block=3),  # exercises the block edges
        FaissIndex(),
        MihIndex(),
        MihIndex(chunks=8, max_probe_share=1e9),
        MihIndex(chunks=16, max_probe_share=1e9),
        MihIndex(chunks=4, prefix_bits=6, max_probe_share=1e9),
    ]


def flip(hex_hash: str, positions: list[int]) -> str:
    value = int(hex_hash, 16)
    for p in positions:
        value ^= 1 << p
    return f"{value:064x}"


def reference(hashes: list[str], ids: list[int], query: str, radius: int) -> list[tuple[int, int]]:
    found = [(i, hamming(h, query)) for h, i in zip(hashes, ids, strict=True)]
    return sorted(((i, d) for i, d in found if d <= radius), key=lambda m: (m[1], m[0]))


hex64 = st.binary(min_size=32, max_size=32).map(bytes.hex)


@st.composite
def planted(draw: st.DrawFn) -> tuple[list[str], list[int], list[str], int]:
    """Random hashes, queries derived from some of them at distances 0..52, and a radius."""
    hashes = draw(st.lists(hex64, min_size=0, max_size=60))
    queries = draw(st.lists(hex64, max_size=3))
    for _ in range(draw(st.integers(0, 6))):
        if not hashes:
            break
        base = hashes[draw(st.integers(0, len(hashes) - 1))]
        distance = draw(st.integers(0, MAX_THRESHOLD))
        positions = draw(st.lists(st.integers(0, 255), min_size=distance, max_size=distance, unique=True))
        queries.append(flip(base, positions))
    # Duplicates in the index are legitimate (the same hash on two lists).
    if hashes and draw(st.booleans()):
        hashes.append(hashes[0])
    ids = draw(
        st.lists(st.integers(-(2**40), 2**40), min_size=len(hashes), max_size=len(hashes), unique=True)
    )
    radius = draw(st.integers(0, MAX_THRESHOLD))
    return hashes, ids, queries, radius


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planted())
def test_every_backend_returns_exactly_the_hashes_within_the_radius(case):
    hashes, ids, queries, radius = case
    expected = [reference(hashes, ids, q, radius) for q in queries]
    for backend in all_backends():
        backend.build(hashes, ids)
        assert len(backend) == len(hashes)
        assert backend.search_many(queries, radius) == expected, type(backend).__name__
        for query, want in zip(queries, expected, strict=True):
            assert backend.search(query, radius) == want


@pytest.mark.parametrize("backend", all_backends(), ids=lambda b: f"{type(b).__name__}")
def test_a_hash_at_distance_31_matches_and_at_32_does_not(backend):
    rng = np.random.default_rng(31)
    stored = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(500)]
    target = stored[123]
    near = flip(target, list(range(0, 62, 2)))  # 31 bits
    far = flip(target, list(range(0, 64, 2)))  # 32 bits
    backend.build(stored)
    assert backend.search(near, 31) == [(123, 31)]
    assert backend.search(far, 31) == []
    assert backend.search(far, 32) == [(123, 32)]


@pytest.mark.parametrize("name", pdq_index.BACKENDS)
def test_the_backends_agree_on_a_larger_index_with_planted_duplicates(name):
    rng = np.random.default_rng(7)
    n = 20_000
    stored = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    ids = rng.permutation(n) + 1_000_000
    queries, expected = [], []
    for k in range(60):
        row = int(rng.integers(n))
        distance = k % (MAX_THRESHOLD + 1)
        bits = np.unpackbits(stored[row])
        bits[rng.choice(256, distance, replace=False)] ^= 1
        queries.append(np.packbits(bits).tobytes().hex())
        expected.append((int(ids[row]), distance))
    built = build_index(stored, ids, name)
    results = built.search_many(queries, 31)
    for (want_id, distance), found in zip(expected, results, strict=True):
        if distance <= 31:
            assert (want_id, distance) in found
        else:
            assert all(i != want_id for i, _ in found)


def test_multi_index_hashing_probes_when_it_pays_and_scans_when_it_does_not():
    rng = np.random.default_rng(3)
    large = MihIndex()
    large.build(rng.integers(0, 256, (300_000, 32), dtype=np.uint8))
    assert large._probe_is_worthwhile(31)
    assert not large._probe_is_worthwhile(52)  # too wide: falls back to the exact scan
    small = MihIndex()
    small.build(rng.integers(0, 256, (10, 32), dtype=np.uint8))
    assert not small._probe_is_worthwhile(31)


@pytest.mark.parametrize("backend", all_backends(), ids=lambda b: f"{type(b).__name__}")
def test_an_empty_index_finds_nothing(backend):
    backend.build([])
    assert len(backend) == 0
    assert backend.search("0" * 64, 31) == []
    assert backend.search_many(["0" * 64, "f" * 64], 31) == [[], []]
    assert backend.search_many([], 31) == []


@pytest.mark.parametrize("backend", all_backends(), ids=lambda b: f"{type(b).__name__}")
def test_radius_outside_0_to_52_is_refused(backend):
    backend.build(["0" * 64])
    for radius in (-1, MAX_THRESHOLD + 1):
        with pytest.raises(ValueError, match="radius"):
            backend.search("0" * 64, radius)


@pytest.mark.parametrize("backend", all_backends(), ids=lambda b: f"{type(b).__name__}")
def test_malformed_hashes_and_ids_are_refused(backend):
    with pytest.raises(ValueError, match="64 hexadecimal"):
        backend.build(["abc"])
    with pytest.raises(ValueError, match="shape"):
        backend.build(np.zeros((2, 31), dtype=np.uint8))
    with pytest.raises(ValueError, match="ids"):
        backend.build(["0" * 64], [1, 2])
    backend.build(["0" * 64])
    with pytest.raises(ValueError, match="64 hexadecimal"):
        backend.search("xyz", 3)


def test_every_backend_conforms_to_the_protocol():
    for name in pdq_index.BACKENDS:
        assert isinstance(make_index(name), PdqIndex)
    with pytest.raises(ValueError, match="Unknown PDQ index"):
        make_index("annoy")


def test_hex_and_uint8_input_build_the_same_index():
    rng = np.random.default_rng(5)
    rows = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    hexes = [row.tobytes().hex() for row in rows]
    query = hexes[10]
    for name in pdq_index.BACKENDS:
        assert build_index(rows, backend=name).search(query, 40) == build_index(hexes, backend=name).search(
            query, 40
        )


def test_large_ids_are_kept_exactly():
    index = build_index(["0" * 64, "f" * 64], [2**40 + 1, -5], "numpy")
    assert index.search("0" * 64, 0) == [(2**40 + 1, 0)]
    assert index.search("f" * 64, 0) == [(-5, 0)]


# --------------------------------------------------------------------------- holder


def test_swap_replaces_the_index_and_returns_the_old_one():
    holder = IndexHolder(backend="numpy")
    first = holder.current
    assert holder.version == 0
    replacement = build_index(["0" * 64], [9])
    assert holder.swap(replacement) is first
    assert holder.current is replacement
    assert holder.version == 1
    assert holder.search("0" * 64, 0) == [(9, 0)]
    assert holder.search_many(iter(["0" * 64]), 0) == [[(9, 0)]]
    assert len(holder) == 1


def test_rebuild_builds_from_the_loader_with_the_chosen_backend():
    holder = IndexHolder(backend="faiss")
    built = holder.rebuild(lambda: (["1" * 64], [4]))
    assert isinstance(built, FaissIndex)
    assert holder.current is built
    assert isinstance(holder.rebuild(lambda: (["1" * 64], [4]), backend="mih"), MihIndex)


def test_readers_never_see_a_half_built_index():
    """Each generation holds g copies of one hash; a reader must always see a whole generation."""
    query = "a" * 64

    def generation(size: int) -> tuple[list[str], list[int]]:
        return [query] * size, [size * 1000 + i for i in range(size)]

    holder = IndexHolder(build_index(*generation(1)))
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            found = holder.search(query, 0)
            size = len(found)
            if {i // 1000 for i, _ in found} != {size}:
                errors.append(f"mixed or partial generation of {size}")

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for size in range(2, 120):
            holder.rebuild(lambda size=size: generation(size))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(holder) == 119
    assert holder.version == 118
