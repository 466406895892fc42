"""Matching evidence against hash lists in the database: exact hashes, PDQ within each list's threshold,
low-quality images flagged (not matched), known material flagged, the same file in two cases proposed
for linking, and only new entries matched after an import."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from amparo.conftest import SYSTEM
from amparo.core.models import AuditEntry
from amparo.evidence import actions, matching, pdq
from amparo.evidence.models import CustodyEvent, CustodyKind, EvidenceItem, HashEntry, LinkProposal, Match
from amparo.evidence.permissions import EvidenceAudit
from amparo.evidence.tests import test_vault
from amparo.evidence.tests.test_vault import textured_png

evidence_dir = test_vault.evidence_dir  # the shared fixture


def flip_bits(hex_hash: str, n: int, seed: int = 0) -> str:
    """The hash with exactly `n` distinct bits flipped."""
    value = int(hex_hash, 16)
    rng = np.random.default_rng(seed)
    for bit in rng.choice(256, size=n, replace=False):
        value ^= 1 << int(bit)
    return f"{value:064x}"


def make_list(name: str = "national", rows=(), threshold: int | None = None, match: bool = True):
    hash_list = actions.get_or_create_hash_list(SYSTEM, name, "national", pdq_threshold=threshold)
    result = actions.import_rows(
        SYSTEM, hash_list, [actions.clean_row(actions.ListRow(*r)) for r in rows], match=match
    )
    return hash_list, result


def add(case, data: bytes) -> EvidenceItem:
    item = actions.add_item(SYSTEM, case, io.BytesIO(data))
    return EvidenceItem.objects.get(pk=item.pk)


@pytest.fixture(params=["numpy", "faiss", "mih"])
def index_backend(request, monkeypatch):
    monkeypatch.setenv("AMPARO_PDQ_INDEX", request.param)
    matching.invalidate()
    return request.param


@pytest.mark.django_db
def test_an_item_whose_sha256_is_listed_matches_exactly_and_its_case_is_flagged(evidence_dir, make_case):
    data = b"synthetic known file"
    import hashlib

    make_list(rows=[("sha256", hashlib.sha256(data).hexdigest(), "A1")])
    item = add(make_case(), data)
    match = Match.objects.get(item=item)
    assert (match.hash_list.name, match.hash_type, match.distance, match.category) == (
        "national",
        "sha256",
        0,
        "A1",
    )
    assert item.known_material
    assert EvidenceItem.objects.filter(case=item.case, known_material=True).exists()
    event = CustodyEvent.objects.get(item=item, kind=CustodyKind.MATCHED)
    assert event.detail["hash_list"] == "national"
    assert event.detail["categories"] == ["A1"]


@pytest.mark.django_db
def test_md5_and_sha1_entries_match_too(evidence_dir, make_case):
    import hashlib

    data = b"another synthetic file"
    make_list(
        rows=[
            ("md5", hashlib.md5(data, usedforsecurity=False).hexdigest(), "B"),
            ("sha1", hashlib.sha1(data, usedforsecurity=False).hexdigest(), ""),
        ]
    )
    item = add(make_case(), data)
    assert sorted(Match.objects.filter(item=item).values_list("hash_type", flat=True)) == ["md5", "sha1"]


@pytest.mark.django_db
@pytest.mark.parametrize(("flipped", "matches"), [(0, True), (31, True), (32, False)])
def test_pdq_matches_at_distance_31_and_not_at_32(evidence_dir, make_case, index_backend, flipped, matches):
    image = textured_png(11)
    result = pdq.pdq_hash(io.BytesIO(image))
    assert result.quality >= 50
    # A planted entry at exactly `flipped` bits from the image's own PDQ, and from no dihedral variant nearer.
    planted = flip_bits(result.hash_hex, flipped, seed=flipped)
    make_list(rows=[("pdq", planted, "A2")])
    item = add(make_case(), image)
    found = list(Match.objects.filter(item=item).values_list("hash_type", "distance"))
    assert found == ([("pdq", flipped)] if matches else [])
    assert item.known_material is matches


@pytest.mark.django_db
def test_a_list_threshold_lower_than_31_is_respected(evidence_dir, make_case):
    image = textured_png(12)
    result = pdq.pdq_hash(io.BytesIO(image))
    make_list(rows=[("pdq", flip_bits(result.hash_hex, 20), "A")], threshold=10)
    item = add(make_case(), image)
    assert not Match.objects.filter(item=item).exists()


@pytest.mark.django_db
def test_a_rotated_copy_matches_through_the_dihedral_hashes(evidence_dir, make_case):
    original = textured_png(13)
    make_list(rows=[("pdq", pdq.pdq_hash(io.BytesIO(original)).hash_hex, "A")])
    rotated = io.BytesIO()
    Image.open(io.BytesIO(original)).transpose(Image.Transpose.ROTATE_90).save(rotated, format="PNG")
    item = add(make_case(), rotated.getvalue())
    assert Match.objects.filter(item=item, hash_type="pdq", distance__lte=31).exists()


@pytest.mark.django_db
def test_a_low_quality_pdq_is_flagged_and_never_matched(evidence_dir, make_case):
    flat = io.BytesIO()
    Image.new("RGB", (128, 128), (120, 120, 120)).save(flat, format="PNG")
    result = pdq.pdq_hash(io.BytesIO(flat.getvalue()))
    assert result.quality < 50
    make_list(rows=[("pdq", result.hash_hex, "A")])
    item = add(make_case(), flat.getvalue())
    assert item.pdq_low_quality
    assert item.pdq == result.hash_hex
    assert not Match.objects.filter(item=item).exists()
    assert not item.known_material


@pytest.mark.django_db
def test_the_same_file_in_two_cases_proposes_linking_them_once(evidence_dir, make_case):
    first, second = make_case(), make_case(agency="sernic")
    add(first, b"the same synthetic bytes")
    add(second, b"the same synthetic bytes")
    add(second, b"the same synthetic bytes")
    proposal = LinkProposal.objects.get()
    assert {proposal.case_a, proposal.case_b} == {first, second}
    assert AuditEntry.objects.filter(action=EvidenceAudit.LINK_PROPOSE).count() == 1


@pytest.mark.django_db
def test_after_an_import_only_new_entries_are_matched_against_the_vault(
    evidence_dir, make_case, index_backend
):
    import hashlib

    image = textured_png(14)
    item = add(make_case(), image)
    other = add(make_case(), b"unrelated synthetic bytes")
    assert not Match.objects.exists()
    hash_list, result = make_list(
        rows=[
            ("pdq", flip_bits(pdq.pdq_hash(io.BytesIO(image)).hash_hex, 5), "A"),
            ("sha256", hashlib.sha256(b"unrelated synthetic bytes").hexdigest(), "B"),
        ]
    )
    assert result.added == 2
    assert result.matches == 2
    assert Match.objects.get(item=item).distance == 5
    assert Match.objects.get(item=other).category == "B"
    # Importing the same list again adds nothing and matches nothing new.
    again = actions.import_rows(
        SYSTEM,
        hash_list,
        [
            actions.clean_row(
                actions.ListRow("sha256", hashlib.sha256(b"unrelated synthetic bytes").hexdigest(), "B")
            )
        ],
    )
    assert (again.added, again.matches) == (0, 0)
    assert Match.objects.count() == 2


@pytest.mark.django_db
def test_a_tombstoned_entry_no_longer_matches_new_items(evidence_dir, make_case):
    import hashlib

    data = b"withdrawn synthetic file"
    digest = hashlib.sha256(data).hexdigest()
    hash_list, _ = make_list(rows=[("sha256", digest, "A")])
    result = actions.import_rows(SYSTEM, hash_list, [actions.ListRow("sha256", digest, deleted=True)])
    assert result.tombstoned == 1
    assert HashEntry.objects.get().deleted_at is not None
    item = add(make_case(), data)
    assert not Match.objects.filter(item=item).exists()


@pytest.mark.django_db
def test_the_index_is_rebuilt_when_a_list_changes(evidence_dir):
    make_list(name="one", rows=[("pdq", "f" * 64, "A")])
    first = matching.current_index()
    assert len(first) == 1
    make_list(name="two", rows=[("pdq", "0" * 64, "A")], match=False)
    swapped = matching.current_index()
    assert len(swapped) == 2
    assert swapped.version > 0


@pytest.mark.django_db
def test_a_threshold_above_the_hard_cap_is_refused():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        actions.get_or_create_hash_list(SYSTEM, "wide", "other", pdq_threshold=53)
