"""The national server's synchronisation endpoints, in process: authentication, replay, revocation, scope
and malformed input (which gets a clear 4xx, never a server error)."""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amparo.cases import actions as case_actions
from amparo.core import audit
from amparo.core.models import Agency, District
from amparo.sync import actions, protocol
from amparo.sync.models import Conflict, Node

SYSTEM = audit.Actor.system("tests")


@pytest.fixture
def district(db) -> District:  # noqa: ANN001
    return District.objects.filter(province_id="MZ07").order_by("pk").first()


@pytest.fixture
def node_and_key(district: District) -> tuple[Node, str]:
    node, credential = actions.register_node(SYSTEM, name="alpha", district=district)
    return node, credential["private_key"]


def post(client: Client, path: str, node: Node, key: str, payload: object, **overrides: str) -> object:
    body = protocol.encode_body(payload)
    signed = protocol.sign(str(node.pk), key, "POST", path, body)
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.headers().items()}
    headers.update(overrides)
    return client.post(path, body, content_type=protocol.CONTENT_TYPE, **headers)


def test_signed_hello_is_answered(client: Client, node_and_key: tuple[Node, str]) -> None:
    node, key = node_and_key
    response = post(client, "/sync/v1/hello", node, key, {})
    assert response.status_code == 200
    assert protocol.decode_body(response.content)["node"] == "alpha"


def test_a_replayed_request_is_refused(client: Client, node_and_key: tuple[Node, str]) -> None:
    node, key = node_and_key
    body = protocol.encode_body({})
    signed = protocol.sign(str(node.pk), key, "POST", "/sync/v1/hello", body)
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.headers().items()}
    first = client.post("/sync/v1/hello", body, content_type=protocol.CONTENT_TYPE, **headers)
    second = client.post("/sync/v1/hello", body, content_type=protocol.CONTENT_TYPE, **headers)
    assert first.status_code == 200
    assert second.status_code == 401
    assert "replayed" in second.json()["message"]


def test_a_request_signed_for_another_endpoint_is_refused(
    client: Client, node_and_key: tuple[Node, str]
) -> None:
    node, key = node_and_key
    body = protocol.encode_body({"cursor": 0})
    signed = protocol.sign(str(node.pk), key, "POST", "/sync/v1/hello", body)
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.headers().items()}
    response = client.post("/sync/v1/pull", body, content_type=protocol.CONTENT_TYPE, **headers)
    assert response.status_code == 401


def test_another_nodes_key_cannot_sign_for_a_node(
    client: Client, node_and_key: tuple[Node, str], district: District
) -> None:
    node, _key = node_and_key
    _other, other_credential = actions.register_node(SYSTEM, name="beta", district=district)
    response = post(client, "/sync/v1/hello", node, other_credential["private_key"], {})
    assert response.status_code == 401


def test_an_old_request_is_refused(client: Client, node_and_key: tuple[Node, str]) -> None:
    node, key = node_and_key
    body = protocol.encode_body({})
    signed = protocol.sign(str(node.pk), key, "POST", "/sync/v1/hello", body, now=time.time() - 3600)
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.headers().items()}
    response = client.post("/sync/v1/hello", body, content_type=protocol.CONTENT_TYPE, **headers)
    assert response.status_code == 401
    assert "clock" in response.json()["message"]


def test_a_revoked_node_is_told_to_wipe_and_may_only_report_it(
    client: Client, node_and_key: tuple[Node, str]
) -> None:
    node, key = node_and_key
    actions.revoke_node(SYSTEM, node)
    refused = post(client, "/sync/v1/pull", node, key, {"cursor": 0})
    assert refused.status_code == 403
    assert refused.json()["error"] == "revoked"
    reported = post(client, "/sync/v1/wiped", node, key, {})
    assert reported.status_code == 200
    node.refresh_from_db()
    assert node.wiped_at is not None
    assert [e.action for e in audit_entries(node)] == [
        "sync:node:register",
        "sync:node:revoke",
        "sync:node:wiped",
    ]


def audit_entries(node: Node) -> list:
    from amparo.core.models import AuditEntry

    return list(AuditEntry.objects.filter(object_type="sync.node", object_id=str(node.pk)).order_by("id"))


def test_a_node_cannot_create_cases_outside_its_district(
    client: Client, node_and_key: tuple[Node, str]
) -> None:
    node, key = node_and_key
    elsewhere = District.objects.filter(province_id="MZ01").first()
    change = {
        "model": "cases.case",
        "id": str(uuid.uuid4()),
        "fields": {
            "channel": "desk",
            "owning_agency": "prm",
            "district": elsewhere.pk,
            "received_at": "2026-11-01T10:00:00+00:00",
        },
        "bases": {},
    }
    response = post(client, "/sync/v1/push", node, key, {"audit": [], "changes": [change]})
    assert response.status_code == 400
    assert "district" in response.json()["message"]


def test_pull_sends_only_the_cases_of_the_nodes_district(
    client: Client, node_and_key: tuple[Node, str], district: District
) -> None:
    node, key = node_and_key
    prm = Agency.objects.get(code="prm")
    here = case_actions.create_case(
        SYSTEM, channel="desk", owning_agency=prm, district=district, narrative="aqui"
    )
    case_actions.create_case(
        SYSTEM,
        channel="desk",
        owning_agency=prm,
        district=District.objects.filter(province_id="MZ01").first(),
    )
    answer = protocol.decode_body(post(client, "/sync/v1/pull", node, key, {"cursor": 0}).content)
    cases = [o for o in answer["objects"] if o["model"] == "cases.case"]
    assert [c["id"] for c in cases] == [str(here.pk)]
    assert cases[0]["fields"]["narrative"] == "aqui"


def test_a_pushed_edit_of_a_field_the_server_also_changed_opens_one_conflict(
    client: Client, node_and_key: tuple[Node, str], district: District
) -> None:
    from amparo.sync import registry

    node, key = node_and_key
    prm = Agency.objects.get(code="prm")
    case = case_actions.create_case(
        SYSTEM, channel="desk", owning_agency=prm, district=district, narrative="nacional"
    )
    stale_base = registry.value_hash("original")
    change = {
        "model": "cases.case",
        "id": str(case.pk),
        "fields": {"narrative": "distrito"},
        "bases": {"narrative": stale_base},
    }
    for _attempt in range(2):  # the same batch twice (a lost answer) opens one conflict, not two
        answer = protocol.decode_body(
            post(client, "/sync/v1/push", node, key, {"audit": [], "changes": [change]}).content
        )
        assert answer["results"][str(case.pk)]["narrative"] == ["conflict", "nacional"]
    conflict = Conflict.objects.get()
    assert json.loads(conflict.node_value) == "distrito"
    case.refresh_from_db()
    assert case.narrative == "nacional"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=2000),
    payload=st.recursive(
        st.none() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=12,
    ),
)
def test_malformed_batches_get_a_clear_error_never_a_server_error(
    client: Client, node_and_key: tuple[Node, str], body: bytes, payload: object
) -> None:
    node, key = node_and_key
    for path in ("/sync/v1/push", "/sync/v1/pull"):
        raw = post(client, path, node, key, payload)
        assert raw.status_code in (200, 400), raw.content
        signed = protocol.sign(str(node.pk), key, "POST", path, body)
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.headers().items()}
        garbage = client.post(path, body, content_type=protocol.CONTENT_TYPE, **headers)
        assert garbage.status_code in (200, 400)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_a_damaged_credential_file_gets_a_clear_error(text: str) -> None:
    with pytest.raises(protocol.ProtocolError, match="credential|register"):
        protocol.read_credential(text)


def test_a_signature_does_not_verify_after_the_body_changes() -> None:
    private, public = protocol.new_key_pair()
    signed = protocol.sign("n", private, "POST", "/sync/v1/push", b"body")
    protocol.verify(
        public, "POST", "/sync/v1/push", b"body", signed.timestamp, signed.nonce, signed.signature
    )
    with pytest.raises(protocol.ProtocolError):
        protocol.verify(
            public, "POST", "/sync/v1/push", b"bodY", signed.timestamp, signed.nonce, signed.signature
        )
    assert len(base64.b64decode(public)) == 32
