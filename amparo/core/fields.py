"""Model fields for identifying data."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldError
from django.db import models

from amparo.core import crypto


class EncryptedTextField(models.TextField):
    """Text encrypted at rest (AES-256-GCM under the active field key).

    The database never sees the plaintext; it can only be looked up through a blind index
    kept in a separate field. Only `isnull` lookups are allowed on the ciphertext.
    """

    description = "Encrypted text"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    @property
    def aad(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value), self.aad)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return crypto.decrypt(value, self.aad)

    def get_lookup(self, lookup_name: str):  # noqa: ANN201
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.aad} is encrypted: look it up through its blind index, not with '{lookup_name}'"
            )
        return super().get_lookup(lookup_name)


ENCRYPTED_FIELD_TYPES = (EncryptedTextField,)


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [f for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]
