"""The vault stores files encrypted, streams them in chunks, and detects any change to what it stored."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image

from amparo.conftest import SYSTEM
from amparo.core import crypto
from amparo.core.models import AuditEntry
from amparo.evidence import actions, storage, vault
from amparo.evidence.models import CustodyEvent, CustodyKind, EvidenceItem
from amparo.evidence.permissions import EvidenceAudit
from amparo.lib import envelope


def textured_png(seed: int = 1, size: int = 320, fmt: str = "PNG") -> bytes:
    """A synthetic, benign image: coarse random texture smoothly upsampled (PDQ quality 100, and its
    rotations and mirror images hash exactly to the dihedral variants)."""
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, size=(12, 12, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(low).resize((size, size), Image.Resampling.BICUBIC).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def evidence_dir(tmp_path, monkeypatch) -> Path:
    """Local storage in a temporary directory (the default back-end)."""
    root = tmp_path / "evidence"
    monkeypatch.setenv("AMPARO_EVIDENCE_STORAGE", "local")
    monkeypatch.setenv("AMPARO_EVIDENCE_DIR", str(root))
    return root


def stored_path(root: Path, item: EvidenceItem) -> Path:
    return root / item.storage_key


@pytest.mark.django_db
def test_stored_bytes_differ_from_the_plaintext_and_read_back_exactly(evidence_dir, make_case):
    case = make_case()
    data = os.urandom(1000) + b"EXIF-like metadata that must be kept" + os.urandom(1000)
    item = actions.add_item(SYSTEM, case, io.BytesIO(data), original_name="IMG_0001.jpg")
    stored = stored_path(evidence_dir, item).read_bytes()
    assert data not in stored
    assert b"EXIF-like metadata" not in stored
    assert b"".join(vault.read_chunks(item)) == data
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    assert item.size == len(data)


@pytest.mark.django_db
def test_original_name_is_encrypted_at_rest(evidence_dir, make_case):
    from django.db import connection

    item = actions.add_item(SYSTEM, make_case(), io.BytesIO(b"x" * 10), original_name="Ana-Teste.jpg")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT original_name FROM evidence_evidenceitem WHERE id = %s",
            [item.pk.hex if connection.vendor == "sqlite" else item.pk],
        )
        (raw,) = cursor.fetchone()
    assert "Ana-Teste" not in raw
    assert EvidenceItem.objects.get(pk=item.pk).original_name == "Ana-Teste.jpg"


@pytest.mark.django_db
def test_a_flipped_byte_is_an_integrity_alarm_with_a_custody_event(evidence_dir, make_case):
    item = actions.add_item(SYSTEM, make_case(), io.BytesIO(os.urandom(5000)))
    path = stored_path(evidence_dir, item)
    raw = bytearray(path.read_bytes())
    raw[100] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(vault.IntegrityAlarm):
        vault.verify(item)
    alarm = CustodyEvent.objects.get(item=item, kind=CustodyKind.INTEGRITY_ALARM)
    assert alarm.detail == {"expected_sha256": item.sha256}
    assert (
        AuditEntry.objects.filter(action=EvidenceAudit.ITEM_INTEGRITY_ALARM, object_id=str(item.pk)).count()
        == 1
    )


@pytest.mark.django_db
def test_a_truncated_file_is_detected_even_at_a_chunk_boundary(evidence_dir, make_case, monkeypatch):
    chunk = 4096
    data = os.urandom(chunk * 3)
    case = make_case()
    item_id = __import__("uuid").uuid4()
    sealed = vault.seal(item_id, io.BytesIO(data), chunk_size=chunk)
    item = EvidenceItem(
        id=item_id,
        case=case,
        received_by_agency=case.owning_agency,
        size=sealed.size,
        sha256=sealed.sha256,
        storage_key=sealed.storage_key,
        wrapped_key=sealed.wrapped_key,
        master_key_id=sealed.master_key_id,
        chunk_size=sealed.chunk_size,
        chunk_count=sealed.chunk_count,
    )
    item.save()
    assert b"".join(vault.read_chunks(item)) == data
    path = stored_path(evidence_dir, item)
    whole = path.read_bytes()
    # Drop the last sealed chunk and claim one chunk fewer: the new last chunk lacks the final flag.
    path.write_bytes(whole[: 2 * (chunk + vault.OVERHEAD)])
    item.chunk_count = 2
    with pytest.raises(vault.IntegrityAlarm):
        vault.verify(item)
    # Swap two chunks: each chunk's index is authenticated.
    a, b = whole[: chunk + vault.OVERHEAD], whole[chunk + vault.OVERHEAD : 2 * (chunk + vault.OVERHEAD)]
    path.write_bytes(b + a + whole[2 * (chunk + vault.OVERHEAD) :])
    item.chunk_count = 3
    with pytest.raises(vault.IntegrityAlarm):
        vault.verify(item)


@pytest.mark.django_db
def test_a_recorded_sha256_that_differs_is_an_integrity_alarm(evidence_dir, make_case):
    item = actions.add_item(SYSTEM, make_case(), io.BytesIO(b"benign bytes"))
    item.sha256 = "0" * 64
    with pytest.raises(vault.IntegrityAlarm):
        vault.verify(item)


class CountingStream(io.RawIOBase):
    """A stream of `total` pseudo-random bytes that remembers the largest read asked of it."""

    def __init__(self, total: int) -> None:
        self.remaining = total
        self.largest_read = 0
        self.digest = hashlib.sha256()
        self.rng = np.random.default_rng(7)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        self.largest_read = max(self.largest_read, n)
        n = min(n if n >= 0 else self.remaining, self.remaining)
        data = self.rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
        self.remaining -= n
        self.digest.update(data)
        return data


@pytest.mark.django_db
def test_large_files_stream_through_in_chunks(evidence_dir, make_case):
    source = CountingStream(3 * vault.CHUNK_SIZE + 123)
    item = actions.add_item(SYSTEM, make_case(), source)
    assert item.chunk_count == 4
    assert source.largest_read <= vault.CHUNK_SIZE
    sizes = [len(c) for c in vault.read_chunks(item)]
    assert sizes == [vault.CHUNK_SIZE] * 3 + [123]
    assert item.sha256 == source.digest.hexdigest()
    assert stored_path(evidence_dir, item).stat().st_size == item.size + 4 * vault.OVERHEAD


@pytest.mark.django_db
def test_uploaded_files_are_read_through_their_chunks(evidence_dir, make_case):
    data = textured_png(3)
    item = actions.add_item(SYSTEM, make_case(), SimpleUploadedFile("a.png", data, "image/png"))
    assert b"".join(vault.read_chunks(item)) == data


@pytest.mark.django_db
def test_files_over_the_limit_are_refused_and_leave_nothing(evidence_dir, make_case, monkeypatch):
    monkeypatch.setenv("AMPARO_EVIDENCE_MAX_BYTES", "1000")
    with pytest.raises(ValidationError):
        actions.add_item(SYSTEM, make_case(), io.BytesIO(b"x" * 1001))
    assert not EvidenceItem.objects.exists()
    assert not [p for p in evidence_dir.rglob("*") if p.is_file()]


@pytest.mark.django_db
def test_empty_files_are_stored_and_verified(evidence_dir, make_case):
    item = actions.add_item(SYSTEM, make_case(), io.BytesIO(b""))
    assert item.chunk_count == 1
    assert vault.verify(item) == hashlib.sha256(b"").hexdigest()


@pytest.mark.django_db
def test_master_key_rotation_keeps_every_item_readable(evidence_dir, make_case, settings):
    data = os.urandom(3000)
    item = actions.add_item(SYSTEM, make_case(), io.BytesIO(data))
    old = settings.AMPARO_MASTER_KEY
    settings.AMPARO_MASTER_KEY = os.urandom(32)
    settings.AMPARO_OLD_MASTER_KEYS = [old]
    crypto.clear_cache()
    assert (
        b"".join(vault.read_chunks(EvidenceItem.objects.get(pk=item.pk))) == data
    )  # readable while rotating
    assert vault.rewrap_all() == 1
    assert vault.rewrap_all() == 0  # re-running does nothing more
    settings.AMPARO_OLD_MASTER_KEYS = []
    crypto.clear_cache()
    item = EvidenceItem.objects.get(pk=item.pk)
    assert item.master_key_id == crypto.current_master_id()
    assert b"".join(vault.read_chunks(item)) == data
    assert AuditEntry.objects.filter(action=EvidenceAudit.KEYS_REWRAP).count() == 1


@pytest.mark.django_db
def test_an_item_under_a_forgotten_master_key_raises_an_alarm_not_garbage(evidence_dir, make_case, settings):
    item = actions.add_item(SYSTEM, make_case(), io.BytesIO(b"benign"))
    # The item's key is wrapped by a master key that is no longer configured. (Only the item's: with the whole
    # installation's master key gone, the audit key could not be read either, and the alarm not recorded.)
    forgotten = os.urandom(32)
    type(item).objects.filter(pk=item.pk).update(
        wrapped_key=envelope.wrap_key(forgotten, os.urandom(32)), master_key_id=envelope.key_id(forgotten)
    )
    item.refresh_from_db()
    with pytest.raises(vault.IntegrityAlarm, match="AMPARO_OLD_MASTER_KEYS"):
        vault.verify(item)


def test_every_storage_back_end_conforms_to_the_protocol(tmp_path):
    for backend in (storage.LocalStorage(tmp_path), storage.MemoryStorage()):
        assert isinstance(backend, storage.EvidenceStorage)
        with backend.open_write("ab/cd/x1") as out:
            out.write(b"sealed")
        assert backend.exists("ab/cd/x1")
        assert backend.size("ab/cd/x1") == 6
        with backend.open_read("ab/cd/x1") as f:
            assert f.read() == b"sealed"
        with pytest.raises(storage.StorageError):
            backend.open_write("../escape").__enter__()
        backend.delete("ab/cd/x1")
        assert not backend.exists("ab/cd/x1")


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), chunk=st.integers(min_value=1, max_value=64))
def test_sealing_round_trips_any_bytes_at_any_chunk_size(data, chunk, tmp_path):
    import uuid

    from django.test import override_settings

    key = os.urandom(32)
    with override_settings(AMPARO_MASTER_KEY=key, AMPARO_OLD_MASTER_KEYS=[]):
        mem = storage.MemoryStorage()
        item_id = uuid.uuid4()
        sealed = vault.seal(
            item_id, [data[i : i + 7] for i in range(0, len(data), 7)], storage=mem, chunk_size=chunk
        )
        item = EvidenceItem(
            id=item_id,
            size=sealed.size,
            sha256=sealed.sha256,
            storage_key=sealed.storage_key,
            wrapped_key=sealed.wrapped_key,
            master_key_id=sealed.master_key_id,
            chunk_size=sealed.chunk_size,
            chunk_count=sealed.chunk_count,
        )
        assert b"".join(vault._decrypt_chunks(item, mem)) == data
        assert sealed.chunk_count == max(1, -(-len(data) // chunk)) + (
            1 if data and len(data) % chunk == 0 else 0
        )


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def _static_root(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.mark.django_db
@pytest.mark.usefixtures("_static_root")
def test_a_web_upload_is_sealed_as_it_arrives_and_never_written_in_clear(
    client, evidence_dir, make_case, make_user, settings, tmp_path
):
    from amparo.core.tests.test_web import sign_in

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10  # Django would spill anything larger to a temporary file
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "upload-tmp")
    (tmp_path / "upload-tmp").mkdir()
    case = make_case(agency="sernic")
    sign_in(client, make_user("investigator", agency="sernic"))
    data = os.urandom(3 * vault.CHUNK_SIZE // 2)
    upload = SimpleUploadedFile("seized.bin", data, content_type="application/octet-stream")
    response = client.post(f"/evidence/cases/{case.reference}/", {"file": upload, "received_from": "Desk"})
    assert response.status_code == 302
    assert not list((tmp_path / "upload-tmp").iterdir())
    item = EvidenceItem.objects.get(case=case)
    assert item.chunk_count == 2
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    assert data[:4096] not in stored_path(evidence_dir, item).read_bytes()
    assert b"".join(vault.read_chunks(item)) == data


@pytest.mark.django_db
@pytest.mark.usefixtures("_static_root")
def test_a_web_upload_over_the_limit_is_refused_and_nothing_stays(
    client, evidence_dir, make_case, make_user, monkeypatch
):
    from amparo.core.tests.test_web import sign_in

    monkeypatch.setenv("AMPARO_EVIDENCE_MAX_BYTES", "1000")
    case = make_case(agency="sernic")
    sign_in(client, make_user("investigator", agency="sernic"))
    upload = SimpleUploadedFile("big.bin", b"x" * 5000)
    response = client.post(
        f"/evidence/cases/{case.reference}/",
        {"file": upload, "received_from": "Desk"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "larger than the vault accepts" in response.content.decode()
    assert not EvidenceItem.objects.exists()
    assert stored_files(evidence_dir) == []


@pytest.mark.django_db
@pytest.mark.usefixtures("_static_root")
def test_an_upload_without_a_csrf_token_leaves_nothing_behind(evidence_dir, make_case, make_user):
    from django.test import Client

    from amparo.core.tests.test_web import sign_in

    client = Client(enforce_csrf_checks=True)
    case = make_case(agency="sernic")
    sign_in(client, make_user("investigator", agency="sernic"))
    upload = SimpleUploadedFile("a.bin", b"benign" * 100)
    response = client.post(f"/evidence/cases/{case.reference}/", {"file": upload, "received_from": "Desk"})
    assert response.status_code == 403
    assert not EvidenceItem.objects.exists()
    assert stored_files(evidence_dir) == []


@pytest.mark.django_db
@pytest.mark.usefixtures("_static_root")
def test_a_user_who_may_not_add_is_refused_before_the_upload_is_read(
    client, evidence_dir, make_case, make_user
):
    from amparo.core.tests.test_web import sign_in

    case = make_case(agency="sernic")
    sign_in(client, make_user("court_officer", agency="sernic"))
    upload = SimpleUploadedFile("a.bin", b"benign" * 100)
    response = client.post(f"/evidence/cases/{case.reference}/", {"file": upload, "received_from": "Desk"})
    assert response.status_code == 403
    assert stored_files(evidence_dir) == []
