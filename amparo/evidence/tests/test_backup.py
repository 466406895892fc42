"""Backups restore: everything backed up comes back, decrypts and verifies, on SQLite and PostgreSQL;
a damaged backup or the wrong key is refused; retention keeps what the policy says."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
from pathlib import Path

import pytest
from django.core.management import call_command

from amparo.conftest import SYSTEM
from amparo.core import backup
from amparo.core.models import AuditEntry
from amparo.core.tests.installations import installation_env, other_database, run
from amparo.evidence import actions as evidence_actions
from amparo.evidence.models import EvidenceItem
from amparo.evidence.tests.test_vault import evidence_dir  # noqa: F401  (the local store in a temporary directory)

pytestmark = pytest.mark.usefixtures("evidence_dir")

READ_BACK = """
import json
from amparo.cases.models import Case, Person
from amparo.evidence.models import EvidenceItem
from amparo.evidence import vault
import hashlib
out = {
    "cases": {c.reference: c.narrative for c in Case.objects.all()},
    "persons": sorted((p.name, p.phone) for p in Person.objects.all()),
    "evidence": {
        str(i.pk): [i.original_name, hashlib.sha256(b"".join(vault.read_chunks(i))).hexdigest(), i.sha256]
        for i in EvidenceItem.objects.all()
    },
}
print(json.dumps(out))
"""


@pytest.fixture
def backup_key(monkeypatch) -> str:
    key = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("AMPARO_BACKUP_KEY", key)
    return key


def fill(make_case) -> dict:  # noqa: ANN001
    """Cases with identifying fields, evidence files (one over a sealed chunk), and their audit entries."""
    cases = [
        make_case(
            narrative=f"Synthetic narrative {n} with accents: ção, ã.",
            victim_name=f"Ana Teste {n}",
            victim_phone=f"+25884000000{n}",
        )
        for n in range(3)
    ]
    files = [os.urandom(3000), os.urandom((1 << 20) + 12345)]
    for n, data in enumerate(files):
        evidence_actions.add_item(SYSTEM, cases[n], io.BytesIO(data), original_name=f"IMG_{n}.jpg")
    return {"cases": cases, "files": files}


def round_trip(tmp_path: Path, make_case, database_url: str) -> None:  # noqa: ANN001
    made = fill(make_case)
    source = {
        "cases": {c.reference: c.narrative for c in made["cases"]},
        "audit": AuditEntry.objects.count(),
        "evidence": {str(i.pk): i.sha256 for i in EvidenceItem.objects.all()},
    }
    created = backup.create(tmp_path / "backups")
    assert created.path.name.startswith(backup.PREFIX)
    assert created.manifest["sources"]["evidence"]["files"] == 2
    raw = b"".join(p.read_bytes() for p in created.path.iterdir())
    assert b"Ana Teste" not in raw
    assert b"Synthetic narrative" not in raw
    master = os.environ["AMPARO_MASTER_KEY"].encode()
    assert master not in raw
    assert base64.b64decode(master) not in raw

    env = installation_env(tmp_path / "restored", database_url)
    restored = run(["backup", "restore", str(created.path), "--json"], env)
    assert restored.returncode == 0, restored.stderr + restored.stdout
    result = json.loads(restored.stdout)
    assert result["ok"] is True, result
    assert result["checks"]["audit"]["checked"] == source["audit"]
    assert result["checks"]["evidence"] == {"ok": True, "checked": 2, "problems": []}
    assert result["checks"]["encrypted_fields"]["checked"] >= 3 + 3 + 2

    seen = run(["shell", "-c", READ_BACK], env)
    assert seen.returncode == 0, seen.stderr
    back = json.loads(seen.stdout.strip().splitlines()[-1])
    assert back["cases"] == source["cases"]
    assert sorted(name for name, _phone in back["persons"]) == [f"Ana Teste {n}" for n in range(3)]
    assert {pk: v[2] for pk, v in back["evidence"].items()} == source["evidence"]
    assert all(v[1] == v[2] for v in back["evidence"].values())  # every file re-verifies against its SHA-256
    assert sorted(v[0] for v in back["evidence"].values()) == ["IMG_0.jpg", "IMG_1.jpg"]

    verified = run(["audit_verify", "--json"], env)
    assert verified.returncode == 0, verified.stdout
    # The restored installation refuses a second restore over it unless told.
    again = run(["backup", "restore", str(created.path), "--json"], env)
    assert again.returncode == 1
    assert "not empty" in json.loads(again.stdout)["error"]


def test_backup_restores_into_a_fresh_installation_with_everything(live_db, make_case, backup_key, tmp_path):
    """On SQLite, and on PostgreSQL when the suite runs there (pg_dump, pg_restore into a new database)."""
    with other_database(tmp_path) as url:
        round_trip(tmp_path, make_case, url)


def test_verify_finds_a_flipped_byte_and_names_the_file(live_db, make_case, backup_key, tmp_path):
    fill(make_case)
    created = backup.create(tmp_path / "backups")
    assert backup.verify(created.path).ok
    target = created.path / "evidence.enc"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    result = backup.verify(created.path)
    assert result.problems == ["evidence.enc does not match its checksum in the manifest."]


@pytest.mark.django_db(transaction=True)
def test_a_backup_does_not_open_under_another_key(backup_key, tmp_path, monkeypatch):
    created = backup.create(tmp_path / "backups")
    monkeypatch.setenv("AMPARO_BACKUP_KEY", base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(backup.BackupError, match="does not authenticate under this AMPARO_BACKUP_KEY"):
        backup.verify(created.path)


@pytest.mark.django_db(transaction=True)
def test_a_chunk_sealed_for_another_file_fails_even_with_matching_checksums(backup_key, tmp_path):
    """Swapping two sealed files and their manifest lines (made by someone holding only the checksums)
    fails: each file's label is bound into every chunk."""
    created = backup.create(tmp_path / "backups")
    key = backup.backup_key()
    manifest = json.loads((created.path / backup.MANIFEST).read_text())
    files = manifest["files"]
    a, b = "evidence.enc", "evidence-manifest.enc"
    (created.path / a).rename(created.path / "swap")
    (created.path / b).rename(created.path / a)
    (created.path / "swap").rename(created.path / b)
    files[a], files[b] = files[b], files[a]
    body = {k: v for k, v in manifest.items() if k != "mac"}
    manifest["mac"] = backup._manifest_mac(key, body)  # as if the attacker also had the key's MAC
    (created.path / backup.MANIFEST).write_text(json.dumps(manifest))
    problems = backup.verify(created.path).problems
    assert len(problems) == 2
    assert all("failed authentication" in p for p in problems)


def test_the_backup_key_must_differ_from_the_master_key(monkeypatch):
    monkeypatch.setenv("AMPARO_BACKUP_KEY", os.environ["AMPARO_MASTER_KEY"])
    with pytest.raises(backup.BackupError, match="is the master key"):
        backup.backup_key()


def test_no_backup_key_says_how_to_make_one(monkeypatch):
    monkeypatch.delenv("AMPARO_BACKUP_KEY", raising=False)
    with pytest.raises(backup.BackupError, match="Generate one with"):
        backup.backup_key()


@pytest.mark.django_db(transaction=True)
def test_creating_a_backup_is_audited_and_gives_the_age_of_the_last_one(backup_key, tmp_path):
    assert backup.last_backup_age() is None
    created = backup.create(tmp_path / "backups")
    entry = AuditEntry.objects.get(action="core:backup:create")
    assert entry.object_id == created.path.name
    assert 0 <= backup.last_backup_age() < 60


def make_backups(root: Path, stamps: list[dt.datetime]) -> None:
    for at in stamps:
        path = root / (backup.PREFIX + at.strftime(backup.STAMP))
        path.mkdir(parents=True)
        (path / backup.MANIFEST).write_text("{}")


def test_prune_keeps_the_newest_of_each_day_week_and_month(tmp_path):
    now = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
    # Two a day for 100 days.
    stamps = [now - dt.timedelta(hours=12 * n) for n in range(200)]
    make_backups(tmp_path, stamps)
    (tmp_path / (backup.PREFIX + "20261207T030000Z" + backup.PARTIAL)).mkdir()  # unfinished: never touched
    kept, deleted = backup.prune(tmp_path, daily=7, weekly=5, monthly=12)
    names = sorted(p.name[len(backup.PREFIX) :] for p in kept)
    assert len(kept) + len(deleted) == 200
    assert names == sorted(
        [
            # daily: the newest of each of the last 7 days (Monday 7 December back to Tuesday 1)
            "20261207T020000Z", "20261206T140000Z", "20261205T140000Z", "20261204T140000Z",
            "20261203T140000Z", "20261202T140000Z", "20261201T140000Z",
            # weekly: the newest of the ISO weeks not already covered (of 23, 16 and 9 November)
            "20261129T140000Z", "20261122T140000Z", "20261115T140000Z",
            # monthly: the newest of November, October, September and August (the oldest reaches 29 August)
            "20261130T140000Z", "20261031T140000Z", "20260930T140000Z", "20260831T140000Z",
        ]
    )  # fmt: skip
    assert all(p.exists() for p in kept)
    assert not any(p.exists() for p in deleted)
    assert (tmp_path / (backup.PREFIX + "20261207T030000Z" + backup.PARTIAL)).exists()


def test_prune_dry_run_deletes_nothing(tmp_path):
    now = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
    make_backups(tmp_path, [now - dt.timedelta(days=n) for n in range(10)])
    out = io.StringIO()
    call_command(
        "backup",
        "prune",
        str(tmp_path),
        "--keep-daily",
        "2",
        "--keep-weekly",
        "0",
        "--keep-monthly",
        "0",
        "--dry-run",
        "--json",
        stdout=out,
    )
    result = json.loads(out.getvalue())
    assert len(result["kept"]) == 2
    assert len(result["deleted"]) == 8
    assert len(list(tmp_path.iterdir())) == 10


def test_a_file_named_outside_the_store_in_a_backup_is_refused_and_nothing_escapes(backup_key, tmp_path):
    import tarfile

    from amparo.evidence.backup import SOURCE

    key = backup.backup_key()
    sealed = backup._Sealed(tmp_path, "evidence.enc", key)
    with sealed as out, tarfile.open(fileobj=out, mode="w|") as archive:
        info = tarfile.TarInfo("../../escape")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(backup.BackupError, match="could not be written back to the evidence store"):
        backup._restore_files(tmp_path, key, SOURCE, None)
    assert not (Path(os.environ["AMPARO_EVIDENCE_DIR"]).parent.parent / "escape").exists()
    assert not (tmp_path.parent / "escape").exists()


@pytest.mark.django_db(transaction=True)
def test_restore_under_another_master_key_is_refused_before_anything_changes(backup_key, tmp_path, settings):
    created = backup.create(tmp_path / "backups")
    entries = AuditEntry.objects.count()
    settings.AMPARO_MASTER_KEY = os.urandom(32)
    with pytest.raises(backup.BackupError, match="Set AMPARO_MASTER_KEY to the escrowed key"):
        backup.restore(created.path, force=True)
    assert AuditEntry.objects.count() == entries  # nothing restored, nothing recorded
