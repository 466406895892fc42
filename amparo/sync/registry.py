"""What is synchronised, and how a record's fields become JSON and back.

Every synchronised model has a UUID key and belongs to one case (the case itself, or a record with a
`case` foreign key). Fields travel as JSON values: foreign keys as the stable key of the row they point to
(an agency's or provider's code, a place's P-code, a UUID otherwise), dates as ISO 8601 in UTC. Blind
indexes are not sent: each installation recomputes them under its own index key. Encrypted fields travel
as plaintext inside the signed, compressed request (run sync over HTTPS) and are encrypted again under the
receiving installation's keys.

A case's OCSEA forms and platforms are rows without UUIDs; they travel as two list-valued fields of the case
(`forms`, `platforms`), so that a change to them merges like any other field.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.dateparse import parse_date, parse_datetime

# Fields that never travel: kept by each installation for itself.
LOCAL_FIELDS = frozenset({"id", "updated_at", "name_index", "phone_index"})
# Related models referred to by a natural key rather than their primary key.
NATURAL_KEYS = {"core.agency": "code", "cases.serviceprovider": "code"}


@dataclass(frozen=True)
class Virtual:
    """A list-valued field kept in child rows without their own identity (a case's forms, platforms)."""

    get: Callable[[models.Model], list[str]]
    set: Callable[[models.Model, list[str]], None]


def _case_forms_get(case: models.Model) -> list[str]:
    return sorted(case.forms.values_list("form", flat=True))


def _case_forms_set(case: models.Model, values: list[str]) -> None:
    case.forms.exclude(form__in=values).delete()
    have = set(case.forms.values_list("form", flat=True))
    case.forms.model.objects.bulk_create(
        [case.forms.model(case=case, form=v) for v in values if v not in have]
    )


def _case_platforms_get(case: models.Model) -> list[str]:
    return sorted(case.platforms.values_list("platform", flat=True))


def _case_platforms_set(case: models.Model, values: list[str]) -> None:
    case.platforms.exclude(platform__in=values).delete()
    have = set(case.platforms.values_list("platform", flat=True))
    case.platforms.model.objects.bulk_create(
        [case.platforms.model(case=case, platform=v) for v in values if v not in have]
    )


@dataclass(frozen=True)
class Spec:
    label: str  # "cases.case"
    order: int  # creation order: parents before children
    virtual: dict[str, Virtual] = field(default_factory=dict)

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.label)

    def fields(self) -> list[models.Field]:
        return [
            f for f in self.model._meta.concrete_fields if f.name not in LOCAL_FIELDS and not f.primary_key
        ]

    def field_names(self) -> list[str]:
        return [f.name for f in self.fields()] + list(self.virtual)

    def case_id(self, obj: models.Model) -> uuid.UUID | None:
        if self.label == "cases.case":
            return obj.pk
        if self.label == "cases.caserelation":
            return obj.from_case_id
        return getattr(obj, "case_id", None)


SPECS: dict[str, Spec] = {
    s.label: s
    for s in [
        Spec(
            "cases.case",
            0,
            {
                "forms": Virtual(_case_forms_get, _case_forms_set),
                "platforms": Virtual(_case_platforms_get, _case_platforms_set),
            },
        ),
        Spec("cases.person", 1),
        Spec("cases.consentrecord", 1),
        Spec("cases.casenote", 2),
        Spec("cases.transition", 2),
        Spec("cases.referral", 2),
        Spec("cases.servicereferral", 2),
        Spec("cases.rightsdelivery", 2),
        Spec("cases.interview", 2),
        Spec("cases.justiceevent", 2),
    ]
}

# National directories that synchronised records point to by UUID (a service referral's service): the rows
# a pull's records need travel with it, ahead of them, and a node keeps them as the national server has them.
REFERENCES: dict[str, Spec] = {s.label: s for s in [Spec("cases.service", -1)]}


def referenced_rows(obj: models.Model) -> set[tuple[str, str]]:
    """(label, pk) of the directory rows (REFERENCES) a record points to."""
    found = set()
    for f in obj._meta.concrete_fields:
        if isinstance(f, models.ForeignKey) and f.related_model._meta.label_lower in REFERENCES:
            raw = getattr(obj, f.attname)
            if raw is not None:
                found.add((f.related_model._meta.label_lower, str(raw)))
    return found


# Records written without an audit entry of their own: the entry the action writes names their case
# instead (a transition is audited as the case's change of status). Such an entry brings them along.
RECORDED_ON_CASE = {"cases:case:transition": "cases.transition"}


def recorded_on_case(action: str, object_type: str, object_id: str) -> list[tuple[Spec, models.Model]]:
    """The records an audit entry on a case stands for besides the case itself (see RECORDED_ON_CASE)."""
    label = RECORDED_ON_CASE.get(action)
    if label is None or object_type != "cases.case":
        return []
    spec = SPECS[label]
    return [(spec, obj) for obj in spec.model.objects.filter(case_id=object_id)]


# Audit actions that only read; their entries do not mean a record changed.
READ_VERBS = frozenset({"view", "view_identity", "list", "read", "export", "download", "search", "reveal"})


# Synchronisation's own entries that do not change a synchronised record (or only mirror one on a node).
NOT_CHANGES = frozenset(
    {
        "sync:change:pull_apply",
        "sync:conflict:open",
        "sync:conflict:resolve",
        "sync:node:wipe",
        "sync:node:init",
    }
)


def is_write_action(action: str) -> bool:
    """Whether an audit entry's action changed the record it names (reads and mirrors do not)."""
    return action.rsplit(":", 1)[-1] not in READ_VERBS and action not in NOT_CHANGES


def _fk_key(f: models.ForeignKey) -> str:
    return NATURAL_KEYS.get(f.related_model._meta.label_lower, "")


def dump_field(obj: models.Model, name: str, spec: Spec) -> Any:
    """The JSON value of one field of `obj`."""
    if name in spec.virtual:
        return spec.virtual[name].get(obj)
    f = obj._meta.get_field(name)
    if isinstance(f, models.ForeignKey):
        key = _fk_key(f)
        if key:
            related = getattr(obj, name)
            return getattr(related, key) if related is not None else None
        raw = getattr(obj, f.attname)
        return str(raw) if raw is not None else None
    value = f.value_from_object(obj)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def load_field(obj: models.Model, name: str, value: Any, spec: Spec) -> None:
    """Set one field of `obj` from its JSON value (virtual fields are set after the object is saved)."""
    f = obj._meta.get_field(name)
    if isinstance(f, models.ForeignKey):
        key = _fk_key(f)
        if value is None:
            setattr(obj, f.attname, None)
        elif key:
            setattr(obj, name, f.related_model.objects.get(**{key: value}))
        else:
            setattr(obj, f.attname, value)
        return
    if value is None:
        setattr(obj, f.attname, None)
    elif isinstance(f, models.DateTimeField):
        setattr(obj, f.attname, parse_datetime(value))
    elif isinstance(f, models.DateField):
        setattr(obj, f.attname, parse_date(value))
    elif isinstance(f, models.DecimalField):
        setattr(obj, f.attname, decimal.Decimal(value))
    else:
        setattr(obj, f.attname, value)


def check_fields(obj: models.Model, names: Iterable[str]) -> None:
    """Validate the fields `names` of `obj` (set by `load_field`) the way `clean_fields` does, except for
    the "blank" rule: every value the other installation's database can hold is accepted.

    Forms may require a field (a transition's user, a note's text) that the system leaves empty when it
    writes the record itself: a case opened by an SMS or USSD report, demo data, a periodic job. Such a
    record must travel like any other. An empty value is accepted wherever the database stores it (NULL
    where the column allows it, an empty text or list); anything else is still checked (type, length,
    choices, that a linked row exists), so a malformed batch is refused with a ValidationError."""
    errors: dict[str, list[ValidationError]] = {}
    for name in names:
        f = obj._meta.get_field(name)
        raw = getattr(obj, f.attname)
        if raw is None and not f.null and not f.blank:  # (a blank field with no value is filled on save)
            errors[name] = [ValidationError(f.error_messages["null"], code="null")]
            continue
        if raw in f.empty_values:
            continue
        try:
            setattr(obj, f.attname, f.clean(raw, obj))
        except ValidationError as exc:
            errors[name] = exc.error_list
    if errors:
        raise ValidationError(errors)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def value_hash(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode("utf-8")).hexdigest()


def referenced_users(obj: models.Model) -> set[str]:
    """UUIDs of the staff users a record points to (sent ahead as reference data)."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    found = set()
    for f in obj._meta.concrete_fields:
        if isinstance(f, models.ForeignKey) and f.related_model is user_model:
            raw = getattr(obj, f.attname)
            if raw is not None:
                found.add(str(raw))
    return found
