"""The wire format between a district node and the national server.

Each request is JSON compressed with zlib and signed by the node's Ed25519 key. The signature covers the
method, the path, a timestamp, a random nonce and the SHA-256 of the (compressed) body, so a request cannot
be altered, replayed (nonces are remembered for the time window) or moved to another endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import zlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

CONTENT_TYPE = "application/x-amparo-sync"
WINDOW_SECONDS = 300
MAX_BODY = 64 * 1024 * 1024  # after decompression
HEADER_NODE = "X-Amparo-Node"
HEADER_TIME = "X-Amparo-Time"
HEADER_NONCE = "X-Amparo-Nonce"
HEADER_SIGNATURE = "X-Amparo-Signature"
CREDENTIAL_VERSION = 1


class ProtocolError(ValueError):
    """A request or credential that cannot be accepted; the message says why (no secrets in it)."""


def new_key_pair() -> tuple[str, str]:
    """(private, public) raw Ed25519 keys, base64."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw_private).decode(), base64.b64encode(raw_public).decode()


def encode_body(payload: Any) -> bytes:
    return zlib.compress(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), 6)


def decode_body(body: bytes) -> Any:
    if not body:
        return {}
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(body, MAX_BODY)
        if inflater.unconsumed_tail:
            raise ProtocolError("the request body is too large")
        return json.loads(data.decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError("the request body is not compressed JSON") from exc


def _message(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n{digest}".encode()


@dataclass(frozen=True)
class Signed:
    node_id: str
    timestamp: str
    nonce: str
    signature: str

    def headers(self) -> dict[str, str]:
        return {
            HEADER_NODE: self.node_id,
            HEADER_TIME: self.timestamp,
            HEADER_NONCE: self.nonce,
            HEADER_SIGNATURE: self.signature,
        }


def sign(
    node_id: str, private_key_b64: str, method: str, path: str, body: bytes, now: float | None = None
) -> Signed:
    timestamp = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key_b64))
    signature = key.sign(_message(method, path, timestamp, nonce, body))
    return Signed(node_id, timestamp, nonce, base64.b64encode(signature).decode())


def verify(
    public_key_b64: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: str,
    nonce: str,
    signature: str,
    now: float | None = None,
) -> None:
    """Raise ProtocolError unless the signature is valid and the timestamp within the window."""
    try:
        when = int(timestamp)
    except (TypeError, ValueError) as exc:
        raise ProtocolError("the request has no valid timestamp") from exc
    current = now if now is not None else time.time()
    if abs(current - when) > WINDOW_SECONDS:
        raise ProtocolError(
            "the request's clock differs from the server's by more than five minutes; set the node's clock"
        )
    if not nonce or len(nonce) > 64:
        raise ProtocolError("the request has no valid nonce")
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(base64.b64decode(signature), _message(method, path, timestamp, nonce, body))
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise ProtocolError("the request's signature is not valid") from exc


def credential(node_id: str, name: str, district: str, private_key_b64: str, origin: str) -> dict[str, Any]:
    return {
        "version": CREDENTIAL_VERSION,
        "kind": "amparo-district-node",
        "node_id": node_id,
        "name": name,
        "district": district,
        "origin": origin,
        "private_key": private_key_b64,
    }


def read_credential(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(
            "the credential file is not JSON; use the file `amparo node register` wrote"
        ) from exc
    required = {"version", "kind", "node_id", "name", "district", "private_key"}
    if not isinstance(data, dict) or data.get("kind") != "amparo-district-node" or not required <= set(data):
        raise ProtocolError(
            "the file is not an Amparo node credential; use the file `amparo node register` wrote"
        )
    if data["version"] != CREDENTIAL_VERSION:
        raise ProtocolError(f"credential version {data['version']} is not supported by this Amparo")
    try:
        if len(base64.b64decode(data["private_key"])) != 32:
            raise ValueError
    except (ValueError, TypeError) as exc:
        raise ProtocolError("the credential's key is damaged; register the node again") from exc
    return data
