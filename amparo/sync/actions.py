"""Writes of the sync app: registering and revoking nodes, setting a node up, resolving conflicts, wiping.

Each takes the acting user (or an audit Actor for a command or the sync process), runs in one transaction
and records its audit entry there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.core import audit
from amparo.core.models import District
from amparo.core.policy import can
from amparo.core.wipe import wipe_hooks
from amparo.sync import registry
from amparo.sync.models import Conflict, FieldBase, Node, NodeState
from amparo.sync.permissions import SyncAudit, SyncPermission
from amparo.sync.protocol import credential, new_key_pair, read_credential


def _require(actor: Any, permission: SyncPermission, obj: Any = None) -> None:
    user = actor.user if isinstance(actor, audit.Actor) else actor
    if user is None:
        return  # a command run by the operator of the machine, or the sync process
    if not can(user, permission, obj):
        raise PermissionDenied


def register_node(actor: Any, *, name: str, district: District) -> tuple[Node, dict[str, Any]]:
    """Create a node identity; returns the node and its credential (which holds the private key: shown once)."""
    _require(actor, SyncPermission.NODE_MANAGE)
    if Node.objects.filter(name=name).exists():
        raise ValidationError(_("A node with that name exists already; choose another name."))
    private, public = new_key_pair()
    with transaction.atomic():
        node = Node.objects.create(name=name, district=district, public_key=public)
        audit.record(actor, SyncAudit.NODE_REGISTER, node, ["name", "district", "public_key"])
    return node, credential(str(node.pk), node.name, district.pk, private, node.origin)


def revoke_node(actor: Any, node: Node) -> Node:
    _require(actor, SyncPermission.NODE_MANAGE)
    with transaction.atomic():
        locked = Node.objects.select_for_update().get(pk=node.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            audit.record(actor, SyncAudit.NODE_REVOKE, locked, ["revoked_at"])
    return locked


def record_wipe_report(node: Node) -> Node:
    with transaction.atomic():
        locked = Node.objects.select_for_update().get(pk=node.pk)
        if locked.wiped_at is None:
            locked.wiped_at = timezone.now()
            locked.save(update_fields=["wiped_at"])
            audit.record(audit.Actor(channel=f"node:{node.name}"), SyncAudit.NODE_WIPED, locked, ["wiped_at"])
    return locked


ORIGIN_FILE = "origin"  # in DATA_DIR: a district node's origin, written by `node init`, read by the settings


def record_origin(origin: str) -> Path:
    """Keep the node's origin in its own configuration (DATA_DIR/origin), so that AMPARO_ORIGIN need not
    be exported by hand; the settings read it when AMPARO_ORIGIN is not set."""
    directory = Path(settings.DATA_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ORIGIN_FILE
    partial = path.with_name(ORIGIN_FILE + ".partial")
    partial.write_text(origin + "\n", encoding="utf-8")
    os.chmod(partial, 0o640)
    os.replace(partial, path)  # whole or not at all
    return path


def init_node(actor: Any, *, upstream: str, credential_text: str, exported_origin: str = "") -> NodeState:
    """Set this installation up as a district node from the credential file.

    The node's origin (its audit chain, the origin of what it creates) comes from the credential. When the
    operator exported AMPARO_ORIGIN (`exported_origin`) it must be that one; otherwise it is recorded in
    the node's configuration (:func:`record_origin`) and in force from here on."""
    data = read_credential(credential_text)
    wanted = data.get("origin") or f"node-{data['name']}"
    if exported_origin and exported_origin != wanted:
        raise ValidationError(
            _(
                "AMPARO_ORIGIN is set to %(have)s but the credential is for %(want)s: set AMPARO_ORIGIN=%(want)s, or unset it and this command records the origin itself."
            )
            % {"have": exported_origin, "want": wanted}
        )
    district = District.objects.filter(pk=data["district"]).first()
    if district is None:
        raise ValidationError(_("The credential names a district this installation does not know."))
    if NodeState.objects.exists():
        raise ValidationError(_("This installation is already a district node."))
    if not exported_origin:
        record_origin(wanted)
    settings.ORIGIN = wanted  # this process's own entries (the one below) go to the node's chain too
    with transaction.atomic():
        if NodeState.objects.exists():
            raise ValidationError(_("This installation is already a district node."))
        node_state = NodeState.objects.create(
            node_id=data["node_id"],
            name=data["name"],
            district=district,
            upstream=upstream.rstrip("/"),
            private_key=data["private_key"],
        )
        audit.record(actor, SyncAudit.NODE_INIT, node_state, ["name", "district", "upstream"])
    return node_state


def resolve_conflict(actor: Any, conflict: Conflict, *, keep: str) -> Conflict:
    """Keep the national value, or take the node's; either way the choice is audited and flows to the node."""
    _require(actor, SyncPermission.CONFLICT_RESOLVE, conflict)
    if keep not in Conflict.Resolution.values:
        raise ValidationError(_("Choose which value to keep."))
    spec = registry.SPECS[conflict.model]
    from amparo.sync.changes import _set_fields  # noqa: PLC0415  (one writer of synchronised fields)

    with transaction.atomic():
        locked = Conflict.objects.select_for_update().get(pk=conflict.pk)
        if locked.resolved_at is not None:
            raise ValidationError(_("This conflict has been resolved already."))
        obj = spec.model.objects.select_for_update().get(pk=locked.object_id)
        if keep == Conflict.Resolution.NODE:
            _set_fields(obj, spec, {locked.field: json.loads(locked.node_value)})
        locked.resolved_at = timezone.now()
        locked.resolved_by = actor.user if isinstance(actor, audit.Actor) else actor
        locked.resolution = keep
        locked.save(update_fields=["resolved_at", "resolved_by", "resolution"])
        audit.record(actor, SyncAudit.CONFLICT_RESOLVE, locked, ["resolution"])
        if keep == Conflict.Resolution.NODE:
            # The change itself, as any write: it reaches every node through the feed.
            audit.record(actor, SyncAudit.PUSH_APPLY, obj, [locked.field])
    return locked


def wipe_local_data(reason: str = "revoked") -> dict[str, int]:
    """On a node whose credential was revoked: erase every case and what hangs from it, here only."""
    from amparo.cases.models import Case

    counts: dict[str, int] = {}
    with transaction.atomic():
        for hook in wipe_hooks():
            counts.update(hook())
        _deleted, by_model = Case.objects.all().delete()
        counts.update(by_model)
        FieldBase.objects.all().delete()
        node_state = NodeState.objects.select_for_update().get(pk=1)
        node_state.wiped_at = timezone.now()
        node_state.revoked_at = node_state.revoked_at or node_state.wiped_at
        node_state.save(update_fields=["wiped_at", "revoked_at"])
        audit.record(audit.Actor.system("sync"), SyncAudit.WIPE, node_state, [reason])
    return counts


def forget_credential() -> None:
    """After the wipe has been reported (or cannot be): the node's key is erased too."""
    with transaction.atomic():
        node_state = NodeState.objects.select_for_update().get(pk=1)
        node_state.private_key = ""
        node_state.wipe_reported_at = node_state.wipe_reported_at or timezone.now()
        node_state.save(update_fields=["private_key", "wipe_reported_at"])
        audit.record(audit.Actor.system("sync"), SyncAudit.WIPE, node_state, ["private_key"])
