"""The tamper-evident audit log.

Each entry's hash is SHA-256 over the previous entry's hash and a canonical JSON form of the
entry, so that editing, deleting or inserting an entry breaks the chain at that point.
`record()` must be called inside the transaction of the write it describes; it locks the
chain head so that appends are serialised. Field *names* are recorded, never values. `batch()` lets an
action append all its entries at once at the end of its transaction (one head lock, held briefly).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from amparo.core.middleware import current_request_id
from amparo.core.models import AuditEntry, AuditHead

GENESIS = "0" * 64


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
    prev_hash = head.last_hash
    for entry in entries:
        entry.prev_hash = prev_hash
        entry.hash = prev_hash = compute_hash(entry)
    if len(entries) > 1 and conn.features.can_return_rows_from_bulk_insert:
        AuditEntry.objects.bulk_create(entries)
    else:
        for entry in entries:
            entry.save(force_insert=True)
    AuditHead.objects.filter(pk=head.pk).update(
        last_id=entries[-1].pk, last_hash=prev_hash, count=models.F("count") + len(entries)
    )


def record_read(actor: Any, action: StrEnum, obj: Any, fields: Iterable[str] = ()) -> AuditEntry:
    """Reads are audited too; this opens its own transaction when the caller has none."""
    with transaction.atomic():
        return record(actor, action, obj, fields)


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
    )


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
    prev_hash = GENESIS
    last_id = 0
    count = 0
    qs = AuditEntry.objects.filter(chain=chain).order_by("id")
    head = None
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
        return ChainProblem(chain, None, "the chain head is missing") if count else None
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
    return None
