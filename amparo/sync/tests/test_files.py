"""Evidence files from a node, in resumable pieces: repeated, early and lost pieces change nothing, a file
arrives whole under the node's id or not at all, and a revoked node's wipe takes its files too."""

from __future__ import annotations

import base64
import hashlib
import random
import uuid

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.core import audit
from amparo.core.models import District
from amparo.evidence import actions as evidence_actions
from amparo.evidence import vault
from amparo.evidence.models import CustodyEvent, EvidenceItem
from amparo.evidence.storage import get_storage
from amparo.sync import actions, files
from amparo.sync.models import FilePiece, FileUpload, Node, SentFile
from amparo.sync.protocol import ProtocolError
from amparo.sync.tests.test_server import post

SYSTEM = audit.Actor.system("tests")
DATA = random.Random(5).randbytes(3 * files.PIECE_BYTES + 1234)


@pytest.fixture
def district(db) -> District:  # noqa: ANN001
    return District.objects.filter(province_id="MZ07").order_by("pk").first()


@pytest.fixture
def node_and_key(district: District) -> tuple[Node, str]:
    node, credential = actions.register_node(SYSTEM, name="alpha", district=district)
    return node, credential["private_key"]


@pytest.fixture
def case(make_case, district: District):  # noqa: ANN001, ANN201
    return make_case(district=district.pk)


def _offer(node: Node, case, data: bytes = DATA, sha256: str | None = None, item: uuid.UUID | None = None):  # noqa: ANN001, ANN202
    return files.offer(
        node,
        {
            "item": str(item or ITEM),
            "case": str(case.pk),
            "agency": case.owning_agency.code,
            "size": len(data),
            "sha256": sha256 or hashlib.sha256(data).hexdigest(),
            "name": "captura.png",
            "type": "screenshot",
        },
    )


def _piece(node: Node, offset: int, data: bytes = DATA, item: uuid.UUID | None = None) -> dict:
    chunk = data[offset : offset + files.PIECE_BYTES]
    return files.receive_piece(
        node, {"item": str(item or ITEM), "offset": offset, "data": base64.b64encode(chunk).decode()}
    )


ITEM = uuid.uuid4()  # one per run: the test storage outlives each test's rolled-back records


def test_pieces_sent_twice_or_too_early_change_nothing_and_the_file_arrives_whole(node_and_key, case) -> None:  # noqa: ANN001
    node, _key = node_and_key
    assert _offer(node, case) == {"received": 0, "complete": False}
    assert _piece(node, 0)["received"] == files.PIECE_BYTES
    assert _piece(node, 0)["received"] == files.PIECE_BYTES  # the same piece again: its answer was lost
    assert _piece(node, 3 * files.PIECE_BYTES)["received"] == files.PIECE_BYTES  # too early: where to go on
    assert FilePiece.objects.count() == 1
    # The connection dropped; a new offer says where to carry on.
    assert _offer(node, case) == {"received": files.PIECE_BYTES, "complete": False}
    offset = files.PIECE_BYTES
    while True:
        answer = _piece(node, offset)
        if answer["complete"]:
            break
        offset = answer["received"]
    item = EvidenceItem.objects.get(pk=ITEM)
    assert item.case_id == case.pk
    assert item.sha256 == hashlib.sha256(DATA).hexdigest()
    assert b"".join(vault.read_chunks(item)) == DATA
    assert FilePiece.objects.count() == 0  # the staged pieces are gone
    received = CustodyEvent.objects.get(item=item, kind="received")
    assert received.actor_channel == "node:alpha"
    # Offering a file the server already holds is answered at once.
    assert _offer(node, case)["complete"] is True


def test_a_file_that_does_not_match_its_offered_hash_is_refused_and_starts_again(node_and_key, case) -> None:  # noqa: ANN001
    node, _key = node_and_key
    _offer(node, case, sha256="0" * 64)
    for offset in range(0, len(DATA) - files.PIECE_BYTES, files.PIECE_BYTES):
        _piece(node, offset)
    with pytest.raises(ProtocolError, match="SHA-256 does not match"):
        _piece(node, len(DATA) - len(DATA) % files.PIECE_BYTES)
    assert not EvidenceItem.objects.filter(pk=ITEM).exists()
    upload = FileUpload.objects.get(item_id=ITEM)
    assert upload.received == 0
    assert upload.pieces.count() == 0


def test_a_file_for_a_case_outside_the_node_district_is_refused(node_and_key, make_case) -> None:  # noqa: ANN001
    node, _key = node_and_key
    elsewhere = make_case(district=District.objects.filter(province_id="MZ01").order_by("pk").first().pk)
    with pytest.raises(ProtocolError, match="district"):
        _offer(node, elsewhere)
    assert not FileUpload.objects.exists()


def test_pieces_over_http_are_signed_and_bad_ones_get_a_clear_error(
    node_and_key, case, client: Client
) -> None:  # noqa: ANN001
    node, key = node_and_key
    small = b"synthetic bytes, not an image"
    offer = {
        "item": str(ITEM),
        "case": str(case.pk),
        "agency": case.owning_agency.code,
        "size": len(small),
        "sha256": hashlib.sha256(small).hexdigest(),
    }
    assert post(client, "/sync/v1/file/offer", node, key, offer).status_code == 200
    bad = post(client, "/sync/v1/file/piece", node, key, {"item": str(ITEM), "offset": 0, "data": "%%%"})
    assert bad.status_code == 400
    assert "base64" in bad.json()["message"]
    good = post(
        client,
        "/sync/v1/file/piece",
        node,
        key,
        {"item": str(ITEM), "offset": 0, "data": base64.b64encode(small).decode()},
    )
    assert good.status_code == 200
    assert EvidenceItem.objects.get(pk=ITEM).size == len(small)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payload=st.dictionaries(
        st.sampled_from(["item", "case", "agency", "size", "sha256", "offset", "data"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=40), st.lists(st.integers(), max_size=3)),
    ),
    endpoint=st.sampled_from(["/sync/v1/file/offer", "/sync/v1/file/piece"]),
)
def test_any_file_request_gets_an_answer_never_a_server_error(
    node_and_key, client: Client, payload, endpoint
) -> None:  # noqa: ANN001
    node, key = node_and_key
    response = post(client, endpoint, node, key, payload)
    assert response.status_code in (200, 400), response.content
    assert not EvidenceItem.objects.exists()


def test_wiping_a_node_erases_its_evidence_files_and_records(db, make_case, settings) -> None:  # noqa: ANN001
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("district nodes run on SQLite; on PostgreSQL the chain of custody is append-only")
    case = make_case()
    item = evidence_actions.add_item(SYSTEM, case, [b"synthetic file"], original_name="a.png")
    SentFile.objects.create(item_id=item.pk, sent_at=item.received_at)
    counts = files.wipe_evidence()
    assert counts["evidence.EvidenceItem"] == 1
    assert not EvidenceItem.objects.exists()
    assert not CustodyEvent.objects.exists()
    assert not SentFile.objects.exists()
    assert not get_storage().exists(item.storage_key)


def test_a_decompression_bomb_from_a_node_arrives_whole_and_is_marked_not_hashed(node_and_key, case) -> None:  # noqa: ANN001
    from amparo.evidence.tests.hostile import png_bomb

    node, _key = node_and_key
    bomb, item_id = png_bomb(), uuid.uuid4()
    _offer(node, case, data=bomb, item=item_id)
    assert _piece(node, 0, data=bomb, item=item_id)["complete"] is True
    item = EvidenceItem.objects.get(pk=item_id)
    assert item.md5 == hashlib.md5(bomb, usedforsecurity=False).hexdigest()
    hashed = CustodyEvent.objects.get(item=item, kind="hashed")
    assert hashed.detail["perceptual"] == "not hashed: too large to decode safely"
