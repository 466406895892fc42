"""`amparo evidence scan PATH... --json`: one JSON object per file (path, sha256, md5, pdq, quality,
matches), recursively, storing nothing and printing no content."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from amparo.evidence import pdq
from amparo.evidence.models import EvidenceItem
from amparo.evidence.tests.test_matching_db import flip_bits, make_list
from amparo.evidence.tests.test_vault import textured_png


def scan(*paths: str) -> list[dict]:
    out = io.StringIO()
    call_command("evidence", "scan", *paths, "--json", stdout=out, stderr=io.StringIO())
    return [json.loads(line) for line in out.getvalue().splitlines()]


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
    assert "4 files scanned, 0 known." in text


@pytest.mark.django_db
def test_scan_of_a_missing_path_says_what_to_check(tmp_path):
    with pytest.raises(CommandError, match="Check the paths"):
        scan(str(tmp_path / "nowhere"))


@pytest.mark.django_db
def test_scan_accepts_single_files(drive):
    root, _ = drive
    [result] = scan(str(root / "notes.txt"))
    assert result["path"] == str(root / "notes.txt")
