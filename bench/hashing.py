"""Evidence hashing benchmark: the fast PDQ path beside the full-resolution one, vPDQ, and a whole device.

Everything is synthetic and benign (random colour fields with sensor-like noise, a panning texture for
video, random bytes for documents), written to a temporary folder. Figures vary with the machine's
load: run ``uptime`` beside them.

1. **Images** (one core): 12-megapixel JPEGs of camera-like content (4000 x 3000, quality 92, about
   3-4 MB each), end to end per image: read the file once, SHA-256 + SHA-1 + MD5 of its bytes, decode,
   PDQ with its 8 dihedral hashes. ``fast`` is the vault's and the scan's path (JPEG reduced in the
   DCT domain to a short side >= 512 px), ``exact`` the full-resolution reference decode
   (``--exact-pdq``); the ratio is printed.
2. **Video** (one core): vPDQ (one frame a second) of a 1-minute 720p H.264 video at 30 frames/s.
3. **Device** (every core): a folder of mixed files (12 MP JPEGs, PNGs, small videos, documents)
   hashed by a pool of child processes under the memory limit, as ``amparo evidence scan`` does, and
   looked up in batches in a multi-index (``mih``) PDQ index of N random hashes; files/s end to end.
   The index is built in this process (not loaded from a database), so the figure is hashing and
   matching, not database reads.

    .venv/bin/python bench/hashing.py                   # 20 images, 1-minute video, 2,000 files vs 10 M
    .venv/bin/python bench/hashing.py --quick           # 5 images, 10-s video, 200 files vs 100 k
    .venv/bin/python bench/hashing.py --json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amparo.evidence import hashing, pdq, vpdq  # noqa: E402
from amparo.evidence.index import MihIndex  # noqa: E402
from amparo.evidence.tests.synthetic_video import scene, write_video  # noqa: E402


def camera_jpeg(seed: int, width: int = 4000, height: int = 3000) -> bytes:
    """Camera-like: smooth fields at several scales plus per-pixel sensor noise (JPEGs of 3-4 MB)."""
    rng = np.random.default_rng(seed)
    total = np.zeros((height, width, 3), dtype=np.float32)
    for cells, weight in ((4, 1.0), (16, 0.6), (64, 0.35)):
        coarse = Image.fromarray(rng.integers(0, 256, (cells * 3 // 4 + 1, cells, 3), dtype=np.uint8))
        total += weight * np.asarray(
            coarse.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32
        )
    total *= 255.0 / total.max()
    total += rng.normal(0, 6, (height, width, 1)).astype(np.float32)
    picture = Image.fromarray(np.clip(total, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=92)
    return out.getvalue()


def ingest(path: Path, exact: bool) -> None:
    data = path.read_bytes()
    pdq.exact_hashes(io.BytesIO(data))
    pdq.pdq_all(io.BytesIO(data), exact=exact)


def bench_images(folder: Path, count: int, exact_count: int) -> dict:
    paths = []
    for k in range(count):
        path = folder / f"photo-{k}.jpg"
        path.write_bytes(camera_jpeg(k))
        paths.append(path)
    rows, cpu = {}, {}
    for label, exact, subset in (("fast", False, paths), ("exact", True, paths[:exact_count])):
        start, start_cpu = time.perf_counter(), time.process_time()
        for path in subset:
            ingest(path, exact)
        rows[label] = round(len(subset) / (time.perf_counter() - start), 2)
        cpu[label] = round(len(subset) / (time.process_time() - start_cpu), 2)
    return {
        "images": count,
        "exact_images": exact_count,
        "megapixels": 12.0,
        "mean_file_mb": round(sum(p.stat().st_size for p in paths) / len(paths) / 1e6, 2),
        "fast_per_s": rows["fast"],
        "exact_per_s": rows["exact"],
        "speedup": round(rows["fast"] / rows["exact"], 1),
        # Per CPU-second of this process: what one core does when the machine is shared.
        "fast_per_cpu_s": cpu["fast"],
        "exact_per_cpu_s": cpu["exact"],
        "speedup_cpu": round(cpu["fast"] / cpu["exact"], 1),
    }


def bench_video(folder: Path, seconds: int) -> dict:
    fps = 30
    path = write_video(
        folder / "clip-720p.mp4", scene(9, 1280, 720, seconds * fps), fps=fps, bit_rate=3_000_000
    )
    start, start_cpu = time.perf_counter(), time.process_time()
    frames = vpdq.hash_video(path)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return {
        "video_s": seconds,
        "resolution": "1280x720",
        "fps": fps,
        "file_mb": round(path.stat().st_size / 1e6, 2),
        "frames_hashed": len(frames),
        "vpdq_s": round(elapsed, 2),
        "vpdq_cpu_s": round(cpu, 2),
    }


def make_device(folder: Path, files: int, seed_folder: Path) -> list[str]:
    """A phone-like mix: 40% 12 MP JPEGs, 20% 1 MP PNGs, 2% 5-second videos, the rest documents.
    A few distinct originals are copied with a different tail (a JPEG ignores bytes after its end),
    so every file has its own SHA-256 and the same decoding cost as a real one."""
    originals = sorted(seed_folder.glob("photo-*.jpg"))[:8]
    pngs = []
    for k in range(4):
        out = io.BytesIO()
        Image.open(originals[k % len(originals)]).resize((1200, 900)).save(out, format="PNG")
        pngs.append(out.getvalue())
    video = write_video(folder / "v.mp4", scene(3, 640, 360, 150), fps=30, bit_rate=800_000).read_bytes()
    rng = np.random.default_rng(1)
    paths = []
    device = folder / "device"
    for k in range(files):
        share = k % 50
        sub = device / f"DCIM-{k // 500}"
        sub.mkdir(parents=True, exist_ok=True)
        if share < 20:
            path = sub / f"IMG_{k:05}.jpg"
            shutil.copyfile(originals[k % len(originals)], path)
            with open(path, "ab") as handle:
                handle.write(k.to_bytes(4, "big"))
        elif share < 30:
            path = sub / f"Screenshot_{k:05}.png"
            path.write_bytes(pngs[k % len(pngs)] + k.to_bytes(4, "big"))
        elif share == 30:
            path = sub / f"VID_{k:05}.mp4"
            path.write_bytes(video)
        else:
            path = sub / f"doc_{k:05}.pdf"
            path.write_bytes(b"%PDF-1.7\n" + rng.bytes(int(rng.integers(20_000, 400_000))))
        paths.append(str(path))
    return paths


def bench_device(folder: Path, seed_folder: Path, files: int, index_size: int, workers: int) -> dict:
    paths = make_device(folder, files, seed_folder)
    total_mb = sum(os.path.getsize(p) for p in paths) / 1e6
    rng = np.random.default_rng(7)
    index = MihIndex()
    build_start = time.perf_counter()
    index.build(rng.integers(0, 256, (index_size, 32), dtype=np.uint8))
    build_s = time.perf_counter() - build_start
    start = time.perf_counter()
    queries: list[str] = []
    found = 0
    with hashing.BoundedHasher(workers=workers) as pool:
        futures = [pool.submit(hashing.hash_file, p) for p in paths]
        for future in futures:
            result = future.result()
            if result.quality is not None and result.quality >= pdq.MIN_QUALITY:
                queries += result.dihedral
            if len(queries) >= 2048:
                found += sum(map(len, index.search_many(queries, pdq.DEFAULT_THRESHOLD)))
                queries = []
        if queries:
            found += sum(map(len, index.search_many(queries, pdq.DEFAULT_THRESHOLD)))
    elapsed = time.perf_counter() - start
    return {
        "files": files,
        "total_mb": round(total_mb, 1),
        "workers": workers,
        "index_hashes": index_size,
        "index_build_s": round(build_s, 1),
        "elapsed_s": round(elapsed, 1),
        "files_per_s": round(files / elapsed, 1),
        "matches": found,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20, help="12 MP JPEGs for the fast path (default 20).")
    parser.add_argument("--exact-images", type=int, default=3, help="Of them, for the full-resolution path.")
    parser.add_argument("--video-seconds", type=int, default=60)
    parser.add_argument("--device-files", type=int, default=2000)
    parser.add_argument("--index", type=int, default=10_000_000, help="Random hashes in the index (10 M).")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip", default="", help="Comma-separated parts to skip: images, video, device.")
    parser.add_argument("--quick", action="store_true", help="5 images, a 10-s video, 200 files vs 100 k.")
    parser.add_argument("--json", action="store_true", help="Print one JSON document.")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.exact_images, args.video_seconds, args.device_files, args.index = (
            5,
            2,
            10,
            200,
            100_000,
        )
    if (
        min(args.images, args.exact_images, args.video_seconds, args.device_files, args.index, args.workers)
        < 1
    ):
        parser.error("Every count must be at least 1.")
    skip = set(filter(None, args.skip.split(",")))
    report: dict = {"cpu_count": os.cpu_count(), "load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="amparo-bench-") as tmp:
        folder = Path(tmp)
        if "images" not in skip or "device" not in skip:
            report["images"] = bench_images(folder, max(args.images, 8), min(args.exact_images, args.images))
        if "video" not in skip:
            report["video"] = bench_video(folder, args.video_seconds)
        if "device" not in skip:
            report["device"] = bench_device(folder, folder, args.device_files, args.index, args.workers)
    report["load_average_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    if "images" in report:
        r = report["images"]
        print(
            f"12 MP camera-like JPEGs ({r['mean_file_mb']} MB), one core, end to end (read + 3 exact + 8 PDQ):"
        )
        print(f"{'':14}{'images/s':>10}{'per CPU-s':>11}")
        print(f"  fast path   {r['fast_per_s']:>10}{r['fast_per_cpu_s']:>11}  ({r['images']} images)")
        print(f"  exact path  {r['exact_per_s']:>10}{r['exact_per_cpu_s']:>11}  ({r['exact_images']} images)")
        print(f"  fast / exact: {r['speedup']}x wall, {r['speedup_cpu']}x CPU")
    if "video" in report:
        r = report["video"]
        print(
            f"vPDQ of a {r['video_s']}-s {r['resolution']} video at {r['fps']} frames/s ({r['file_mb']} MB), "
            f"one core: {r['vpdq_s']} s ({r['vpdq_cpu_s']} CPU-s), {r['frames_hashed']} frames hashed"
        )
    if "device" in report:
        r = report["device"]
        print(
            f"Device: {r['files']} mixed files ({r['total_mb']} MB), {r['workers']} workers, against "
            f"{r['index_hashes']:,} hashes: {r['files_per_s']} files/s ({r['elapsed_s']} s; index built in "
            f"{r['index_build_s']} s)"
        )
    print(f"load average before {report['load_average']}, after {report['load_average_after']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
