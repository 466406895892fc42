"""Hash lists: `amparo hashlist import` streams csv, pdq and VICS lists in batches (tombstones with
--delete), `amparo hashlist export` writes a case's hashes (never its files) and is audited."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from amparo.conftest import SYSTEM
from amparo.core.models import AuditEntry
from amparo.evidence import actions, formats, pdq
from amparo.evidence.models import CustodyEvent, CustodyKind, HashEntry, HashList, Match
from amparo.evidence.permissions import EvidenceAudit
from amparo.evidence.tests import test_vault
from amparo.evidence.tests.test_vault import textured_png

evidence_dir = test_vault.evidence_dir  # the shared fixture


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_csv_import_adds_entries_and_matches_the_vault(tmp_path, evidence_dir, make_case):
    data = b"synthetic vault file"
    item = actions.add_item(SYSTEM, make_case(), io.BytesIO(data))
    path = tmp_path / "list.csv"
    path.write_text(
        "hash_type,hash,category\n"
        f"sha256,{hashlib.sha256(data).hexdigest()},A1\n"
        f"md5,{'a' * 32},B\n"
        f"pdq,{'0f' * 32},\n"
        "sha256,not-a-hash,A1\n"
    )
    result = json.loads(
        run("hashlist", "import", "--name", "national-1", "--source", "national", "--json", str(path))
    )
    assert result["added"] == 3
    assert result["skipped_lines"] == 1
    assert result["new_matches"] == 1
    assert Match.objects.get().item_id == item.pk
    assert (
        AuditEntry.objects.filter(action=EvidenceAudit.HASHLIST_IMPORT).count() == 2
    )  # list created, entries
    again = json.loads(
        run("hashlist", "import", "--name", "national-1", "--source", "national", "--json", str(path))
    )
    assert again["added"] == 0
    assert again["new_matches"] == 0
    assert HashEntry.objects.count() == 3


@pytest.mark.django_db
def test_pdq_lines_and_vics_import_with_the_format_guessed(tmp_path):
    lines = tmp_path / "signals.txt"
    lines.write_text(f"pdq {'1' * 64}\npdq {'2' * 64}\n")
    run("hashlist", "import", "--name", "te", "--source", "other", str(lines))
    vics = tmp_path / "vics.json"
    with vics.open("w") as out:
        formats.write_vics(
            [formats.HashEntry("md5", "b" * 32, "2", "7"), formats.HashEntry("pdq", "3" * 64, "2", "7")], out
        )
    run("hashlist", "import", "--name", "icse", "--source", "icse", str(vics))
    assert HashEntry.objects.filter(hash_list__name="te", hash_type="pdq").count() == 2
    assert sorted(
        HashEntry.objects.filter(hash_list__name="icse").values_list("hash_type", "category", "entry_id")
    ) == [
        ("md5", "2", "7"),
        ("pdq", "2", "7"),
    ]


@pytest.mark.django_db
def test_delete_tombstones_entries(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(f"md5,{'c' * 32},A\nmd5,{'d' * 32},A\n")
    run("hashlist", "import", "--name", "n", "--source", "ncmec", str(path))
    path.write_text(f"md5,{'c' * 32},A\n")
    result = json.loads(
        run("hashlist", "import", "--name", "n", "--source", "ncmec", "--delete", "--json", str(path))
    )
    assert result["tombstoned"] == 1
    assert HashEntry.objects.filter(deleted_at__isnull=False).get().value == "c" * 32


@pytest.mark.django_db
def test_import_errors_say_what_to_do(tmp_path):
    translation.activate("en")  # the assertions read the English wording; the suite resets the language
    with pytest.raises(CommandError, match="Check the path"):
        run("hashlist", "import", "--name", "x", "--source", "iwf", str(tmp_path / "missing.csv"))
    path = tmp_path / "list.csv"
    path.write_text(f"md5,{'c' * 32},A\n")
    with pytest.raises(CommandError, match="between 0 and 52"):
        run("hashlist", "import", "--name", "x", "--source", "iwf", "--pdq-threshold", "60", str(path))
    assert not HashList.objects.exists()


@pytest.mark.django_db
def test_a_large_list_is_written_in_batches(tmp_path):
    rows = (actions.ListRow("md5", f"{i:032x}") for i in range(12_345))
    hash_list = actions.get_or_create_hash_list(SYSTEM, "big", "national")
    batches: list[int] = []
    result = actions.import_rows(SYSTEM, hash_list, rows, batch_size=5000, progress=batches.append)
    assert result.added == 12_345
    assert batches == [5000, 5000, 2345]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["vics", "csv"])
def test_export_writes_a_cases_hashes_only_and_round_trips(tmp_path, evidence_dir, make_case, fmt):
    case = make_case(agency="sernic")
    image = textured_png(41)
    first = actions.add_item(SYSTEM, case, io.BytesIO(image))
    second = actions.add_item(SYSTEM, case, io.BytesIO(b"synthetic document"))
    actions.add_item(SYSTEM, make_case(), io.BytesIO(b"another case's file"))
    out = tmp_path / f"export.{fmt}"
    summary = json.loads(
        run("hashlist", "export", "--case", case.reference, "--format", fmt, "-o", str(out), "--json")
    )
    assert summary["items"] == 2
    raw = out.read_bytes()
    assert image not in raw
    assert b"synthetic document" not in raw
    with out.open(encoding="utf-8", newline="") as text:
        entries = list(formats.read_entries(text, fmt))
    values = {(e.hash_type, e.hash) for e in entries}
    first.refresh_from_db()
    assert ("sha256", first.sha256) in values
    assert ("pdq", first.pdq) in values
    assert ("md5", hashlib.md5(b"synthetic document", usedforsecurity=False).hexdigest()) in values
    assert ("sha256", hashlib.sha256(b"another case's file").hexdigest()) not in values
    # Round trip: importing the export as a list matches both items again.
    result = json.loads(
        run(
            "hashlist",
            "import",
            "--name",
            "partner",
            "--source",
            "other",
            "--format",
            fmt,
            "--json",
            str(out),
        )
    )
    assert result["added"] == len(values)
    assert set(Match.objects.filter(hash_list__name="partner").values_list("item_id", flat=True)) >= {
        first.pk,
        second.pk,
    }
    assert AuditEntry.objects.filter(action=EvidenceAudit.HASHES_EXPORT, object_id=str(case.pk)).count() == 1
    assert CustodyEvent.objects.filter(kind=CustodyKind.EXPORTED).count() == 2


@pytest.mark.django_db
def test_export_of_an_unknown_case_says_how_to_fix_it(tmp_path):
    with pytest.raises(CommandError, match="No case has the reference"):
        run("hashlist", "export", "--case", "AMP-0000-0000", "--format", "csv", "-o", str(tmp_path / "x.csv"))


@pytest.mark.django_db
def test_export_as_a_user_without_the_right_is_refused(tmp_path, make_case, make_user):
    case = make_case(agency="sernic")
    analyst = make_user("analyst", agency="sernic")
    with pytest.raises(CommandError, match="may not"):
        run(
            "hashlist",
            "export",
            "--case",
            case.reference,
            "--format",
            "csv",
            "-o",
            str(tmp_path / "x.csv"),
            "--user",
            analyst.username,
        )


hex_digit = st.sampled_from("0123456789abcdefABCDEF ")


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.text(max_size=8), value=st.text(alphabet=hex_digit, max_size=70))
def test_clean_row_accepts_exactly_well_formed_hashes(kind, value):
    try:
        row = actions.clean_row(actions.ListRow(kind, value))
    except ValueError:
        cleaned = value.strip().lower()
        assert kind.strip().lower() not in ("md5", "sha1", "sha256", "pdq") or not (
            len(cleaned) == {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}[kind.strip().lower()]
            and set(cleaned) <= set("0123456789abcdef")
        )
    else:
        assert row.hash_type in ("md5", "sha1", "sha256", "pdq")
        assert len(row.value) == {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}[row.hash_type]
        if row.hash_type == "pdq":
            assert pdq.is_pdq_hex(row.value)
