"""Hostile files (docs/security.md, "Hostile files"): a decompression bomb is refused from its header
before any pixel is decoded, perceptual hashing runs in a child process under a memory limit, and a
file that cannot be hashed keeps its exact hashes and says why on its custody chain."""

from __future__ import annotations

import hashlib
import io

import pytest

from amparo.conftest import SYSTEM
from amparo.evidence import actions, hashing, pdq
from amparo.evidence.models import CustodyEvent, CustodyKind, EvidenceItem, HashingState
from amparo.evidence.tests import test_vault
from amparo.evidence.tests.hostile import allocate, die, png_bomb
from amparo.evidence.tests.test_vault import textured_png

evidence_dir = test_vault.evidence_dir  # the shared fixtures
_static_root = test_vault._static_root

BOMB = png_bomb()


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "fast"])
def test_a_decompression_bomb_is_refused_from_its_header(exact):
    assert len(BOMB) < 25_000
    with pytest.raises(pdq.TooLargeToDecode, match="more than the budget"):
        pdq.pdq_all(io.BytesIO(BOMB), exact=exact)


def test_a_bomb_hashed_as_a_file_keeps_its_exact_hashes_and_says_why_it_has_no_pdq():
    result = hashing.hash_bytes(BOMB)
    assert result.sha256 == hashlib.sha256(BOMB).hexdigest()
    assert result.media_type == "image/png"
    assert (result.pdq, result.not_hashed) == (None, "too large to decode safely")


def test_a_child_over_its_memory_limit_fails_alone_and_the_pool_carries_on():
    with hashing.BoundedHasher(workers=1, memory_mb=400, timeout=60) as hasher:
        with pytest.raises(MemoryError):
            hasher.run(allocate, 800)
        assert hasher.run(allocate, 10) == 10 * 1024 * 1024


def test_a_child_thatdies_is_reported_and_replaced():
    with hashing.BoundedHasher(workers=1, timeout=60) as hasher:
        with pytest.raises(hashing.HashingFailed, match="failed on it"):
            hasher.run(die)
        assert hasher.run(allocate, 1) == 1024 * 1024


@pytest.mark.django_db
def test_a_bomb_in_the_vault_is_marked_not_hashed_on_its_custody_chain(evidence_dir, make_case):
    item = actions.add_item(SYSTEM, make_case(), io.BytesIO(BOMB), original_name="bomb.png")
    item = EvidenceItem.objects.get(pk=item.pk)
    assert item.hashing == HashingState.DONE
    assert item.sha256 == hashlib.sha256(BOMB).hexdigest()
    assert item.md5 == hashlib.md5(BOMB, usedforsecurity=False).hexdigest()
    assert (item.pdq, item.pdq_quality) == ("", None)
    hashed = CustodyEvent.objects.get(item=item, kind=CustodyKind.HASHED)
    assert hashed.detail["perceptual"] == "not hashed: too large to decode safely"


@pytest.mark.django_db
def test_the_vault_hashes_images_on_the_fast_path_in_a_child(evidence_dir, make_case):
    image = textured_png(7, size=1600)
    item = actions.add_item(SYSTEM, make_case(), io.BytesIO(image))
    item = EvidenceItem.objects.get(pk=item.pk)
    fast = pdq.pdq_hash(io.BytesIO(image), exact=False)
    assert (item.pdq, item.pdq_quality) == (fast.hash_hex, fast.quality)
    assert len(item.pdq_dihedral) == 8
    hashed = CustodyEvent.objects.get(item=item, kind=CustodyKind.HASHED)
    assert "perceptual" not in hashed.detail


@pytest.mark.django_db
@pytest.mark.usefixtures("_static_root")
def test_a_bomb_uploaded_by_staff_is_stored_and_marked_not_hashed(client, evidence_dir, make_case, make_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from amparo.core.tests.test_web import sign_in

    case = make_case(agency="sernic")
    sign_in(client, make_user("investigator", agency="sernic"))
    upload = SimpleUploadedFile("foto.png", BOMB, content_type="image/png")
    response = client.post(f"/evidence/cases/{case.reference}/", {"file": upload, "received_from": "Desk"})
    assert response.status_code == 302
    item = EvidenceItem.objects.get(case=case)
    hashed = CustodyEvent.objects.get(item=item, kind=CustodyKind.HASHED)
    assert hashed.detail["perceptual"] == "not hashed: too large to decode safely"


@pytest.mark.django_db
def test_a_bomb_has_no_preview_and_the_web_process_is_untouched(evidence_dir, make_case, make_user):
    from django.core.exceptions import ValidationError

    case = make_case(agency="sernic")
    item = actions.add_item(SYSTEM, case, io.BytesIO(BOMB))
    from django.utils import translation

    with translation.override("en"), pytest.raises(ValidationError, match="cannot be decoded for a preview"):
        actions.preview(make_user("investigator", agency="sernic"), item, "Classify for the prosecutor")
    assert not CustodyEvent.objects.filter(item=item, kind=CustodyKind.PREVIEWED).exists()
