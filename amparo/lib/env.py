"""Strict readers of environment variables.

Each reader fails loudly on a value it cannot understand instead of guessing, and
each secret can also be given as a file (``NAME_FILE``) so that it need not sit in
the process environment.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(Exception):
    """A setting in the environment is missing or malformed."""


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get(name, default)


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}.")


def env_int(
    name: str, default: int, *, minimum: int | None = None, environ: Mapping[str, str] | None = None
) -> int:
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number; got {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}; got {value}.")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Return the secret in ``NAME`` or in the file named by ``NAME_FILE``; None if neither is set."""
    environ = os.environ if environ is None else environ
    value = environ.get(name)
    path = environ.get(f"{name}_FILE")
    if value and path:
        raise ConfigError(f"Set either {name} or {name}_FILE, not both.")
    if value:
        return value.strip()
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE names {path!r}, which cannot be read: {exc.strerror}.") from None
    return None


def decode_key(name: str, value: str, length: int = 32) -> bytes:
    """Decode a base64 key and check its length."""
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f'{name} must be base64; generate one with: python -c "import base64, os; print(base64.b64encode(os.urandom({length})).decode())"'
        ) from None
    if len(key) != length:
        raise ConfigError(f"{name} must decode to {length} bytes; it decodes to {len(key)}.")
    return key


def env_phone_number(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """A number people dial (a short code such as 116, or a full number): digits, with an optional
    leading +. Spaces are allowed for reading and dropped."""
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().replace(" ", "")
    digits = value[1:] if value.startswith("+") else value
    if not digits.isdigit() or not 2 <= len(digits) <= 15:
        raise ConfigError(
            f"{name} must be a number to dial (digits, optionally with a leading +); got {raw!r}."
        )
    return value


def env_url(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """An absolute http(s) address."""
    environ = os.environ if environ is None else environ
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    if not value.startswith(("https://", "http://")) or len(value) < 12 or any(c.isspace() for c in value):
        raise ConfigError(
            f"{name} must be an absolute address starting with https:// or http://; got {raw!r}."
        )
    return value
