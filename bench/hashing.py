"""Ingest hashing benchmark: images per second for exact + PDQ + dihedral hashing.

For each image size it writes synthetic, benign JPEG pictures (random colour fields,
no real content) to a temporary folder and times, per image, what the vault's
background hashing does: SHA-256/SHA-1/MD5 of the bytes (``exact_hashes``), one
full-resolution decode, and the PDQ hash with its 8 dihedral variants
(``pdq_all``). It also times each part alone. One core; figures vary with load.

Reproduce the figures in bench/README.md with:

    .venv/bin/python bench/hashing.py                      # 256, 1024, 3000 px; 10 images each
    .venv/bin/python bench/hashing.py --quick              # 256 and 1024 px; 5 images each
    .venv/bin/python bench/hashing.py --sizes 4000 --count 5 --json
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amparo.evidence import pdq  # noqa: E402


def synthetic_jpeg(seed: int, size: int) -> bytes:
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    picture = coarse.resize((size, size), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def per_second(count: int, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else float("inf")


def bench_size(size: int, count: int, folder: Path, progress: bool) -> dict:
    paths = []
    for k in range(count):
        path = folder / f"img-{size}-{k}.jpg"
        path.write_bytes(synthetic_jpeg(k, size))
        paths.append(path)
    megabytes = sum(p.stat().st_size for p in paths) / 1e6
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=4 * count, desc=f"{size}px", file=sys.stderr, leave=False)

    def timed(func) -> float:
        start = time.perf_counter()
        for path in paths:
            func(path)
            if bar is not None:
                bar.update(1)
        return time.perf_counter() - start

    exact_s = timed(pdq.exact_hashes)
    pdq_s = timed(pdq.pdq_hash)
    dihedral_s = timed(pdq.pdq_dihedral)

    def ingest(path: Path) -> None:
        pdq.exact_hashes(path)
        if pdq.is_image(path):
            pdq.pdq_all(path)

    ingest_s = timed(ingest)
    if bar is not None:
        bar.close()
    return {
        "size_px": size,
        "megapixels": round(size * size / 1e6, 2),
        "images": count,
        "mean_file_kb": round(megabytes * 1000 / count, 1),
        "exact_per_s": per_second(count, exact_s),
        "pdq_per_s": per_second(count, pdq_s),
        "pdq_dihedral_per_s": per_second(count, dihedral_s),
        "ingest_per_s": per_second(count, ingest_s),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="256,1024,3000", help="Comma-separated square sizes in pixels.")
    parser.add_argument("--count", type=int, default=10, help="Images per size (default 10).")
    parser.add_argument("--quick", action="store_true", help="Sizes 256 and 1024, 5 images each.")
    parser.add_argument("--json", action="store_true", help="Print one JSON document and no progress bars.")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.count = "256,1024", 5
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s]
    except ValueError:
        parser.error("--sizes must be whole numbers separated by commas, e.g. 256,1024,3000.")
    if args.count < 1 or any(s < 16 for s in sizes):
        parser.error("--count must be at least 1 and every size at least 16 pixels.")
    progress = not args.json and sys.stderr.isatty()
    with tempfile.TemporaryDirectory(prefix="amparo-bench-") as tmp:
        rows = [bench_size(size, args.count, Path(tmp), progress) for size in sizes]
    if args.json:
        print(json.dumps({"runs": rows}, indent=2))
        return 0
    header = f"{'size':>10}{'MP':>7}{'file KB':>9}{'exact/s':>10}{'pdq/s':>9}{'8 pdq/s':>9}{'ingest/s':>10}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{str(row['size_px']) + 'px':>10}{row['megapixels']:>7}{row['mean_file_kb']:>9}"
            f"{row['exact_per_s']:>10}{row['pdq_per_s']:>9}{row['pdq_dihedral_per_s']:>9}{row['ingest_per_s']:>10}"
        )
    print(
        "\ningest = exact hashes + one decode + PDQ with its 8 dihedral hashes (what the vault's task does)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
