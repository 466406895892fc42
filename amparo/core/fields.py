"""Model fields for identifying data."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldError
from django.db import connections, models, router
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_save, pre_save

from amparo.core import crypto


class _Stored(str):
    """A value already in stored form, sealed for its row: `get_prep_value` passes it through."""

    __slots__ = ()


class _Loaded(str):
    """Stored text as read from the database: decrypted on first access, once the row's key is known."""

    __slots__ = ()


class EncryptedAttribute(DeferredAttribute):
    """Reads decrypt with the row's primary key as part of the associated data (a value moved to another
    row fails to open); `from_db_value` cannot do it, as it does not see the row."""

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, _Loaded):
            value = crypto.decrypt_row(str(value), self.field.aad, instance.pk)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


_UNBOUND = "_amparo_encrypted_after_insert"


def _key_before_insert(
    sender: Any, instance: Any, raw: bool = False, using: str | None = None, **kwargs: Any
) -> None:
    """On PostgreSQL a new row whose key the database assigns takes that key from its sequence before the
    insert, so that its encrypted values are bound to the row in the INSERT itself: append-only tables
    (custody events) refuse the UPDATE that would otherwise bind them. SQLite has no such tables and no
    sequence to ask: there the values are written right after the insert."""
    meta = sender._meta
    if raw or instance.pk is not None or meta.auto_field is None or meta.auto_field is not meta.pk:
        return
    connection = connections[using or router.db_for_write(sender, instance=instance)]
    if connection.vendor != "postgresql":
        return
    if all(instance.__dict__.get(f.attname) in (None, "") for f in encrypted_fields(sender)):
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s))", [meta.db_table, meta.pk.column])
        instance.pk = cursor.fetchone()[0]


def _bind_after_insert(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A row whose primary key the database assigns gets its encrypted values just after the insert
    (same transaction as the caller's), when the key that binds them is known."""
    pending = instance.__dict__.pop(_UNBOUND, None)
    if not pending:
        return
    fields = {f.attname: f for f in encrypted_fields(sender)}
    sender._base_manager.filter(pk=instance.pk).update(
        **{name: stored_value(fields[name], instance.pk, value) for name, value in pending.items()}
    )


class EncryptedTextField(models.TextField):
    """Text encrypted at rest (AES-256-GCM under the active field key), bound to its model, field and row.

    The database never sees the plaintext; it can only be looked up through a blind index
    kept in a separate field. Only `isnull` lookups are allowed on the ciphertext. Values are written by
    saving the instance (which knows its row), never with `QuerySet.update()` of a plain value.
    """

    description = "Encrypted text"
    descriptor_class = EncryptedAttribute

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def contribute_to_class(self, cls: Any, name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only)
        if not cls._meta.abstract:
            pre_save.connect(_key_before_insert, sender=cls, dispatch_uid=f"amparo-encrypted-key-{id(cls)}")
            post_save.connect(_bind_after_insert, sender=cls, dispatch_uid=f"amparo-encrypted-{id(cls)}")

    @property
    def aad(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None or value == "":
            return value
        if model_instance.pk is None:  # the database assigns the key (SQLite): written right after the insert
            model_instance.__dict__.setdefault(_UNBOUND, {})[self.attname] = str(value)
            return ""
        return stored_value(self, model_instance.pk, value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "" or isinstance(value, _Stored):
            return value
        raise TypeError(
            f"{self.aad} is bound to its row: write it by saving the instance, or pass "
            "fields.stored_value(field, pk, plaintext) to update()"
        )

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return _Loaded(value)

    def get_lookup(self, lookup_name: str):  # noqa: ANN201
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.aad} is encrypted: look it up through its blind index, not with '{lookup_name}'"
            )
        return super().get_lookup(lookup_name)


def stored_value(field: EncryptedTextField, pk: Any, plaintext: Any) -> str:
    """The stored form of `plaintext` for `field` of row `pk` (for `update()` in key rotation)."""
    return _Stored(crypto.encrypt_row(str(plaintext), field.aad, pk))


ENCRYPTED_FIELD_TYPES = (EncryptedTextField,)


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [f for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]
