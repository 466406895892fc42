"""Normalisation of identifiers before they are blind-indexed, so that trivially different
spellings of the same phone number or name match."""

from __future__ import annotations

import re
import unicodedata

_NON_DIGIT = re.compile(r"\D+")
_SPACES = re.compile(r"\s+")


def phone(value: str, country_code: str = "258") -> str:
    """Digits in international form: '+258 84 123 4567', '00258841234567' and '841234567' are one number."""
    digits = _NON_DIGIT.sub("", value or "")
    if digits.startswith("00"):
        digits = digits[2:]
    if len(digits) == 9 and digits[0] in "28":  # a Mozambican national number (mobile 8x, fixed 2x)
        digits = country_code + digits
    return digits


def name(value: str) -> str:
    """Case-folded, accents removed, single spaces: 'Ana  Mária' and 'ana maria' are one name."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def name_and_birth_year(value: str, birth_year: int | None) -> str:
    return f"{name(value)}|{birth_year or ''}"
