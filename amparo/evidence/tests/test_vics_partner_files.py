"""Project VIC (VICS) hash sets as partners send them (issue 13, item 1): the flat OData form of
VICS 1.3 and 2.0 in any region, the case form, letter case and number/text variants, PhotoDNA counted
not kept; a file that yields no hash is an error that leaves nothing behind; the case export is a real
VICS 2.0 file (one Media record per MD5) that imports back whole. The samples in data/vics/ are built
from the published data model, not by Amparo's exporter (see data/vics/README.md)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from amparo.conftest import SYSTEM
from amparo.evidence import actions, formats
from amparo.evidence.formats import HashEntry, ReadReport
from amparo.evidence.models import EvidenceItem, HashList
from amparo.evidence.models import HashEntry as HashRow
from amparo.evidence.tests import test_vault
from amparo.evidence.tests.test_vault import textured_png

evidence_dir = test_vault.evidence_dir  # the shared fixture
DATA = Path(__file__).parent / "data" / "vics"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def sample_bytes(n: int) -> bytes:
    return f"amparo synthetic vics sample {n}\n".encode()


def digests(n: int) -> dict[str, str]:
    data = sample_bytes(n)
    return {
        kind: hashlib.new(kind, data, usedforsecurity=False).hexdigest() for kind in ("md5", "sha1", "sha256")
    }


def read_sample(name: str) -> tuple[list[HashEntry], ReadReport]:
    report = ReadReport()
    with open(DATA / name, "rb") as stream:
        entries = list(formats.read_vics(stream, strict=False, report=report))
    return entries, report


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --------------------------------------------------------------------------- the reader


def test_a_flat_vics_2_0_hash_set_yields_every_record_with_upper_case_hashes_folded():
    entries, report = read_sample("flat-2.0-default.json")
    first = digests(1)
    assert entries[:4] == [
        HashEntry("md5", first["md5"], "1", "1"),
        HashEntry("sha1", first["sha1"], "1", "1"),
        HashEntry("pdq", PDQ, "1", "1"),
        HashEntry("sha256", first["sha256"], "1", "1"),
    ]
    assert {(e.hash_type, e.hash, e.category, e.entry_id) for e in entries[4:]} == {
        ("md5", digests(2)["md5"], "2", "2"),
        ("sha1", digests(2)["sha1"], "2", "2"),
        ("md5", digests(3)["md5"], "0", "3"),
        ("sha1", digests(3)["sha1"], "0", "3"),
    }
    assert report.records == 3
    assert dict(report.by_type) == {"md5": 3, "sha1": 3, "pdq": 1, "sha256": 1}
    # PhotoDNA (top-level and as an alternative hash) is counted, never an error.
    assert dict(report.not_kept) == {"PhotoDNA": 4}
    assert report.skipped == 0


def test_a_flat_vics_1_3_hash_set_with_text_ids_and_categories_is_read():
    entries, report = read_sample("flat-1.3.json")
    assert entries == [
        HashEntry("md5", digests(4)["md5"], "1", "4"),
        HashEntry("sha1", digests(4)["sha1"], "1", "4"),
        HashEntry("md5", digests(5)["md5"], "2", "5"),
        HashEntry("sha1", digests(5)["sha1"], "2", "5"),
    ]
    assert report.records == 2


def test_a_regional_flat_file_and_a_case_file_are_read():
    uk, _ = read_sample("flat-2.0-uk.json")
    assert {(e.hash_type, e.hash) for e in uk} == {("md5", digests(6)["md5"]), ("sha1", digests(6)["sha1"])}
    cases, report = read_sample("cases-2.0.json")
    assert report.records == 2  # the case itself is not a record
    assert {(e.hash_type, e.hash) for e in cases} == {
        (kind, digests(n)[kind]) for n in (7, 8) for kind in ("md5", "sha1", "sha256")
    }


@pytest.mark.parametrize(
    "context",
    [
        ("odata.metadata", "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"),
        (
            "@odata.context",
            "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media",
        ),
    ],
)
def test_member_names_in_any_letter_case_and_string_or_integer_ids_are_accepted(context):
    document = {
        context[0]: context[1],
        "value": [
            {"mediaid": 7, "category": "3", "md5": digests(1)["md5"].upper()},
            {"MEDIAID": "x-8", "CATEGORY": 4, "Sha1": digests(2)["sha1"]},
        ],
    }
    report = ReadReport()
    entries = list(formats.read_vics(io.BytesIO(json.dumps(document).encode()), report=report))
    assert entries == [
        HashEntry("md5", digests(1)["md5"], "3", "7"),
        HashEntry("sha1", digests(2)["sha1"], "4", "x-8"),
    ]


def test_bad_records_are_skipped_and_counted_by_reason():
    document = {
        "value": [
            {"MediaID": 1, "MD5": "not-hex"},
            {"MediaID": 2, "PhotoDNA": "AQID"},
            {"MediaID": 3, "Category": True, "MD5": digests(1)["md5"]},
            {"MediaID": 4, "MD5": digests(2)["md5"]},
        ]
    }
    report = ReadReport()
    entries = list(formats.read_vics(io.BytesIO(json.dumps(document).encode()), strict=False, report=report))
    assert entries == [HashEntry("md5", digests(2)["md5"], None, "4")]
    assert dict(report.skipped_by_reason) == {"bad_hash": 1, "no_hash": 1, "bad_category": 1}
    assert report.records == 4


def test_the_category_of_an_export_follows_the_classification():
    assert formats.vics_category(["A1"]) == 1
    assert formats.vics_category(["3", "2"]) == 2
    assert formats.vics_category(["Cat 4"]) == 4
    assert formats.vics_category(["national list"]) is None
    assert formats.vics_category([]) is None


# --------------------------------------------------------------------------- the command


@pytest.mark.django_db
def test_partner_hash_sets_import_and_every_hash_is_found_by_evidence_scan(tmp_path):
    summaries = {
        name: json.loads(
            run(
                "hashlist", "import", "--name", f"vic {name}", "--source", "other", "--json", str(DATA / name)
            )
        )
        for name in ("flat-2.0-default.json", "flat-1.3.json", "flat-2.0-uk.json", "cases-2.0.json")
    }
    flat = summaries["flat-2.0-default.json"]
    assert flat["records_read"] == 3
    assert flat["added"] == 8
    assert flat["added_by_type"] == {"md5": 3, "pdq": 1, "sha1": 3, "sha256": 1}
    assert flat["skipped_by_reason"] == {}
    assert flat["hashes_not_kept"] == {"PhotoDNA": 4}
    assert flat["peak_memory_mb"] > 0
    assert summaries["cases-2.0.json"]["added_by_type"] == {"md5": 2, "sha1": 2, "sha256": 2}
    seized = tmp_path / "seized"
    seized.mkdir()
    for n in range(1, 9):
        (seized / f"file{n}.bin").write_bytes(sample_bytes(n))
    out = io.StringIO()
    call_command("evidence", "scan", "--json", str(seized), stdout=out, stderr=io.StringIO())
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    results = [line for line in lines if "summary" not in line]  # the scan ends with a summary line
    assert len(results) == 8
    assert all(result["matches"] for result in results), [r["path"] for r in results if not r["matches"]]
    assert lines[-1]["summary"]["files"] == 8


@pytest.mark.django_db
def test_the_plain_output_says_what_was_read_added_and_skipped():
    text = run(
        "hashlist", "import", "--name", "vic", "--source", "other", str(DATA / "flat-2.0-default.json")
    )
    assert "3 records read, 8 hashes (md5 3, pdq 1, sha1 3, sha256 1)" in text
    assert "8 added (md5 3, pdq 1, sha1 3, sha256 1)" in text
    assert "Skipped 0 records." in text
    assert "not kept: PhotoDNA 4" in text
    assert "Peak memory:" in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b'{"@odata.context": "x#Media", "Items": [{"MD5": "' + b"a" * 32 + b'"}]}', "flat, #Media"),
        (b'{"value": [{"MediaID": 1, "MD5": "zz"}, {"MediaID": 2}]}', "bad_hash 1, no_hash 1"),
        (b"[1, 2]", "must be a JSON object"),
    ],
)
def test_a_file_yielding_no_hash_is_an_error_that_leaves_no_list(tmp_path, content, expected):
    path = tmp_path / "list.json"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=expected):
        run("hashlist", "import", "--name", "nothing", "--source", "other", "--format", "vics", str(path))
    assert not HashList.objects.exists()


# --------------------------------------------------------------------------- the export


@pytest.mark.django_db
def test_the_vics_export_is_a_vics_2_0_case_file_with_one_record_per_md5(tmp_path, evidence_dir, make_case):
    case = make_case(agency="sernic")
    image = textured_png(41)
    first = actions.add_item(SYSTEM, case, io.BytesIO(image), classification="A1")
    actions.add_item(SYSTEM, case, io.BytesIO(image))  # the same file twice: one Media record
    other = actions.add_item(SYSTEM, case, io.BytesIO(b"synthetic document"))
    out = tmp_path / "export.json"
    export = ("hashlist", "export", "--format", "vics", "--region", "UK", "--json")
    summary = json.loads(run(*export, "--case", case.reference, "-o", str(out)))
    assert summary["items"] == 3
    assert summary["media_records"] == 2
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["@odata.context"] == (
        "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Cases"
    )
    media = document["value"][0]["Media"]
    first.refresh_from_db()
    other.refresh_from_db()
    assert [record["MediaID"] for record in media] == [1, 2]
    assert media[0]["MD5"] == first.md5.upper()
    assert media[0]["SHA1"] == first.sha1.upper()
    assert media[0]["MediaSize"] == len(image)
    assert media[0]["Category"] == 1
    assert {"HashName": "PDQ", "HashValue": first.pdq} in media[0]["AlternativeHashes"]
    assert "Category" not in media[1]
    assert media[1]["MediaSize"] == len(b"synthetic document")
    assert summary["hashes"] == sum(
        bool(r.get("MD5")) + bool(r.get("SHA1")) + len(r.get("AlternativeHashes", [])) for r in media
    )


@pytest.mark.django_db
def test_a_vics_export_imported_into_an_empty_instance_keeps_every_hash(tmp_path, evidence_dir, make_case):
    case = make_case(agency="sernic")
    for data in (textured_png(7), textured_png(8), b"synthetic text"):
        actions.add_item(SYSTEM, case, io.BytesIO(data))
    expected = {
        (kind, value)
        for item in EvidenceItem.objects.filter(case=case)
        for kind in ("md5", "sha1", "sha256", "pdq")
        if (value := getattr(item, kind))
    }
    out = tmp_path / "export.json"
    run("hashlist", "export", "--case", case.reference, "--format", "vics", "-o", str(out))
    assert json.loads(out.read_text())["@odata.context"].endswith("/2.0.xml/Default/$metadata#Cases")
    assert not HashRow.objects.exists()  # as in a receiving instance: no list holds any hash yet
    result = json.loads(
        run("hashlist", "import", "--name", "from partner", "--source", "other", "--json", str(out))
    )
    imported = set(HashRow.objects.filter(hash_list__name="from partner").values_list("hash_type", "value"))
    assert imported == expected
    assert result["added"] == len(expected)
