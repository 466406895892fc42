"""A flat VICS hash set of a million records: streamed by `amparo hashlist import`, then every hash
found by `amparo evidence scan` (issue 13, item 1).

In a scratch folder it writes N synthetic files (file i holds the bytes ``amparo vics bench <i>\\n``,
spread over 1,000 folders) and the flat VICS 2.0 hash set a partner would send for them:
``{"@odata.context": ".../2.0.xml/Default/$metadata#Media", "value": [{"MediaID": i, "Category": 1,
"MD5": <upper case>, "SHA1": <upper case>, "MediaSize": ..., "PhotoDNA": <filler>, ...}, ...]}``.
Nothing is committed: the files are made for the run and removed after it (``--keep`` keeps them).

It migrates a fresh SQLite database (or, with ``--reset-database``, the scratch PostgreSQL database of
DATABASE_URL), then, side by side in one run:

1. imports a 1,000-record set of the same shape (the baseline) and the N-record set with
   ``amparo hashlist import --json``; each prints its records read, hashes added per type and the
   process's peak memory: streaming means the peak barely moves between the two;
2. runs ``amparo evidence scan --json`` over the N files and counts the files with a match.

Exit status 1 if a hash was not added or a file not found.

    .venv/bin/python bench/vics_import.py                         # 1,000,000 records
    .venv/bin/python bench/vics_import.py --records 100000 --json
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
PHOTODNA_FILLER = base64.b64encode(bytes(144)).decode()


def content(i: int) -> bytes:
    return f"amparo vics bench {i}\n".encode()


def write_set(path: Path, count: int, files: Path | None) -> None:
    """The flat VICS file for records 1..count (and, with ``files``, the files themselves)."""
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"@odata.context": ' + json.dumps(CONTEXT) + ', "value": [\n')
        for i in range(1, count + 1):
            data = content(i)
            if files is not None:
                folder = files / f"{i % 1000:03d}"
                folder.mkdir(exist_ok=True)
                (folder / f"{i}.bin").write_bytes(data)
            record = {
                "MediaID": i,
                "Category": 1,
                "MD5": hashlib.md5(data, usedforsecurity=False).hexdigest().upper(),
                "SHA1": hashlib.sha1(data, usedforsecurity=False).hexdigest().upper(),
                "MediaSize": len(data),
                "DateUpdated": "2026-11-30T00:00:00.0000Z",
                "IsPrecategorized": "false",
                "PhotoDNA": PHOTODNA_FILLER,
            }
            out.write(("" if i == 1 else ",\n") + json.dumps(record))
        out.write("\n]}\n")


def amparo(env: dict[str, str], *args: str) -> tuple[str, float]:
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603  (our own interpreter, fixed arguments)
        [PYTHON, "-m", "amparo", *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"`amparo {' '.join(args)}` failed:\n{result.stderr[-2000:]}")
    return result.stdout, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object.")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch folder.")
    parser.add_argument(
        "--reset-database",
        action="store_true",
        help="PostgreSQL only: drop every table of DATABASE_URL's database first (it must be a scratch one)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="amparo-bench-vics-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "amparo.settings",
        "AMPARO_DATA_DIR": str(work),
        "AMPARO_EVIDENCE_DIR": str(work / "evidence"),
        "AMPARO_SECRET_KEY": secrets.token_urlsafe(50),
        "AMPARO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "AMPARO_HTTPS": "0",
        "AMPARO_LOG_LEVEL": "WARNING",
    }
    database = env.get("DATABASE_URL", f"sqlite:///{work / 'amparo.sqlite3'}")
    env["DATABASE_URL"] = database
    if not database.startswith("sqlite"):
        if not args.reset_database:
            sys.exit("Pass --reset-database to drop and recreate every table of DATABASE_URL's database.")
        amparo(env, "dbshell", "--", "-c", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    try:
        amparo(env, "migrate", "--noinput")
        files = work / "files"
        files.mkdir()
        started = time.perf_counter()
        write_set(work / "baseline.json", 1000, None)
        write_set(work / "set.json", args.records, files)
        made = time.perf_counter() - started
        runs = {}
        for name, path in (("baseline", work / "baseline.json"), ("set", work / "set.json")):
            out, seconds = amparo(
                env, "hashlist", "import", "--name", f"vic {name}", "--source", "other", "--json", str(path)
            )
            print(f"{name}: {out.strip()} ({seconds:.1f} s)", file=sys.stderr)  # as soon as it is known
            runs[name] = json.loads(out) | {
                "seconds": round(seconds, 1),
                "file_mb": round(path.stat().st_size / 1e6, 1),
            }
        out, scan_seconds = amparo(env, "evidence", "scan", "--json", str(files))
        scanned = [
            r
            for r in (json.loads(line) for line in out.splitlines() if line.startswith("{"))
            if "summary" not in r
        ]
        found = sum(1 for result in scanned if any(m["list"] == "vic set" for m in result.get("matches", [])))
        load = os.getloadavg()
        summary = {
            "records": args.records,
            "set_file_mb": runs["set"]["file_mb"],
            "made_in_s": round(made, 1),
            "baseline_1000": {
                k: runs["baseline"][k] for k in ("records_read", "added", "peak_memory_mb", "seconds")
            },
            "import": {
                k: runs["set"][k]
                for k in (
                    "records_read",
                    "added",
                    "added_by_type",
                    "hashes_not_kept",
                    "peak_memory_mb",
                    "seconds",
                )
            },
            "scan": {"files": len(scanned), "found": found, "seconds": round(scan_seconds, 1)},
            "load_average": [round(x, 2) for x in load],
        }
        ok = runs["set"]["added"] == 2 * args.records and found == args.records == len(scanned)
        summary["ok"] = ok
        if args.as_json:
            print(json.dumps(summary))
        else:
            base, big = summary["baseline_1000"], summary["import"]
            print(
                f"VICS flat set of {args.records:,} records ({summary['set_file_mb']} MB), load {load[0]:.2f}"
            )
            print(f"  import 1,000 records:  peak {base['peak_memory_mb']} MB, {base['seconds']} s")
            print(
                f"  import {args.records:,} records: peak {big['peak_memory_mb']} MB, {big['seconds']} s, "
                f"{big['added']:,} hashes added {big['added_by_type']}, not kept {big['hashes_not_kept']}"
            )
            print(
                f"  evidence scan: {found:,} of {len(scanned):,} files found, {summary['scan']['seconds']} s"
            )
            print("  OK" if ok else "  FAILED: a hash was not added or a file not found")
        sys.exit(0 if ok else 1)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
