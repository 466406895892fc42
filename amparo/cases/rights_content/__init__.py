"""The texts of the victim rights information package, one module per language (a dict `CONTENT` each).

REQUIRES EXPERT LEGAL REVIEW before real use: the texts summarise Mozambican law (Lei n.º 7/2008 on the
promotion and protection of the rights of the child; Lei n.º 15/2012, de 14 de Agosto, on the protection of
victims, whistle-blowers, witnesses, declarants and experts in criminal proceedings; legal aid by IPAJ;
compensation in criminal proceedings) in plain words, and were written by engineers, not lawyers.

Portuguese and English are complete. Other configured languages (vmw, ts, seh, ny) fall back to Portuguese
until a translator and a lawyer review a version in that language; add `<code>.py` here with the same
keys and list it in LANGUAGES below.
"""

from __future__ import annotations

from typing import Any

from amparo.cases.rights_content import en, pt

LANGUAGES: dict[str, dict[str, Any]] = {"pt": pt.CONTENT, "en": en.CONTENT}
FALLBACK = "pt"


def content_language(language: str | None) -> str:
    """The language the package is written in for `language` ('pt-br' -> 'pt'; 'vmw' -> 'pt')."""
    code = (language or "").lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else FALLBACK


def content(language: str | None) -> dict[str, Any]:
    return LANGUAGES[content_language(language)]
