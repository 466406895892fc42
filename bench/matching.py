"""PDQ index benchmark: queries/s, recall and memory of every back-end, side by side.

For each size N it builds an index of N random 256-bit hashes in which 1,000
near-duplicates of the query hashes are planted (each at a random distance 0-31),
runs the queries at radius 31 on every back-end in the same process, and reports:

* build time, queries per second and recall (planted hashes found / planted);
* whether every back-end returned exactly the same matches as faiss;
* memory: the index's own arrays (bytes) and the growth of the process RSS while
  building it (the input array of N x 32 bytes is shared and not counted).

Back-ends: ``numpy`` (brute force, column-major ``bitwise_count``), ``faiss``
(``IndexBinaryFlat``, uses every core through OpenMP) and ``mih`` (exact
multi-index hashing over numpy, one core).

Reproduce the figures in bench/README.md with:

    .venv/bin/python bench/matching.py                 # 1 M and 10 M, 1,000 queries
    .venv/bin/python bench/matching.py --quick         # 100 k and 1 M, 200 queries
    .venv/bin/python bench/matching.py --sizes 1000000 --json
    .venv/bin/python bench/matching.py --sizes 10000000 --queries 10000 --batch 10000 \
        --backends faiss,mih                          # batched look-ups, as a device scan makes them
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amparo.evidence.index import BACKENDS, make_index  # noqa: E402

RADIUS = 31


def rss_bytes() -> int:
    """Current resident set size of this process (Linux ``/proc``)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def flip_bits(row: np.ndarray, distance: int, rng: np.random.Generator) -> np.ndarray:
    bits = np.unpackbits(row)
    bits[rng.choice(256, distance, replace=False)] ^= 1
    return np.packbits(bits)


def make_data(n: int, queries: int, seed: int) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """N random hashes with one planted near-duplicate (0-31 bits) of each query.

    Returns the hashes, the query hex strings, the planted row of each query and its distance.
    """
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    query_rows = rng.integers(0, 256, (queries, 32), dtype=np.uint8)
    planted_at = rng.choice(n, queries, replace=False)
    distances = rng.integers(0, RADIUS + 1, queries)
    for k in range(queries):
        hashes[planted_at[k]] = flip_bits(query_rows[k], int(distances[k]), rng)
    return hashes, [row.tobytes().hex() for row in query_rows], planted_at, distances


def run_backend(name: str, hashes: np.ndarray, queries: list[str], progress: bool, batch: int = 50) -> dict:
    gc.collect()
    before = rss_bytes()
    index = make_index(name)
    start = time.perf_counter()
    index.build(hashes)
    build_seconds = time.perf_counter() - start
    grown = rss_bytes() - before
    results: list[list[tuple[int, int]]] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(queries), desc=f"{name:>5} N={len(hashes):,}", file=sys.stderr, leave=False)
    start = time.perf_counter()
    for offset in range(0, len(queries), batch):
        results.extend(index.search_many(queries[offset : offset + batch], RADIUS))
        if bar is not None:
            bar.update(min(batch, len(queries) - offset))
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    nbytes = int(getattr(index, "nbytes", 0))
    del index
    gc.collect()
    return {
        "backend": name,
        "build_s": round(build_seconds, 2),
        "queries": len(queries),
        "batch": batch,
        "queries_per_s": round(len(queries) / seconds, 1),
        "index_mb": round(nbytes / 1e6, 1),
        "rss_growth_mb": round(grown / 1e6, 1),
        "_results": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1000000,10000000", help="Comma-separated index sizes (default: 1 M and 10 M)."
    )
    parser.add_argument("--queries", type=int, default=1000, help="Planted queries per size (default 1000).")
    parser.add_argument(
        "--scan-queries",
        type=int,
        default=None,
        help="Queries for the brute-force numpy back-end (default: all of them); "
        "it is the slowest, so cap it to keep long runs short.",
    )
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help=f"Comma-separated, of {', '.join(BACKENDS)}."
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=50,
        help="Queries per search_many call (default 50; 10000 is the batched look-up of a device scan).",
    )
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--quick", action="store_true", help="Sizes 100 k and 1 M, 200 queries.")
    parser.add_argument("--json", action="store_true", help="Print one JSON document and no progress bars.")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.queries = "100000,1000000", 200
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    except ValueError:
        parser.error("--sizes must be whole numbers separated by commas, e.g. 1000000,10000000.")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        parser.error(f"Unknown back-end(s) {', '.join(sorted(unknown))}; choose from {', '.join(BACKENDS)}.")
    if min(sizes) < args.queries:
        parser.error("Every size must be at least the number of queries.")
    progress = not args.json and sys.stderr.isatty()

    import faiss

    report: dict = {
        "radius": RADIUS,
        "cpu_count": os.cpu_count(),
        "faiss_threads": faiss.omp_get_max_threads(),
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "runs": [],
    }
    for n in sizes:
        hashes, queries, planted_at, distances = make_data(n, args.queries, args.seed)
        rows = []
        reference = None
        for name in backends:
            subset = queries
            if name == "numpy" and args.scan_queries is not None:
                subset = queries[: args.scan_queries]
            row = run_backend(name, hashes, subset, progress, args.batch)
            found = sum(
                any(i == int(planted_at[k]) for i, _ in row["_results"][k]) for k in range(len(subset))
            )
            row["recall"] = round(found / len(subset), 4)
            row["distance_ok"] = all(
                (int(planted_at[k]), int(distances[k])) in row["_results"][k] for k in range(len(subset))
            )
            rows.append(row)
            if name == "faiss":
                reference = row["_results"]
        for row in rows:
            if reference is not None:
                row["same_as_faiss"] = row["_results"] == reference[: len(row["_results"])]
            del row["_results"]
        report["runs"].append({"n": n, "input_mb": round(hashes.nbytes / 1e6, 1), "results": rows})
        del hashes
        gc.collect()
        if not args.json:
            print_run(report["runs"][-1])
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"\nradius {RADIUS}; {report['cpu_count']} CPUs; faiss {report['faiss']} with "
            f"{report['faiss_threads']} OpenMP threads; numpy {report['numpy']} (numpy and mih use one core)."
        )
    return 0


def print_run(run: dict) -> None:
    print(
        f"\nN = {run['n']:,} random hashes ({run['input_mb']} MB input), planted near-duplicates at 0-31 bits"
    )
    header = f"{'backend':<8}{'build s':>9}{'batch':>7}{'queries':>9}{'q/s':>10}{'recall':>8}{'index MB':>10}{'RSS+ MB':>9}{'=faiss':>8}"
    print(header)
    print("-" * len(header))
    for row in run["results"]:
        same = row.get("same_as_faiss")
        print(
            f"{row['backend']:<8}{row['build_s']:>9}{row['batch']:>7}{row['queries']:>9}{row['queries_per_s']:>10}"
            f"{row['recall']:>8.2%}{row['index_mb']:>10}{row['rss_growth_mb']:>9}"
            f"{'' if same is None else ('yes' if same else 'NO'):>8}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
