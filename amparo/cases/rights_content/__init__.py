"""The texts of the victim rights information package, one module per language (a dict `CONTENT` each).

REQUIRES EXPERT LEGAL REVIEW before real use: the texts summarise Mozambican law (Lei n.º 7/2008 on the
promotion and protection of the rights of the child; Lei n.º 15/2012, de 14 de Agosto, on the protection of
victims, whistle-blowers, witnesses, declarants and experts in criminal proceedings; legal aid by IPAJ;
compensation in criminal proceedings) in plain words, and were written by engineers, not lawyers.

Portuguese and English are complete. Other configured languages (vmw, ts, seh, ny) fall back to Portuguese
until a translator and a lawyer review a version in that language; add `<code>.py` here with the same
keys and list it in LANGUAGES below. The numbers to call are written `{helpline}` and `{police}`: `content()`
fills in the configured ones.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from amparo.cases.rights_content import en, pt

LANGUAGES: dict[str, dict[str, Any]] = {"pt": pt.CONTENT, "en": en.CONTENT}
FALLBACK = "pt"


def content_language(language: str | None) -> str:
    """The language the package is written in for `language` ('pt-br' -> 'pt'; 'vmw' -> 'pt')."""
    code = (language or "").lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else FALLBACK


def content(language: str | None) -> dict[str, Any]:
    """The texts in `language`, with the configured numbers to call in place of `{helpline}` and
    `{police}` (AMPARO_CHILD_HELPLINE_NUMBER, AMPARO_POLICE_NUMBER)."""
    return _with_numbers(
        LANGUAGES[content_language(language)],
        {"{helpline}": settings.AMPARO_CHILD_HELPLINE_NUMBER, "{police}": settings.AMPARO_POLICE_NUMBER},
    )


def _with_numbers(value: Any, numbers: dict[str, str]) -> Any:
    if isinstance(value, str):
        for token, number in numbers.items():
            value = value.replace(token, number)
        return value
    if isinstance(value, dict):
        return {key: _with_numbers(item, numbers) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_with_numbers(item, numbers) for item in value)
    return value
