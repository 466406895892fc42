"""Key rotation (run by `amparo rotate_keys`) and the registry of blind indexes.

Three independent rotations (see docs/decisions/0002):

* data key: a new field key; every encrypted value of every installed model is re-encrypted under it,
  bound to its row (values written before rows were bound become bound), batch by batch, each batch in its own transaction. Old keys stay readable throughout and are marked
  retired (``retired_at``) at the end. Re-running after an interruption carries on where it stopped.
* master key: every data key is unwrapped with the master key it names (the current one or one listed
  in ``AMPARO_OLD_MASTER_KEYS``) and wrapped again under the current ``AMPARO_MASTER_KEY``.
* index key: a new index key; every blind index is recomputed. Until the end, look-ups can use
  `crypto.blind_index_candidates()` to match indexes under the previous key too.

Blind-index registry: a model that keeps blind indexes says how to compute them in a class attribute,
``BLIND_INDEXES = {"phone_index": lambda person: normalise.phone(person.phone)}``, each function giving
the normalised value ("" for no index). Core finds them through `apps.get_models()`, so it imports no app.

Each rotation writes one `CoreAudit.KEYS_ROTATE` entry naming the models it went through.

One registry of encrypted data (`inventory()`): every place that holds encrypted data is found here, so
that a rotation cannot skip one. Encrypted fields are discovered (`EncryptedTextField`); data sealed under
the field data key outside such a field (intake attachments) is registered with `register_sealed_blobs`
and re-encrypted by the data-key rotation; keys of their own wrapped by the master key (evidence files,
sync pieces) are registered with `register_master_rewrap` and re-wrapped by the master-key rotation. A
test checks that every binary column of every model is in the inventory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models, transaction
from django.db.models import ExpressionWrapper, F, TextField
from django.utils import timezone

from amparo.core import audit, crypto
from amparo.core.audit import CoreAudit
from amparo.core.fields import EncryptedTextField, stored_value
from amparo.core.models import DataKey
from amparo.lib import envelope

ACTOR = audit.Actor.system("rotate_keys")
BATCH_SIZE = 500

Progress = Callable[[int], None]
IndexFunction = Callable[[Any], str]


class KeyRotationError(Exception):
    """A rotation cannot go on; the message says what to do. Nothing unsafe was left behind."""


@dataclass
class RotationReport:
    kind: str  # "data-key", "master-key" or "index-key"
    key: str  # the new data key's id, or the new master key's fingerprint
    # Model label -> values re-encrypted, indexes recomputed or data keys re-wrapped.
    models: dict[str, int] = field(default_factory=dict)
    retired_keys: list[int] = field(default_factory=list)
    audit_entry: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "models": self.models,
            "retired_keys": self.retired_keys,
            "audit_entry": self.audit_entry,
        }


# --- Discovery -------------------------------------------------------------------------------------


def _concrete_models() -> Iterator[type[models.Model]]:
    for model in apps.get_models():
        if not model._meta.proxy and model._meta.managed:
            yield model


def encrypted_models() -> list[tuple[type[models.Model], list[EncryptedTextField]]]:
    """Every model with encrypted columns of its own (a child model does not repeat its parent's)."""
    found = []
    for model in _concrete_models():
        fields = [f for f in model._meta.local_concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found


def blind_index_functions(model: type[models.Model]) -> dict[str, IndexFunction]:
    """A model's BLIND_INDEXES, checked: every name must be a concrete text field of the model."""
    declared = getattr(model, "BLIND_INDEXES", None) or {}
    for name, function in declared.items():
        try:
            target = model._meta.get_field(name)
        except FieldDoesNotExist:
            raise ImproperlyConfigured(
                f"{model._meta.label}.BLIND_INDEXES names {name!r}, which is not a field"
            ) from None
        if not isinstance(target, models.CharField | models.TextField) or isinstance(
            target, EncryptedTextField
        ):
            raise ImproperlyConfigured(
                f"{model._meta.label}.BLIND_INDEXES: {name!r} must be a plain text field"
            )
        if not callable(function):
            raise ImproperlyConfigured(
                f"{model._meta.label}.BLIND_INDEXES[{name!r}] must be a function of the instance"
            )
    return dict(declared)


def indexed_models() -> list[tuple[type[models.Model], dict[str, IndexFunction]]]:
    return [(m, f) for m in _concrete_models() if (f := blind_index_functions(m))]


def set_blind_indexes(instance: models.Model) -> list[str]:
    """Compute every blind index of `instance` under the active index key; returns the fields set.

    Call it inside the transaction that saves the instance (see `crypto.blind_index`)."""
    functions = blind_index_functions(type(instance))
    for name, function in functions.items():
        setattr(instance, name, crypto.blind_index(function(instance)))
    return list(functions)


# --- Sealed blobs: data sealed under the field key outside an EncryptedTextField ----------------------


@dataclass(frozen=True)
class SealedBlobs:
    """Rows of `model` whose `data_field` holds `envelope.seal(field key, data, aad(row))`, with the data
    key's id in `key_field`."""

    model: type[models.Model]
    data_field: str
    key_field: str
    aad: Callable[[Any], bytes]

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


_sealed_blobs: dict[str, SealedBlobs] = {}


@dataclass(frozen=True)
class EncryptedText:
    """A column of another library's model holding `crypto.encrypt_bytes(data, aad(row))` (TOTP secrets)."""

    model: type[models.Model]
    field: str
    aad: Callable[[Any], str]

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


_encrypted_text: dict[str, EncryptedText] = {}


def register_encrypted_text(column: EncryptedText) -> None:
    _encrypted_text[f"{column.label}.{column.field}"] = column


def _reencrypt_text(column: EncryptedText, new_pk: int, batch_size: int, progress: Progress | None) -> int:
    manager = column.model._base_manager

    def reencrypt(row: Any) -> int:
        stored = getattr(row, column.field)
        if not stored or crypto.key_of(stored) == new_pk:
            return 0
        plain = crypto.decrypt_bytes(stored, column.aad(row))
        manager.filter(pk=row.pk).update(**{column.field: crypto.encrypt_bytes(plain, column.aad(row))})
        return 1

    return _walk_rows(column.model, DataKey.Purpose.FIELD, new_pk, batch_size, progress, reencrypt)


def _walk_rows(
    model: type[models.Model],
    purpose: str,
    new_pk: int,
    batch_size: int,
    progress: Progress | None,
    handle: Callable[[Any], int],
) -> int:
    """Call `handle(row)` on every row of `model`, a locked batch per transaction, while the new key of
    `purpose` stays active; returns the sum of what `handle` returned (values changed)."""
    manager = model._base_manager
    changed_total = 0
    last = None
    while True:
        with transaction.atomic():
            _still_active(purpose, new_pk)
            qs = manager.select_for_update().order_by("pk")
            if last is not None:
                qs = qs.filter(pk__gt=last)
            rows = list(qs[:batch_size])
            if not rows:
                return changed_total
            changed_total += sum(handle(row) for row in rows)
            last = rows[-1].pk
        if progress:
            progress(len(rows))


def register_sealed_blobs(blobs: SealedBlobs) -> None:
    """Called from the owning app's AppConfig.ready(): the data-key rotation re-encrypts these rows."""
    _sealed_blobs[blobs.label] = blobs


def sealed_blobs() -> list[SealedBlobs]:
    return list(_sealed_blobs.values())


def inventory() -> dict[str, list[str]]:
    """Every place holding encrypted data, by how it is rotated: model labels (and fields)."""
    return {
        "fields": [f"{m._meta.label_lower}.{f.name}" for m, fields in encrypted_models() for f in fields]
        + list(_encrypted_text),
        "sealed": [f"{b.label}.{b.data_field}" for b in sealed_blobs()],
        "master_wrapped": [DataKey._meta.label_lower, *_master_rewraps],
    }


def _reseal_blobs(blobs: SealedBlobs, new_pk: int, batch_size: int, progress: Progress | None) -> int:
    new_key = crypto.data_key(new_pk)
    manager = blobs.model._base_manager
    done = 0
    while True:
        with transaction.atomic():
            _still_active(DataKey.Purpose.FIELD, new_pk)
            rows = list(
                manager.select_for_update()
                .exclude(**{blobs.key_field: new_pk})
                .order_by("pk")
                .only("pk", blobs.data_field, blobs.key_field)[:batch_size]
            )
            if not rows:
                return done
            for row in rows:
                aad = blobs.aad(row)
                try:
                    plain = envelope.open_sealed(
                        crypto.data_key(getattr(row, blobs.key_field)),
                        bytes(getattr(row, blobs.data_field)),
                        aad,
                    )
                except envelope.DecryptionError:
                    raise crypto.IntegrityAlarm(f"{blobs.label} {row.pk} failed authentication") from None
                manager.filter(pk=row.pk).update(
                    **{blobs.data_field: envelope.seal(new_key, plain, aad), blobs.key_field: new_pk}
                )
            done += len(rows)
        if progress:
            progress(len(rows))


# --- Helpers ---------------------------------------------------------------------------------------


def _count(model_list: list[type[models.Model]]) -> int:
    return sum(m._base_manager.count() for m in model_list)


def _still_active(purpose: str, key_pk: int) -> None:
    if not DataKey.objects.filter(pk=key_pk, purpose=purpose, active=True).exists():
        raise KeyRotationError(
            f"another {purpose} key rotation started while this one ran (key {key_pk} is no longer active); "
            "let it finish, then run `amparo rotate_keys` again"
        )


def _retire(purpose: str, keep: int) -> list[int]:
    stale = DataKey.objects.filter(purpose=purpose, retired_at__isnull=True).exclude(pk=keep)
    retired = sorted(stale.values_list("pk", flat=True))
    stale.update(active=False, retired_at=timezone.now())
    return retired


# --- Data key --------------------------------------------------------------------------------------


def rotate_data_key(*, batch_size: int = BATCH_SIZE, progress: Progress | None = None) -> RotationReport:
    """Create a new field key and re-encrypt every encrypted value under it."""
    targets = encrypted_models()
    new = crypto.create_data_key(DataKey.Purpose.FIELD)
    report = RotationReport(kind="data-key", key=str(new.pk))
    for model, fields in targets:
        report.models[model._meta.label_lower] = _reencrypt_model(model, fields, new.pk, batch_size, progress)
    for blobs in sealed_blobs():
        report.models[blobs.label] = report.models.get(blobs.label, 0) + _reseal_blobs(
            blobs, new.pk, batch_size, progress
        )
    for column in _encrypted_text.values():
        report.models[column.label] = report.models.get(column.label, 0) + _reencrypt_text(
            column, new.pk, batch_size, progress
        )
    with transaction.atomic():
        _still_active(DataKey.Purpose.FIELD, new.pk)
        report.retired_keys = _retire(DataKey.Purpose.FIELD, keep=new.pk)
        entry = audit.record(ACTOR, CoreAudit.KEYS_ROTATE, ("core.datakey", new.pk), list(report.models))
    report.audit_entry = entry.pk
    return report


def _reencrypt_model(
    model: type[models.Model],
    fields: list[EncryptedTextField],
    new_pk: int,
    batch_size: int,
    progress: Progress | None,
) -> int:
    # Read the stored text as it is (no decryption on load) to see which key each value is under.
    raw = {f"_raw_{f.attname}": ExpressionWrapper(F(f.attname), output_field=TextField()) for f in fields}
    manager = model._base_manager
    changed_total = 0
    last = None
    while True:
        with transaction.atomic():
            _still_active(DataKey.Purpose.FIELD, new_pk)
            qs = manager.select_for_update().order_by("pk").annotate(**raw)
            if last is not None:
                qs = qs.filter(pk__gt=last)
            rows = list(qs.values_list("pk", *raw)[:batch_size])
            if not rows:
                return changed_total
            for pk, *stored in rows:
                changes = {}
                for f, value in zip(fields, stored, strict=True):
                    if not value:
                        continue
                    try:
                        if crypto.key_of(value) != new_pk:
                            # Re-encrypted under the active key (the new one), bound to its row.
                            changes[f.attname] = stored_value(f, pk, crypto.decrypt_row(value, f.aad, pk))
                    except crypto.IntegrityAlarm as exc:
                        raise crypto.IntegrityAlarm(f"{f.aad} of row {pk}: {exc}") from None
                if changes:
                    manager.filter(pk=pk).update(**changes)
                    changed_total += len(changes)
            last = rows[-1][0]
        if progress:
            progress(len(rows))


# --- Master key ------------------------------------------------------------------------------------


# Other apps keep keys of their own wrapped by the master key (the evidence vault wraps one key per
# file). They register a function that re-wraps them; rotate_master_key calls each after the data keys.
MasterRewrap = Callable[[], int]
_master_rewraps: dict[str, MasterRewrap] = {}


def register_master_rewrap(label: str, rewrap: MasterRewrap) -> None:
    """Register `rewrap()` (returns how many keys it re-wrapped) under a model label such as
    'evidence.evidenceitem'. Called from the owning app's AppConfig.ready()."""
    _master_rewraps[label] = rewrap


def rotate_master_key() -> RotationReport:
    """Re-wrap every data key under the current AMPARO_MASTER_KEY (all or nothing), then every key
    other apps registered with `register_master_rewrap` (each resumable on its own)."""
    crypto.clear_cache()
    masters = crypto.master_keys()
    current = crypto.current_master_id()
    report = RotationReport(kind="master-key", key=current)
    with transaction.atomic():
        keys = list(DataKey.objects.select_for_update().order_by("pk"))
        missing = sorted({dk.master_key_id for dk in keys if dk.master_key_id not in masters})
        if missing:
            which = ", ".join(str(dk.pk) for dk in keys if dk.master_key_id in missing)
            raise KeyRotationError(
                f"data key(s) {which} are wrapped by master key {', '.join(missing)}, which is neither "
                "AMPARO_MASTER_KEY nor listed in AMPARO_OLD_MASTER_KEYS. Nothing was changed. Put the previous "
                "master key (base64) in AMPARO_OLD_MASTER_KEYS, keep the new one in AMPARO_MASTER_KEY, and run "
                "`amparo rotate_keys --master-key` again."
            )
        rewrapped = 0
        for dk in keys:
            if dk.master_key_id == current:
                continue
            try:
                raw = envelope.unwrap_key(masters[dk.master_key_id], bytes(dk.wrapped))
            except envelope.DecryptionError:
                raise KeyRotationError(
                    f"data key {dk.pk} failed authentication under master key {dk.master_key_id}: the stored key "
                    "was altered. Nothing was changed; restore core_datakey from a backup."
                ) from None
            DataKey.objects.filter(pk=dk.pk).update(
                wrapped=envelope.wrap_key(settings.AMPARO_MASTER_KEY, raw), master_key_id=current
            )
            rewrapped += 1
        report.models = {DataKey._meta.label_lower: rewrapped}
        entry = audit.record(
            ACTOR,
            CoreAudit.KEYS_ROTATE,
            ("core.masterkey", current),
            [DataKey._meta.label_lower] if rewrapped else [],
        )
    report.audit_entry = entry.pk
    crypto.clear_cache()
    for label, rewrap in _master_rewraps.items():
        report.models[label] = rewrap()
    return report


# --- Index key -------------------------------------------------------------------------------------


def rotate_index_key(*, batch_size: int = BATCH_SIZE, progress: Progress | None = None) -> RotationReport:
    """Create a new index key and recompute every registered blind index under it."""
    targets = indexed_models()
    with transaction.atomic():
        # Wait for transactions computing indexes under the old key to finish; later ones see the new key.
        crypto.lock_index_key(exclusive=True)
        new = crypto.create_data_key(DataKey.Purpose.INDEX)
    new_key = crypto.data_key(new.pk)
    report = RotationReport(kind="index-key", key=str(new.pk))
    for model, functions in targets:
        report.models[model._meta.label_lower] = _reindex_model(
            model, functions, new.pk, new_key, batch_size, progress
        )
    with transaction.atomic():
        _still_active(DataKey.Purpose.INDEX, new.pk)
        report.retired_keys = _retire(DataKey.Purpose.INDEX, keep=new.pk)
        entry = audit.record(ACTOR, CoreAudit.KEYS_ROTATE, ("core.datakey", new.pk), list(report.models))
    report.audit_entry = entry.pk
    return report


def _reindex_model(
    model: type[models.Model],
    functions: dict[str, IndexFunction],
    new_pk: int,
    new_key: bytes,
    batch_size: int,
    progress: Progress | None,
) -> int:
    manager = model._base_manager

    def reindex(obj: Any) -> int:
        changes = {}
        for name, function in functions.items():
            normalised = function(obj)
            value = envelope.blind_index(new_key, normalised) if normalised else ""
            if getattr(obj, name) != value:
                changes[name] = value
        if changes:
            manager.filter(pk=obj.pk).update(**changes)
        return len(changes)

    return _walk_rows(model, DataKey.Purpose.INDEX, new_pk, batch_size, progress, reindex)


def total_rows(kind: str) -> int:
    """Rows a rotation will walk through (for progress bars)."""
    if kind == "data-key":
        return _count(
            [m for m, _ in encrypted_models()]
            + [b.model for b in sealed_blobs()]
            + [c.model for c in _encrypted_text.values()]
        )
    if kind == "index-key":
        return _count([m for m, _ in indexed_models()])
    return DataKey.objects.count()
