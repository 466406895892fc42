"""`amparo evidence scan PATH... --json`: one JSON object per file (path, size, sha256, md5, pdq, quality,
media type, matches), recursively, in a pool of child processes, storing nothing and printing no content;
hostile files are reported and the scan goes on; a summary at the end; --resume skips what an
interrupted scan's output lists."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from amparo.evidence import pdq
from amparo.evidence.models import EvidenceItem
from amparo.evidence.tests.test_matching_db import flip_bits, make_list
from amparo.evidence.tests.test_vault import textured_png


def scan_lines(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("evidence", "scan", *args, "--json", "--workers", "2", stdout=out, stderr=io.StringIO())
    return [json.loads(line) for line in out.getvalue().splitlines()]


def scan(*paths: str) -> list[dict]:
    """The per-file lines of a --json scan (its last line, the summary, checked and left out)."""
    *files, last = scan_lines(*paths)
    assert set(last) == {"summary"}
    assert last["summary"]["files"] == len(files)
    return files


@pytest.fixture
def drive(tmp_path):
    """A copied 'drive' of synthetic files: a known image (mirrored), a known document, unknown files."""
    root = tmp_path / "drive"
    (root / "DCIM" / "sub").mkdir(parents=True)
    image = textured_png(51)
    mirrored = io.BytesIO()
    Image.open(io.BytesIO(image)).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(
        mirrored, format="JPEG", quality=92
    )
    (root / "DCIM" / "sub" / "holiday.jpg").write_bytes(mirrored.getvalue())
    (root / "notes.txt").write_bytes(b"a known synthetic document")
    (root / "DCIM" / "other.png").write_bytes(textured_png(52))
    flat = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 200, 200)).save(flat, format="PNG")
    (root / "DCIM" / "blank.png").write_bytes(flat.getvalue())
    return root, image


@pytest.mark.django_db
def test_scan_reports_every_file_with_its_hashes_and_matches(drive):
    root, image = drive
    make_list(
        name="ICSE",
        rows=[
            ("pdq", flip_bits(pdq.pdq_hash(io.BytesIO(image)).hash_hex, 3), "Category 1"),
            ("sha256", hashlib.sha256(b"a known synthetic document").hexdigest(), "B"),
        ],
    )
    results = {r["path"]: r for r in scan(str(root))}
    assert len(results) == 4
    for result in results.values():
        assert set(result) >= {"path", "sha256", "md5", "pdq", "quality", "matches"}
    doc = results[str(root / "notes.txt")]
    assert doc["sha256"] == hashlib.sha256(b"a known synthetic document").hexdigest()
    assert doc["md5"] == hashlib.md5(b"a known synthetic document", usedforsecurity=False).hexdigest()
    assert (doc["pdq"], doc["quality"]) == (None, None)
    assert doc["matches"] == [{"list": "ICSE", "hash_type": "sha256", "distance": 0, "category": "B"}]
    photo = results[str(root / "DCIM" / "sub" / "holiday.jpg")]
    assert photo["quality"] >= 50
    assert pdq.is_pdq_hex(photo["pdq"])
    [match] = photo["matches"]
    assert (match["list"], match["hash_type"], match["category"]) == ("ICSE", "pdq", "Category 1")
    assert match["distance"] <= 31
    assert results[str(root / "DCIM" / "other.png")]["matches"] == []
    blank = results[str(root / "DCIM" / "blank.png")]
    assert blank["low_quality"] is True
    assert blank["matches"] == []
    assert not EvidenceItem.objects.exists()  # nothing stored


@pytest.mark.django_db
def test_scan_output_never_contains_file_contents(drive):
    root, _ = drive
    out = io.StringIO()
    call_command("evidence", "scan", str(root), stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "a known synthetic document" not in text
    assert "4 files scanned, 0 known (4 hashed" in text


@pytest.mark.django_db
def test_scan_of_a_missing_path_says_what_to_check(tmp_path):
    with pytest.raises(CommandError, match="Check the paths"):
        scan(str(tmp_path / "nowhere"))


@pytest.mark.django_db
def test_scan_accepts_single_files(drive):
    root, _ = drive
    [result] = scan(str(root / "notes.txt"))
    assert result["path"] == str(root / "notes.txt")


@pytest.fixture
def hostile_drive(tmp_path):
    """Ordinary files with hostile ones among them: a truncated JPEG, a zero-length video, a 20 KB PNG
    that would decode to 169 M pixels, random bytes named like a photo, and a text document."""
    from amparo.evidence.tests.hostile import png_bomb

    root = tmp_path / "phone"
    root.mkdir()
    photo = io.BytesIO()
    Image.open(io.BytesIO(textured_png(61, size=900))).save(photo, format="JPEG", quality=90)
    (root / "a-photo.jpg").write_bytes(photo.getvalue())
    (root / "b-truncated.jpg").write_bytes(photo.getvalue()[: len(photo.getvalue()) // 3])
    (root / "c-empty.mp4").write_bytes(b"")
    (root / "d-bomb.png").write_bytes(png_bomb())
    (root / "e-noise.jpg").write_bytes(bytes(range(256)) * 40)
    (root / "f-notes.txt").write_bytes(b"synthetic notes")
    (root / "g-photo.webp").write_bytes(textured_png(62, fmt="WEBP"))
    return root


@pytest.mark.django_db
def test_hostile_files_are_reported_and_the_scan_goes_on(hostile_drive):
    results = {Path(r["path"]).name: r for r in scan(str(hostile_drive))}
    assert len(results) == 7
    assert all(r["sha256"] for r in results.values())  # every file keeps its exact hashes
    assert results["a-photo.jpg"]["media_type"] == "image/jpeg"
    assert results["a-photo.jpg"]["quality"] >= 50
    assert results["g-photo.webp"]["media_type"] == "image/webp"
    assert pdq.is_pdq_hex(results["g-photo.webp"]["pdq"])
    assert results["b-truncated.jpg"]["not_hashed"] == "could not be decoded"
    assert results["c-empty.mp4"]["not_hashed"] == "empty file"
    assert results["d-bomb.png"]["not_hashed"] == "too large to decode safely"
    assert results["e-noise.jpg"]["not_hashed"] == "unsupported format"
    assert results["f-notes.txt"]["not_hashed"] == "unsupported format"
    assert results["f-notes.txt"]["size"] == len(b"synthetic notes")


@pytest.mark.django_db
def test_the_summary_counts_files_matches_and_reasons(hostile_drive):
    make_list(name="ICSE", rows=[("sha256", hashlib.sha256(b"synthetic notes").hexdigest(), "B")])
    summary = scan_lines(str(hostile_drive))[-1]["summary"]
    assert (summary["files"], summary["hashed"], summary["known"]) == (7, 7, 1)
    assert summary["matched"] == {"ICSE / B": 1}
    assert summary["skipped"] == {
        "could not be decoded": 1,
        "empty file": 1,
        "perceptual hash: unsupported format": 2,
        "too large to decode safely": 1,
    }
    assert summary["interrupted"] is False


@pytest.mark.django_db
def test_resume_skips_the_files_an_earlier_output_lists(hostile_drive, tmp_path):
    first = scan_lines(str(hostile_drive / "a-photo.jpg"), str(hostile_drive / "f-notes.txt"))
    earlier = tmp_path / "earlier.jsonl"
    # An interrupted scan's output: two file lines and a torn last line, no summary.
    earlier.write_text("\n".join(json.dumps(r) for r in first[:-1]) + '\n{"path": "/x", "sha2')
    rest = scan_lines(str(hostile_drive), "--resume", str(earlier))
    names = sorted(Path(r["path"]).name for r in rest[:-1])
    assert names == ["b-truncated.jpg", "c-empty.mp4", "d-bomb.png", "e-noise.jpg", "g-photo.webp"]
    assert rest[-1]["summary"]["already_scanned"] == 2


@pytest.mark.django_db
def test_exact_pdq_reproduces_the_reference_decode(drive):
    root, _ = drive
    photo = root / "DCIM" / "sub" / "holiday.jpg"
    [line] = scan(str(photo), "--exact-pdq")
    assert line["pdq"] == pdq.pdq_hash(photo, exact=True).hash_hex


@pytest.mark.django_db
def test_a_resume_file_that_cannot_be_read_says_what_to_pass(drive, tmp_path):
    root, _ = drive
    with pytest.raises(CommandError, match="interrupted scan"):
        scan(str(root), "--resume", str(tmp_path / "none.jsonl"))
