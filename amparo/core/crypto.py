"""Field encryption and blind indexes, with data keys kept in the database wrapped by the master key.

Stored form of an encrypted value: ``enc1$<data key id>$<base64(nonce + ciphertext)>``, with the
model, field and the row's primary key as associated data (`encrypt_row`), so that a value copied into
another column or another row fails to decrypt. Values written before rows were bound (model and field
only) are still read while the key they are under is not retired: the next `rotate_keys --data-key`
re-encrypts them bound and retires that key, after which such a value is refused. Unwrapped data keys are cached per process, but only once the transaction that read or
created them has committed: a key row rolled back (and its id reused, as SQLite does) must never
linger in the cache. Which key is active for field encryption is cached for a few seconds (a stale
answer only means a value is written under the previous key, still readable, moved by the next
rotation); the index key is always read afresh, because an index under a retired key is lost.
"""

from __future__ import annotations

import base64
import threading
import time

from django.conf import settings
from django.db import IntegrityError, transaction

from amparo.core.models import DataKey
from amparo.lib import envelope

PREFIX = "enc1$"

_lock = threading.Lock()
_cache: dict[int, bytes] = {}
_active: dict[str, tuple[int, float]] = {}
ACTIVE_KEY_TTL = 30.0
# Purposes whose active key may be remembered for ACTIVE_KEY_TTL seconds (never the index key).
_CACHEABLE_ACTIVE = {DataKey.Purpose.FIELD, DataKey.Purpose.RECEIPT, DataKey.Purpose.AUDIT}


class IntegrityAlarm(Exception):
    """Encrypted data could not be authenticated: it was altered, or its key is missing."""


def master_keys() -> dict[str, bytes]:
    keys = [settings.AMPARO_MASTER_KEY, *settings.AMPARO_OLD_MASTER_KEYS]
    return {envelope.key_id(k): k for k in keys}


def current_master_id() -> str:
    return envelope.key_id(settings.AMPARO_MASTER_KEY)


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _active.clear()
        _legacy_readable.clear()


def _remember(key_pk: int, key: bytes) -> None:
    def store() -> None:
        with _lock:
            _cache[key_pk] = key

    transaction.on_commit(store)


def _remember_active(purpose: str, key_pk: int) -> None:
    if purpose not in _CACHEABLE_ACTIVE:
        return

    def store() -> None:
        with _lock:
            _active[purpose] = (key_pk, time.monotonic() + ACTIVE_KEY_TTL)

    transaction.on_commit(store)


def _unwrap(dk: DataKey) -> bytes:
    master = master_keys().get(dk.master_key_id)
    if master is None:
        raise IntegrityAlarm(
            f"data key {dk.pk} is wrapped by master key {dk.master_key_id}, which is not configured "
            "(set AMPARO_MASTER_KEY, or list the old one in AMPARO_OLD_MASTER_KEYS while rotating)"
        )
    try:
        return envelope.unwrap_key(master, bytes(dk.wrapped))
    except envelope.DecryptionError:
        raise IntegrityAlarm(f"data key {dk.pk} failed authentication") from None


def data_key(key_pk: int) -> bytes:
    with _lock:
        key = _cache.get(key_pk)
    if key is None:
        try:
            dk = DataKey.objects.get(pk=key_pk)
        except DataKey.DoesNotExist:
            raise IntegrityAlarm(f"data key {key_pk} does not exist") from None
        key = _unwrap(dk)
        _remember(key_pk, key)
    return key


def create_data_key(purpose: str) -> DataKey:
    """Make a new active key for `purpose`; the previous one stops being used for new values (same
    transaction) but stays readable. `amparo.core.keys` sets `retired_at` once nothing uses it any more."""
    raw = envelope.new_key()
    with _lock:
        _active.pop(purpose, None)
    with transaction.atomic():
        DataKey.objects.filter(purpose=purpose, active=True).update(active=False)
        dk = DataKey.objects.create(
            purpose=purpose,
            wrapped=envelope.wrap_key(settings.AMPARO_MASTER_KEY, raw),
            master_key_id=current_master_id(),
        )
        _remember(dk.pk, raw)
    return dk


def active_key(purpose: str) -> tuple[int, bytes]:
    with _lock:
        remembered = _active.get(purpose)
    if remembered is not None and remembered[1] > time.monotonic():
        return remembered[0], data_key(remembered[0])
    dk = DataKey.objects.filter(purpose=purpose, active=True).first()
    if dk is None:
        try:
            dk = create_data_key(purpose)
        except IntegrityError:  # another process created it first
            dk = DataKey.objects.get(purpose=purpose, active=True)
    _remember_active(purpose, dk.pk)
    return dk.pk, data_key(dk.pk)


def encrypt(plaintext: str, aad: str) -> str:
    return encrypt_bytes(plaintext.encode("utf-8"), aad)


def encrypt_bytes(data: bytes, aad: str) -> str:
    """Bytes in the stored text form of `encrypt` (for short secrets, such as TOTP keys, kept compact)."""
    key_pk, key = active_key(DataKey.Purpose.FIELD)
    sealed = envelope.seal(key, data, aad.encode("utf-8"))
    return f"{PREFIX}{key_pk}${base64.b64encode(sealed).decode('ascii')}"


def key_of(stored: str) -> int:
    try:
        return int(stored[len(PREFIX) :].split("$", 1)[0])
    except (ValueError, IndexError):
        raise IntegrityAlarm("malformed encrypted value") from None


def decrypt(stored: str, aad: str) -> str:
    return decrypt_bytes(stored, aad).decode("utf-8")


def _parse(stored: str) -> tuple[int, bytes]:
    if not stored.startswith(PREFIX):
        raise IntegrityAlarm("value is not encrypted")
    try:
        key_part, body = stored[len(PREFIX) :].split("$", 1)
        return int(key_part), base64.b64decode(body, validate=True)
    except ValueError:
        raise IntegrityAlarm("malformed encrypted value") from None


def decrypt_bytes(stored: str, aad: str) -> bytes:
    key_pk, sealed = _parse(stored)
    try:
        return envelope.open_sealed(data_key(key_pk), sealed, aad.encode("utf-8"))
    except envelope.DecryptionError:
        raise IntegrityAlarm(f"an encrypted value ({aad}) failed authentication") from None


def row_aad(aad: str, pk: object) -> str:
    return f"{aad}#{pk}"


def encrypt_row(plaintext: str, aad: str, pk: object) -> str:
    """Encrypt a field's value bound to its row (`aad` names the model and field, `pk` the row)."""
    if pk is None or pk == "":
        raise ValueError("an encrypted value is bound to its row: the row needs its primary key first")
    return encrypt(plaintext, row_aad(aad, pk))


_legacy_readable: dict[int, bool] = {}


def _legacy_allowed(key_pk: int) -> bool:
    """A value not bound to its row is read only under a key no rotation has retired yet."""
    with _lock:
        known = _legacy_readable.get(key_pk)
    if known is None:
        known = DataKey.objects.filter(pk=key_pk, retired_at__isnull=True).exists()
        if not known:  # a retired key stays retired: remember only that
            with _lock:
                _legacy_readable[key_pk] = known
    return known


def decrypt_row(stored: str, aad: str, pk: object) -> str:
    """The plaintext of a field's value read from row `pk` (see the module docstring for older values)."""
    key_pk, sealed = _parse(stored)
    key = data_key(key_pk)  # a missing or unreadable key raises its own, precise alarm
    for candidate in (row_aad(aad, pk), aad):
        try:
            return envelope.open_sealed(key, sealed, candidate.encode("utf-8")).decode("utf-8")
        except envelope.DecryptionError:
            if not _legacy_allowed(key_pk):
                break
    raise IntegrityAlarm(f"an encrypted value ({aad} of row {pk}) failed authentication for its row")


# PostgreSQL advisory lock between writers computing blind indexes (shared) and the creation of a new
# index key (exclusive): no transaction can store an index under a key that was replaced while it ran.
# On SQLite, write transactions are serialised (BEGIN IMMEDIATE), which gives the same guarantee.
INDEX_KEY_LOCK = 0x616D_7061  # "ampa"


def lock_index_key(*, exclusive: bool = False) -> None:
    conn = transaction.get_connection()
    if conn.vendor == "postgresql" and conn.in_atomic_block:
        sql = "SELECT pg_advisory_xact_lock(%s)" if exclusive else "SELECT pg_advisory_xact_lock_shared(%s)"
        with conn.cursor() as cursor:
            cursor.execute(sql, [INDEX_KEY_LOCK])


def blind_index(normalised: str) -> str:
    """HMAC of a normalised value under the active index key; empty input gives an empty index.

    Call it inside the transaction that stores the index, so that a key rotation cannot slip in between.
    """
    if not normalised:
        return ""
    lock_index_key()
    _, key = active_key(DataKey.Purpose.INDEX)
    return envelope.blind_index(key, normalised)


def blind_index_candidates(normalised: str) -> list[str]:
    """Every index a stored value may have while an index key rotation is under way (active key first):
    look-ups filter with `<field>__in` on these, so that they keep finding rows not yet recomputed."""
    if not normalised:
        return []
    active_key(DataKey.Purpose.INDEX)  # make sure one exists
    pks = DataKey.objects.filter(purpose=DataKey.Purpose.INDEX, retired_at__isnull=True).order_by(
        "-active", "-pk"
    )
    return [envelope.blind_index(data_key(pk), normalised) for pk in pks.values_list("pk", flat=True)]
