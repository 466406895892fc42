"""The tamper-evident audit log.

Each entry's hash is SHA-256 over the previous entry's hash and a canonical JSON form of the
entry, so that editing, deleting or inserting an entry breaks the chain at that point. The links alone
can be recomputed by anyone who can write the database, so each entry and each chain head also carries
an HMAC-SHA256 (`mac`) under the installation's audit key: a data key wrapped by the master key, which
the database does not hold. Signed checkpoints of every head are written outside the database (a file
in the data directory, and the log) so that truncating the chain back to an older, validly signed head
is found too (`write_checkpoints`, `verify`). See docs/security.md.
`record()` must be called inside the transaction of the write it describes; it locks the
chain head so that appends are serialised. Field *names* are recorded, never values. `batch()` lets an
action append all its entries at once at the end of its transaction (one head lock, held briefly).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from amparo.core import crypto
from amparo.core.middleware import current_request_id
from amparo.core.models import AuditEntry, AuditHead, DataKey

GENESIS = "0" * 64
logger = logging.getLogger("amparo.audit")


class CoreAudit(StrEnum):
    """Audit actions of the core app. Every app declares its own enum of `scope:resource:action` names."""

    LOGIN = "core:session:login"
    LOGIN_FAILED = "core:session:login_failed"
    LOGOUT = "core:session:logout"
    USER_CREATE = "core:user:create"
    USER_UPDATE = "core:user:update"
    ROLE_GRANT = "core:role:grant"
    ROLE_REVOKE = "core:role:revoke"
    AGENCY_CREATE = "core:agency:create"
    AGENCY_UPDATE = "core:agency:update"
    TOTP_ENROL = "core:totp:enrol"
    TOTP_RESET = "core:totp:reset"
    KEYS_ROTATE = "core:keys:rotate"
    AUDIT_READ = "core:audit:read"
    API_TOKEN_CREATE = "core:api_token:create"  # noqa: S105  (an audit name, not a secret)
    API_TOKEN_REVOKE = "core:api_token:revoke"  # noqa: S105
    ACCESS_DENIED = "core:access:denied"
    DUTY_REQUEST = "core:duty_request:create"
    DUTY_APPROVE = "core:duty_request:approve"
    DUTY_REJECT = "core:duty_request:reject"


@dataclass(frozen=True)
class Actor:
    """Who acted: a staff user, or a channel (SMS, USSD, web form) for public reporters, or the system."""

    user: Any = None
    channel: str = ""

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(channel=name)


def _as_actor(actor: Any) -> Actor:
    if isinstance(actor, Actor):
        return actor
    if actor is None:
        return Actor.system()
    return Actor(user=actor)


def fields_of(entry: AuditEntry) -> dict[str, Any]:
    """An entry as plain values: everything its hash covers (not `hash`, not the database id)."""
    return {
        "uuid": str(entry.uuid),
        "chain": entry.chain,
        "at": entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_user_id": str(entry.actor_user_id) if entry.actor_user_id else "",
        "actor_username": entry.actor_username,
        "actor_agency": entry.actor_agency,
        "actor_channel": entry.actor_channel,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "fields": list(entry.fields),
        "request_id": entry.request_id,
        "prev_hash": entry.prev_hash,
    }


def canonical(entry: AuditEntry) -> bytes:
    """The exact bytes that are hashed for an entry (everything but `hash` and the database id)."""
    payload = fields_of(entry)
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def compute_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


def _object_ref(obj: Any) -> tuple[str, str]:
    if obj is None:
        return "", ""
    if isinstance(obj, tuple):
        return str(obj[0]), str(obj[1])
    if isinstance(obj, models.Model):
        return obj._meta.label_lower, str(obj.pk)
    raise TypeError(f"cannot audit object of type {type(obj).__name__}")


def record(
    actor: Any,
    action: StrEnum,
    obj: Any = None,
    fields: Iterable[str] = (),
    *,
    chain: str | None = None,
) -> AuditEntry:
    """Append one entry. `obj` is a model instance or a (type, id) pair; `fields` are field names.

    Inside `batch()` the entry is appended when the batch ends (still in the same transaction), and the
    returned entry has no id until then."""
    if not isinstance(action, StrEnum):
        raise TypeError("audit actions are enum members, not free strings")
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("audit.record() must run inside the transaction of the change it records")
    who = _as_actor(actor)
    object_type, object_id = _object_ref(obj)
    user = who.user
    entry = AuditEntry(
        chain=chain or settings.ORIGIN,
        at=timezone.now(),
        actor_user_id=user.pk if user is not None else None,
        actor_username=user.get_username() if user is not None else "",
        actor_agency=user.agency.code if user is not None and user.agency_id else "",
        actor_channel=who.channel,
        action=str(action),
        object_type=object_type,
        object_id=object_id,
        fields=sorted(set(fields)),
        request_id=current_request_id() or "",
    )
    pending = getattr(conn, _BATCH_ATTR, None)
    if pending is not None:
        marker = _Marker()
        transaction.on_commit(marker)  # dropped by Django if a savepoint around this entry rolls back
        pending.append((entry, marker))
        return entry
    _append(entry.chain, [entry])
    return entry


class _Marker:
    """A no-op on-commit callback: Django discards it when the savepoint it was registered in rolls back,
    which tells `batch()` that the entry recorded there must not be written."""

    def __call__(self) -> None:
        return None


_BATCH_ATTR = "_amparo_audit_batch"


@contextmanager
def batch() -> Iterator[None]:
    """Collect the entries recorded inside the block and append them together when it ends, inside the
    same transaction (which must already be open): one head lock, one insert and one head update for all,
    and the chain head is locked only for the end of the transaction instead of from the first write.

    Entries recorded inside a savepoint that was rolled back are dropped, as their change is. A nested
    `batch()` joins the outer one."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("audit.batch() must run inside the transaction of the changes it records")
    if getattr(conn, _BATCH_ATTR, None) is not None:
        yield
        return
    pending: list[tuple[AuditEntry, _Marker]] = []
    setattr(conn, _BATCH_ATTR, pending)
    try:
        yield
    finally:
        setattr(conn, _BATCH_ATTR, None)
    alive = {id(func) for _sids, func, _robust in conn.run_on_commit}
    by_chain: dict[str, list[AuditEntry]] = {}
    for entry, marker in pending:
        if id(marker) in alive:
            by_chain.setdefault(entry.chain, []).append(entry)
    for chain, entries in sorted(by_chain.items()):
        _append(chain, entries)


def _append(chain: str, entries: list[AuditEntry]) -> None:
    """Lock the chain head, link `entries` after it in order, insert them and move the head."""
    conn = transaction.get_connection()
    head, _ = AuditHead.objects.select_for_update().get_or_create(
        chain=chain, defaults={"last_hash": GENESIS}
    )
    key = audit_key()
    prev_hash = head.last_hash
    for entry in entries:
        entry.prev_hash = prev_hash
        entry.hash = prev_hash = compute_hash(entry)
        entry.mac = entry_mac(key, entry.chain, entry.hash)
    if len(entries) > 1 and conn.features.can_return_rows_from_bulk_insert:
        AuditEntry.objects.bulk_create(entries)
    else:
        for entry in entries:
            entry.save(force_insert=True)
    move_head(head, entries[-1].pk, prev_hash, head.count + len(entries), key=key)


# --- Keys and MACs -----------------------------------------------------------------------------------


def audit_key() -> bytes:
    """The installation's audit key (created on first use, wrapped by the master key like every data key)."""
    return crypto.active_key(DataKey.Purpose.AUDIT)[1]


def _mac(key: bytes, *parts: object) -> str:
    message = "\x00".join(str(p) for p in parts).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def entry_mac(key: bytes, chain: str, entry_hash: str) -> str:
    """The MAC of one entry: its hash covers its content and the entry before it."""
    return _mac(key, "amparo audit entry", chain, entry_hash)


def head_mac(key: bytes, head: AuditHead) -> str:
    return _mac(
        key, "amparo audit head", head.chain, head.last_id, head.last_hash, head.count, head.legacy_until
    )


def move_head(head: AuditHead, last_id: int, last_hash: str, count: int, *, key: bytes | None = None) -> None:
    """Point a locked chain head at its new last entry and sign it (for `_append` and node sync)."""
    head.last_id, head.last_hash, head.count = last_id, last_hash, count
    head.mac = head_mac(key or audit_key(), head)
    AuditHead.objects.filter(pk=head.pk).update(
        last_id=last_id, last_hash=last_hash, count=count, mac=head.mac
    )


def sign_entry(entry: AuditEntry, key: bytes | None = None) -> None:
    """Set the MAC of an entry whose hash is already linked (node sync stores nodes' entries verbatim
    after checking their links, and vouches for them with this installation's key)."""
    entry.mac = entry_mac(key or audit_key(), entry.chain, entry.hash)


def record_read(actor: Any, action: StrEnum, obj: Any, fields: Iterable[str] = ()) -> AuditEntry:
    """Reads are audited too; this opens its own transaction when the caller has none."""
    with transaction.atomic():
        return record(actor, action, obj, fields)


# Denied reads are recorded at most this many times per user and window, so that a script probing ids
# cannot flood the log; beyond that, one line per refusal goes to the log (ids only).
DENIED_RATE = 30
DENIED_WINDOW_SECONDS = 3600


def record_denied(actor: Any, obj: Any, outcome: int) -> AuditEntry | None:
    """Record that `actor` was refused `obj` (`outcome`: 404 for an outsider, 403 for a reader without the
    right): actor, object type and id, outcome. Rate-limited per actor; opens its own transaction, so that
    the refusal's exception does not roll it back. Returns the entry, or None when the limit was reached."""
    from amparo.core import ratelimit

    who = _as_actor(actor)
    if who.user is not None and not getattr(who.user, "is_authenticated", False):
        who = Actor.system("anonymous")
    key = str(who.user.pk) if who.user is not None else who.channel
    object_type, object_id = _object_ref(obj)
    if ratelimit.consume("audit:denied", key, rate=DENIED_RATE, per_seconds=DENIED_WINDOW_SECONDS):
        logger.warning(
            "access denied (not audited: over %d an hour) actor=%s object=%s:%s outcome=%d",
            DENIED_RATE,
            key,
            object_type,
            object_id,
            outcome,
        )
        return None
    with transaction.atomic():
        return record(who, CoreAudit.ACCESS_DENIED, obj, [f"outcome:{outcome}"])


@dataclass(frozen=True)
class ChainProblem:
    chain: str
    entry_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"entry #{self.entry_id}" if self.entry_id is not None else "the end of the chain"
        return f"audit chain {self.chain!r} is broken at {where}: {self.reason}"


def chains() -> list[str]:
    """Names of every chain that has entries or a head."""
    return sorted(
        set(AuditEntry.objects.values_list("chain", flat=True).distinct())
        | set(AuditHead.objects.values_list("chain", flat=True))
        | _checkpointed_chains()
    )


def _checkpointed_chains() -> set[str]:
    """Chains named in the checkpoint file (a chain deleted whole must still be verified)."""
    path = checkpoint_path()
    if not path.exists():
        return set()
    names = set()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                names.add(str(json.loads(line)["chain"]))
            except (ValueError, KeyError, TypeError):
                continue  # verification reports the unsigned line
    return names


Progress = Callable[[str, int], None]


def verify(
    chain: str | None = None, batch: int = 2000, progress: Progress | None = None
) -> Iterator[ChainProblem]:
    """Yield the first problem in each chain (nothing when every chain is intact).

    `progress(chain, n)` is called as each batch is checked, with the number of entries found intact.
    """
    for name in [chain] if chain else chains():
        problem = _verify_chain(name, batch, progress)
        if problem:
            yield problem


def _verify_chain(chain: str, batch: int, progress: Progress | None = None) -> ChainProblem | None:
    key = audit_key()
    prev_hash = GENESIS
    last_id = 0
    count = 0
    qs = AuditEntry.objects.filter(chain=chain).order_by("id")
    head = AuditHead.objects.filter(chain=chain).first()
    if head is not None and not _head_signed(key, head):
        return _head_forged(chain)
    # Entries written before the chain was keyed carry no MAC; the signed head says how far they go.
    legacy_until = head.legacy_until if head is not None else 0
    while True:
        found = 0
        while True:
            rows = list(qs.filter(id__gt=last_id)[:batch])
            if not rows:
                break
            for done, entry in enumerate(rows):
                problem = None
                if entry.prev_hash != prev_hash:
                    problem = "it does not follow the entry before it (an entry was deleted or inserted)"
                elif compute_hash(entry) != entry.hash:
                    problem = "its content does not match its hash (the entry was edited)"
                elif not _entry_signed(key, entry, legacy_until):
                    problem = (
                        "its MAC does not match (the entry was written or re-linked without the audit key)"
                    )
                if problem:
                    if progress and done:
                        progress(chain, done)
                    return ChainProblem(chain, entry.pk, problem)
                prev_hash = entry.hash
                last_id = entry.pk
                count += 1
            found += len(rows)
            if progress:
                progress(chain, len(rows))
        # An entry and its head update commit together, so a head beyond the last entry read means either
        # entries appended while we read (read on) or newest entries deleted (nothing more to read).
        head = AuditHead.objects.filter(chain=chain).first()
        if head is None or head.last_id <= last_id or not found:
            break
    if head is None:
        if count:
            return ChainProblem(chain, None, "the chain head is missing")
        return _check_checkpoints(chain, key)
    if head.last_hash != prev_hash or head.count != count:
        cause = (
            "entries were inserted without updating the head"
            if count > head.count
            else "entries were deleted"
        )
        return ChainProblem(
            chain,
            None,
            f"the chain head expects {head.count} entries ending at #{head.last_id}; found {count} ending at #{last_id or 0} ({cause})",
        )
    if head.legacy_until != legacy_until or not _head_signed(key, head):
        return _head_forged(chain)
    return _check_checkpoints(chain, key)


def _head_signed(key: bytes, head: AuditHead) -> bool:
    return hmac.compare_digest(head.mac, head_mac(key, head))


def _head_forged(chain: str) -> ChainProblem:
    return ChainProblem(
        chain, None, "the chain head's MAC does not match (the head was rewritten without the audit key)"
    )


def _entry_signed(key: bytes, entry: AuditEntry, legacy_until: int) -> bool:
    if entry.pk <= legacy_until:
        return entry.mac == ""
    return hmac.compare_digest(entry.mac, entry_mac(key, entry.chain, entry.hash))


# --- Checkpoints outside the database ------------------------------------------------------------------


def checkpoint_path() -> Any:
    return settings.AUDIT_CHECKPOINT_FILE


def _checkpoint_mac(key: bytes, point: dict[str, Any]) -> str:
    return _mac(
        key,
        "amparo audit checkpoint",
        point["chain"],
        point["last_id"],
        point["last_hash"],
        point["count"],
        point["at"],
    )


def write_checkpoints() -> int:
    """Append a signed checkpoint of every chain head to the checkpoint file and the log; returns how many.

    A checkpoint says "chain C had N entries, the last #id with hash H": `verify` later checks that the
    database still holds that entry and that many up to it, which a database writer cannot fake by
    moving the head back (the file and the log lie outside the database)."""
    key = audit_key()
    at = timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds")
    lines = []
    for head in AuditHead.objects.order_by("chain"):
        point = {
            "chain": head.chain,
            "last_id": head.last_id,
            "last_hash": head.last_hash,
            "count": head.count,
            "at": at,
        }
        point["mac"] = _checkpoint_mac(key, point)
        lines.append(json.dumps(point, sort_keys=True, separators=(",", ":")))
        logger.info(
            "audit checkpoint chain=%s count=%d last_id=%d last_hash=%s mac=%s",
            head.chain,
            head.count,
            head.last_id,
            head.last_hash,
            point["mac"],
        )
    if lines:
        path = checkpoint_path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, ("\n".join(lines) + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    return len(lines)


def _latest_checkpoint(chain: str, key: bytes) -> tuple[dict[str, Any] | None, str]:
    """The newest checkpoint of `chain` in the file, and a problem found reading it ("" if none)."""
    path = checkpoint_path()
    if not path.exists():
        return None, ""
    latest = None
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                point = json.loads(line)
                ok = hmac.compare_digest(str(point["mac"]), _checkpoint_mac(key, point))
            except (ValueError, KeyError, TypeError):
                ok, point = False, {}
            if not ok:
                return None, f"line {number} of the checkpoint file {path} is not signed with the audit key"
            if point["chain"] == chain and (latest is None or point["count"] >= latest["count"]):
                latest = point
    return latest, ""


def _check_checkpoints(chain: str, key: bytes) -> ChainProblem | None:
    point, trouble = _latest_checkpoint(chain, key)
    if trouble:
        return ChainProblem(chain, None, trouble)
    if point is None:
        return None
    found = AuditEntry.objects.filter(chain=chain, id=point["last_id"]).values_list("hash", flat=True).first()
    upto = AuditEntry.objects.filter(chain=chain, id__lte=point["last_id"]).count()
    if found != point["last_hash"] or upto != point["count"]:
        return ChainProblem(
            chain,
            None,
            f"the signed checkpoint of {point['at']} records {point['count']} entries ending at #{point['last_id']}; "
            f"the database holds {upto} up to that entry{'' if found else ', and not that entry'} "
            "(entries were removed and the head moved back)",
        )
    return None
