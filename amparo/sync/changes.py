"""Building and applying change batches: a three-way merge per field.

A node remembers, for every synchronised field, the hash of the value it last agreed with the national
server (`FieldBase`). Pushing, it sends the fields whose local value differs from that base, with the base;
the server applies a field when its own value still equals the base (only the node changed it), ignores it
when the values are already equal, and otherwise opens a `Conflict` that keeps both values, the national
one staying in force until a person resolves it. Pulling, the node takes every national value for fields it
has not changed since the base; fields it has changed wait for its next push. Applying a batch twice
changes nothing, so a batch whose answer was lost is simply sent again.

Which records changed is read from the audit log, which every write already appends to (field names only):
a node pushes the objects its own entries touched; the server sends a node the objects that national
entries touched since the node's cursor, for the cases of the node's district.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import timezone

from amparo.cases.models import Case
from amparo.core import audit, keys
from amparo.core.models import Agency, AuditEntry, AuditHead, RoleGrant
from amparo.sync import registry
from amparo.sync.models import Conflict, FieldBase, Node, NodeState
from amparo.sync.permissions import SyncAudit
from amparo.sync.protocol import ProtocolError

AUDIT_BATCH = 1000
FEED_BATCH = 2000


def _actor_for(node: Node) -> audit.Actor:
    return audit.Actor(channel=f"node:{node.name}")


# ---------------------------------------------------------------- serialising records


def _object_payload(obj: models.Model, spec: registry.Spec, names: Iterable[str]) -> dict[str, Any]:
    return {name: registry.dump_field(obj, name, spec) for name in names}


def _create(spec: registry.Spec, pk: str, values: dict[str, Any]) -> models.Model:
    model = spec.model
    obj = model(pk=pk)
    concrete = {f.name for f in spec.fields()}
    for name, value in values.items():
        if name in spec.virtual or name not in concrete:
            continue
        registry.load_field(obj, name, value, spec)
    if getattr(model, "BLIND_INDEXES", None):
        keys.set_blind_indexes(obj)
    registry.check_fields(obj, sorted(concrete))
    obj.save(force_insert=True)
    if "created_at" in values and values["created_at"]:
        # auto_now_add replaced the original creation time on insert: put it back.
        model.objects.filter(pk=pk).update(created_at=values["created_at"])
    for name, virtual in spec.virtual.items():
        if name in values:
            virtual.set(obj, list(values[name] or []))
    return obj


def _set_fields(obj: models.Model, spec: registry.Spec, values: dict[str, Any]) -> None:
    concrete = [n for n in values if n not in spec.virtual]
    for name in concrete:
        registry.load_field(obj, name, values[name], spec)
    update = [obj._meta.get_field(n).name for n in concrete]
    registry.check_fields(obj, concrete)
    if getattr(obj, "BLIND_INDEXES", None):
        update += keys.set_blind_indexes(obj)
    if update:
        if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
            update.append("updated_at")
        obj.save(update_fields=sorted(set(update)))
    for name in values:
        if name in spec.virtual:
            spec.virtual[name].set(obj, list(values[name] or []))


# ---------------------------------------------------------------- national side: applying a push


def _store_audit_entries(node: Node, entries: list[dict[str, Any]]) -> None:
    """Append the node's audit entries to its chain on the server, verbatim, checking every link."""
    if not entries:
        return
    chain = node.origin
    head, _ = AuditHead.objects.select_for_update().get_or_create(
        chain=chain, defaults={"last_hash": audit.GENESIS}
    )
    key = audit.audit_key()
    last_id, last_hash, count = head.last_id, head.last_hash, head.count
    for data in entries:
        if data.get("chain") != chain:
            raise ProtocolError("an audit entry belongs to another chain")
        existing = AuditEntry.objects.filter(uuid=data["uuid"]).first()
        if existing is not None:
            if existing.hash != data["hash"]:
                raise ProtocolError("an audit entry was changed after it was sent")
            continue
        entry = AuditEntry(
            uuid=data["uuid"],
            chain=chain,
            at=dt.datetime.fromisoformat(data["at"]),
            actor_user_id=data["actor_user_id"] or None,
            actor_username=data["actor_username"],
            actor_agency=data["actor_agency"],
            actor_channel=data["actor_channel"],
            action=data["action"],
            object_type=data["object_type"],
            object_id=data["object_id"],
            fields=list(data["fields"]),
            request_id=data["request_id"],
            prev_hash=data["prev_hash"],
            hash=data["hash"],
        )
        if entry.prev_hash != last_hash:
            raise ProtocolError("the node's audit entries do not follow the last one the server holds")
        if audit.compute_hash(entry) != entry.hash:
            raise ProtocolError("an audit entry does not match its hash")
        audit.sign_entry(entry, key)  # this server vouches for the links it checked
        entry.save(force_insert=True)
        last_id, last_hash, count = entry.pk, entry.hash, count + 1
    audit.move_head(head, last_id, last_hash, count, key=key)


def _case_in_scope(node: Node, case_id: Any) -> bool:
    return Case.objects.filter(pk=case_id, district_id=node.district_id).exists()


def apply_push(node: Node, payload: dict[str, Any]) -> dict[str, Any]:
    """Apply one pushed batch in one transaction; returns per-object, per-field results."""
    changes = payload.get("changes") or []
    if not isinstance(changes, list):
        raise ProtocolError("changes must be a list")
    results: dict[str, dict[str, Any]] = {}
    actor = _actor_for(node)
    with transaction.atomic():
        _store_audit_entries(node, payload.get("audit") or [])
        ordered = sorted(
            changes,
            key=lambda c: registry.SPECS[c["model"]].order if c.get("model") in registry.SPECS else 99,
        )
        for change in ordered:
            spec = registry.SPECS.get(change.get("model", ""))
            if spec is None:
                raise ProtocolError(f"records of type {change.get('model')!r} are not synchronised")
            pk, values, bases = (
                str(change["id"]),
                dict(change.get("fields") or {}),
                dict(change.get("bases") or {}),
            )
            unknown = set(values) - set(spec.field_names())
            if unknown:
                raise ProtocolError(f"unknown fields for {spec.label}: {', '.join(sorted(unknown))}")
            obj = spec.model.objects.filter(pk=pk).first()
            if obj is None:
                case_id = pk if spec.label == "cases.case" else values.get("case") or values.get("from_case")
                if spec.label == "cases.case":
                    if values.get("district") != node.district_id:
                        raise ProtocolError("a node may create cases only in its own district")
                elif not _case_in_scope(node, case_id):
                    raise ProtocolError("the record belongs to a case outside the node's district")
                obj = _create(spec, pk, values)
                audit.record(actor, SyncAudit.PUSH_APPLY, obj, sorted(values))
                results[pk] = {name: ["created"] for name in values}
                continue
            if not _case_in_scope(node, spec.case_id(obj)):
                raise ProtocolError("the record belongs to a case outside the node's district")
            outcome: dict[str, Any] = {}
            apply: dict[str, Any] = {}
            for name, value in values.items():
                current = registry.dump_field(obj, name, spec)
                current_hash, new_hash = registry.value_hash(current), registry.value_hash(value)
                if current_hash == new_hash:
                    outcome[name] = ["unchanged"]
                elif bases.get(name) == current_hash:
                    apply[name] = value
                    outcome[name] = ["applied"]
                else:
                    conflict, created = Conflict.objects.get_or_create(
                        model=spec.label,
                        object_id=pk,
                        field=name,
                        node_value_hash=new_hash,
                        resolved_at=None,
                        defaults={
                            "node": node,
                            "origin": node.origin,
                            "case_id": spec.case_id(obj),
                            "national_value": registry.canonical(current),
                            "node_value": registry.canonical(value),
                            "detected_at": timezone.now(),
                        },
                    )
                    if created:
                        audit.record(actor, SyncAudit.CONFLICT_OPEN, conflict, [name])
                    outcome[name] = ["conflict", current]
            if apply:
                _set_fields(obj, spec, apply)
                audit.record(actor, SyncAudit.PUSH_APPLY, obj, sorted(apply))
            results[pk] = outcome
    head = AuditHead.objects.filter(chain=node.origin).first()
    return {"results": results, "audit_head": head.last_hash if head else audit.GENESIS}


# ---------------------------------------------------------------- national side: what a node pulls


def _subtree(case: Case) -> list[tuple[registry.Spec, models.Model]]:
    found: list[tuple[registry.Spec, models.Model]] = [(registry.SPECS["cases.case"], case)]
    for spec in registry.SPECS.values():
        if spec.label == "cases.case":
            continue
        fk = "from_case" if spec.label == "cases.caserelation" else "case"
        found += [(spec, obj) for obj in spec.model.objects.filter(**{fk: case})]
    return found


def _user_payload(user: Any, full: bool) -> dict[str, Any]:
    data = {
        "id": str(user.pk),
        "username": user.username,
        "agency": user.agency.code,
        "is_active": user.is_active and full,
        "full": full,
    }
    if full:
        data.update(
            {
                "password": user.password,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
                "scope_level": user.scope_level,
                "scope_province": user.scope_province_id,
                "scope_district": user.scope_district_id,
                "roles": sorted(user.roles),
            }
        )
    return data


def office_users(node: Node) -> models.QuerySet:
    """The staff who work at the node's office: users narrowed to its district, or of an agency based there."""
    user_model = get_user_model()
    return user_model.objects.filter(
        models.Q(scope_level="district", scope_district_id=node.district_id)
        | models.Q(agency__scope_level="district", agency__district_id=node.district_id)
    ).select_related("agency")


def build_pull(node: Node, cursor: int) -> dict[str, Any]:
    """The objects a node should hold that national writes touched after `cursor` (all of them when 0)."""
    touched: dict[str, tuple[registry.Spec, models.Model]] = {}
    if cursor <= 0:
        top = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        for case in Case.objects.filter(district_id=node.district_id):
            for spec, obj in _subtree(case):
                touched[str(obj.pk)] = (spec, obj)
        next_cursor, more = top, False
    else:
        rows = list(
            AuditEntry.objects.filter(
                id__gt=cursor, chain=settings.ORIGIN, object_type__in=list(registry.SPECS)
            )
            .exclude(actor_channel=f"node:{node.name}")
            .order_by("id")
            .values_list("id", "action", "object_type", "object_id", "fields")[:FEED_BATCH]
        )
        more = len(rows) == FEED_BATCH
        next_cursor = rows[-1][0] if rows else max(cursor, 0)
        if not more:
            # Nothing of interest beyond: move the cursor to the newest entry so the scan does not repeat.
            next_cursor = max(
                next_cursor, AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
            )
        for _id, action, object_type, object_id, fields in rows:
            if not registry.is_write_action(action):
                continue
            spec = registry.SPECS[object_type]
            obj = spec.model.objects.filter(pk=object_id).first()
            if obj is None or not _case_in_scope(node, spec.case_id(obj)):
                continue
            if spec.label == "cases.case" and "district" in fields:
                for sub_spec, sub in _subtree(obj):  # a case moved into the district brings its records
                    touched[str(sub.pk)] = (sub_spec, sub)
            for sub_spec, sub in registry.recorded_on_case(action, object_type, object_id):
                touched[str(sub.pk)] = (sub_spec, sub)
            touched[object_id] = (spec, obj)
    objects = []
    user_ids: set[str] = set()
    wanted: set[tuple[str, str]] = set()
    for pk, (spec, obj) in touched.items():
        objects.append(
            {"model": spec.label, "id": pk, "fields": _object_payload(obj, spec, spec.field_names())}
        )
        user_ids |= registry.referenced_users(obj)
        wanted |= registry.referenced_rows(obj)
    references = []
    for label, pk in sorted(wanted):
        ref_spec = registry.REFERENCES[label]
        row = ref_spec.model.objects.filter(pk=pk).first()
        if row is not None:
            fields = _object_payload(row, ref_spec, ref_spec.field_names())
            references.append({"model": label, "id": pk, "fields": fields})
    user_model = get_user_model()
    office = {str(u.pk): u for u in office_users(node)}
    users = [_user_payload(u, True) for u in office.values()]
    users += [
        _user_payload(u, False)
        for u in user_model.objects.filter(pk__in=user_ids - set(office)).select_related("agency")
    ]
    agencies = list(
        Agency.objects.values(
            "code", "name", "short_name", "kind", "scope_level", "province", "district", "active"
        )
    )
    open_conflicts = Conflict.objects.filter(node=node, resolved_at__isnull=True).count()
    return {
        "cursor": next_cursor,
        "more": more,
        "objects": objects,
        "users": users,
        "agencies": agencies,
        "references": references,
        "open_conflicts": open_conflicts,
    }


# ---------------------------------------------------------------- district side


def state() -> NodeState:
    found = NodeState.objects.filter(pk=1).first()
    if found is None:
        raise ProtocolError("this installation is not a district node yet: run `amparo node init`")
    return found


def _set_base(spec: registry.Spec, pk: str, name: str, value_hash: str) -> None:
    FieldBase.objects.update_or_create(
        model=spec.label, object_id=pk, field=name, defaults={"value_hash": value_hash}
    )


def _upsert_reference(payload: dict[str, Any]) -> None:
    for data in payload.get("agencies") or []:
        Agency.objects.update_or_create(
            code=data["code"],
            defaults={
                "name": data["name"],
                "short_name": data["short_name"],
                "kind": data["kind"],
                "scope_level": data["scope_level"],
                "province_id": data["province"],
                "district_id": data["district"],
                "active": data["active"],
            },
        )
    user_model = get_user_model()
    for data in payload.get("users") or []:
        agency = Agency.objects.get(code=data["agency"])
        user = user_model.objects.filter(pk=data["id"]).first()
        if user is None:
            user = user_model(pk=data["id"], username=data["username"], agency=agency)
            user.set_unusable_password()
        user.username, user.agency, user.is_active = data["username"], agency, data["is_active"]
        if data.get("full"):
            user.password = data["password"]
            user.first_name, user.last_name, user.email = data["first_name"], data["last_name"], data["email"]
            user.scope_level = data["scope_level"]
            user.scope_province_id, user.scope_district_id = data["scope_province"], data["scope_district"]
        user.save()
        if data.get("full"):
            roles = set(data["roles"])
            RoleGrant.objects.filter(user=user).exclude(role__in=roles).delete()
            for role in roles - set(RoleGrant.objects.filter(user=user).values_list("role", flat=True)):
                RoleGrant.objects.create(user=user, role=role)


def _upsert_directory_rows(payload: dict[str, Any]) -> None:
    """National directory rows the pulled records point to (a service), as the national server has them."""
    for item in payload.get("references") or []:
        spec = registry.REFERENCES.get(item.get("model", ""))
        if spec is None:
            raise ProtocolError(f"records of type {item.get('model')!r} are not reference data")
        pk, values = str(item["id"]), dict(item.get("fields") or {})
        unknown = set(values) - set(spec.field_names())
        if unknown:
            raise ProtocolError(f"unknown fields for {spec.label}: {', '.join(sorted(unknown))}")
        row = spec.model.objects.filter(pk=pk).first()
        if row is None:
            _create(spec, pk, values)
        else:
            _set_fields(row, spec, values)


def apply_pull(payload: dict[str, Any]) -> dict[str, int]:
    """On a node: take national values for every field not changed here since the last agreement."""
    node_state = state()
    counts = {"created": 0, "updated": 0, "kept_local": 0}
    actor = audit.Actor.system("sync")
    with transaction.atomic():
        _upsert_reference(payload)
        _upsert_directory_rows(payload)
        objects = sorted(payload.get("objects") or [], key=lambda o: registry.SPECS[o["model"]].order)
        for item in objects:
            spec = registry.SPECS[item["model"]]
            pk, values = str(item["id"]), item["fields"]
            obj = spec.model.objects.filter(pk=pk).first()
            if obj is None:
                obj = _create(spec, pk, values)
                for name, value in values.items():
                    _set_base(spec, pk, name, registry.value_hash(value))
                audit.record(actor, SyncAudit.PULL_APPLY, obj, sorted(values))
                counts["created"] += 1
                continue
            bases = dict(
                FieldBase.objects.filter(model=spec.label, object_id=pk).values_list("field", "value_hash")
            )
            apply = {}
            for name, value in values.items():
                incoming = registry.value_hash(value)
                local = registry.value_hash(registry.dump_field(obj, name, spec))
                if local == incoming:
                    if bases.get(name) != incoming:
                        _set_base(spec, pk, name, incoming)
                elif bases.get(name) in (None, local):
                    apply[name] = value
                else:
                    counts["kept_local"] += 1  # changed here too: the next push settles it
            if apply:
                _set_fields(obj, spec, apply)
                for name, value in apply.items():
                    _set_base(spec, pk, name, registry.value_hash(value))
                audit.record(actor, SyncAudit.PULL_APPLY, obj, sorted(apply))
                counts["updated"] += 1
        NodeState.objects.filter(pk=node_state.pk).update(
            pull_cursor=payload["cursor"], open_conflicts=int(payload.get("open_conflicts") or 0)
        )
    return counts


def _audit_payload(entry: AuditEntry) -> dict[str, Any]:
    return {**audit.fields_of(entry), "hash": entry.hash}


def pending_entries(node_state: NodeState, limit: int = AUDIT_BATCH) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(chain=node_state.origin, id__gt=node_state.pushed_audit_id).order_by("id")[
            :limit
        ]
    )


def pending_count() -> int:
    """Changes made here that the national server has not received yet (records changed, not audit entries)."""
    node_state = NodeState.objects.filter(pk=1).first()
    if node_state is None:
        return 0
    rows = AuditEntry.objects.filter(
        chain=node_state.origin, id__gt=node_state.pushed_audit_id, object_type__in=list(registry.SPECS)
    ).values_list("action", "object_id")
    return len({object_id for action, object_id in rows if registry.is_write_action(action)})


def build_push(node_state: NodeState, limit: int = AUDIT_BATCH) -> tuple[dict[str, Any], int]:
    """The next batch to push and the id of its last audit entry."""
    entries = pending_entries(node_state, limit)
    touched: dict[str, str] = {}
    for entry in entries:
        if entry.object_type in registry.SPECS and registry.is_write_action(entry.action):
            touched[entry.object_id] = entry.object_type
            for spec, obj in registry.recorded_on_case(entry.action, entry.object_type, entry.object_id):
                touched[str(obj.pk)] = spec.label
    changes = []
    for pk, label in touched.items():
        spec = registry.SPECS[label]
        obj = spec.model.objects.filter(pk=pk).first()
        if obj is None:
            continue
        bases = dict(FieldBase.objects.filter(model=label, object_id=pk).values_list("field", "value_hash"))
        values = {}
        for name in spec.field_names():
            value = registry.dump_field(obj, name, spec)
            if not bases or bases.get(name) != registry.value_hash(value):
                values[name] = value
        if values:
            changes.append(
                {"model": label, "id": pk, "fields": values, "bases": {n: bases.get(n) for n in values}}
            )
    payload = {"audit": [_audit_payload(e) for e in entries], "changes": changes}
    return payload, (entries[-1].pk if entries else node_state.pushed_audit_id)


def settle_push(node_state: NodeState, payload: dict[str, Any], answer: dict[str, Any], last_id: int) -> int:
    """After a successful push: record the agreed values; take the national value where a conflict opened."""
    conflicts = 0
    actor = audit.Actor.system("sync")
    with transaction.atomic():
        for change in payload["changes"]:
            spec = registry.SPECS[change["model"]]
            pk = change["id"]
            outcome = answer["results"].get(pk, {})
            national: dict[str, Any] = {}
            for name, value in change["fields"].items():
                result = outcome.get(name, ["unchanged"])
                if result[0] == "conflict":
                    national[name] = result[1]
                    conflicts += 1
                else:
                    _set_base(spec, pk, name, registry.value_hash(value))
            if national:
                obj = spec.model.objects.get(pk=pk)
                _set_fields(obj, spec, national)
                for name, value in national.items():
                    _set_base(spec, pk, name, registry.value_hash(value))
                audit.record(actor, SyncAudit.PULL_APPLY, obj, sorted(national))
        NodeState.objects.filter(pk=node_state.pk).update(pushed_audit_id=last_id)
    return conflicts
