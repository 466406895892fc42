"""AES-256-GCM envelope encryption primitives (no Django).

A data key encrypts values; the master key only wraps data keys. Rotating the master key
re-wraps a handful of data keys; rotating a data key re-encrypts the values under it.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionError(Exception):
    """The ciphertext was altered, or was made under another key or for another field."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def key_id(key: bytes) -> str:
    """A short, non-secret fingerprint naming a key (first 16 hex digits of SHA-256 over a label and the key)."""
    return hashlib.sha256(b"amparo key id\x00" + key).hexdigest()[:16]


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < NONCE_BYTES + 16:
        raise DecryptionError("ciphertext too short")
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError("authentication failed") from None


def wrap_key(master: bytes, data_key: bytes) -> bytes:
    return seal(master, data_key, b"amparo data key")


def unwrap_key(master: bytes, wrapped: bytes) -> bytes:
    return open_sealed(master, wrapped, b"amparo data key")


def blind_index(index_key: bytes, normalised: str) -> str:
    """Keyed HMAC-SHA256 of an already normalised value, as hex: equal inputs, equal outputs, no way back."""
    return hmac.new(index_key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def derive_key(secret: str | bytes, purpose: str) -> bytes:
    """A 256-bit key for one `purpose` derived from a long secret (HKDF-SHA256, RFC 5869): one secret,
    independent keys per use, none of which reveals the secret or another."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    material = secret.encode("utf-8") if isinstance(secret, str) else secret
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=b"amparo hkdf", info=purpose.encode("utf-8")
    ).derive(material)


_TOKEN_PREFIX = "e1."  # noqa: S105  (a format marker, not a secret)


def seal_token(key: bytes, payload: object, purpose: str, now: int) -> str:
    """`payload` (JSON-serialisable) encrypted and authenticated under `key`, stamped with `now`
    (seconds), as URL-safe text: whoever holds the token learns nothing of what it carries."""
    import base64
    import json

    plaintext = json.dumps({"t": now, "p": payload}, separators=(",", ":"), ensure_ascii=False)
    sealed = seal(key, plaintext.encode("utf-8"), purpose.encode("utf-8"))
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")


def open_token(keys: list[bytes], token: str, purpose: str, now: int, max_age: int) -> object | None:
    """The payload of a token made by `seal_token` under one of `keys` for `purpose`, or None when it is
    malformed, altered, made under another key or for another purpose, older than `max_age` seconds, or
    stamped in the future."""
    import base64
    import binascii
    import json

    if not token.startswith(_TOKEN_PREFIX) or len(token) > 100_000:
        return None
    body = token[len(_TOKEN_PREFIX) :]
    try:
        sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None
    for key in keys:
        try:
            plaintext = open_sealed(key, sealed, purpose.encode("utf-8"))
        except DecryptionError:
            continue
        try:
            value = json.loads(plaintext)
        except ValueError:
            return None
        if not isinstance(value, dict) or not isinstance(value.get("t"), int):
            return None
        if not 0 <= now - value["t"] <= max_age:
            return None
        return value.get("p")
    return None
