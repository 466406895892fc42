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
