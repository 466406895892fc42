"""GSM 03.38 text: which encoding a message needs, how many SMS parts it takes, and folding text so
that a USSD screen or an SMS stays in the 7-bit alphabet.

A GSM-7 message holds 160 characters in one part or 153 per part when concatenated; characters of the
extension table (`{ } [ ] ~ \\ | ^ €` and form feed) count twice. Anything outside the alphabet forces
UCS-2: 70 characters in one part, 67 per part, counted in UTF-16 code units (an emoji counts two).
Plain Python, no Django.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from amparo.lib import typography

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67
USSD_SCREEN_MAX = 182

# Typographic characters writers (and translators) use, with their 7-bit equivalents.
_PUNCTUATION = {
    **typography.PLAIN,
    "\u00ab": '"',
    "\u00bb": '"',
    "\u00ba": "o",
    "\u00aa": "a",
}


@dataclass(frozen=True)
class Segmentation:
    encoding: str  # "gsm7" or "ucs2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def segment(text: str) -> Segmentation:
    """How `text` travels: its encoding, its length in units, and the number of SMS parts."""
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, multi, encoding = GSM7_SINGLE, GSM7_MULTI, "gsm7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = UCS2_SINGLE, UCS2_MULTI, "ucs2"
    parts = 1 if units <= single else math.ceil(units / multi)
    return Segmentation(encoding, units, parts)


def fold(text: str) -> str:
    """Text in the GSM-7 alphabet: accents dropped where GSM-7 lacks the letter ('ç' -> 'c', 'ã' -> 'a'),
    typographic punctuation replaced, anything else unrepresentable replaced by '?'."""
    out: list[str] = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
            out.append(ch)
            continue
        if ch in _PUNCTUATION:
            out.append(_PUNCTUATION[ch])
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base and all(c in GSM7_BASIC for c in base):
            out.append(base)
        elif unicodedata.category(ch) in {"Cc", "Cf", "Mn"}:
            continue
        else:
            out.append("?")
    return "".join(out)


def fold_ussd(text: str) -> str:
    """A USSD screen: folded to plain 7-bit-safe letters (handsets render accents poorly) and cut to
    182 characters. Folding also drops the accented letters GSM-7 does have, for the widest support."""
    base = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    folded = fold(base)
    return truncate_chars(folded, USSD_SCREEN_MAX)


def truncate_chars(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 3].rstrip() + "..."


def fit(text: str, max_parts: int = 3) -> str:
    """`text` shortened (ending in '...') so that it fits in `max_parts` SMS parts, keeping its encoding
    when possible."""
    if segment(text).parts <= max_parts:
        return text
    seg = segment(text)
    budget = (GSM7_MULTI if seg.encoding == "gsm7" else UCS2_MULTI) * max_parts - 3
    out: list[str] = []
    used = 0
    for ch in text:
        cost = (
            (2 if ch in GSM7_EXTENSION else 1) if seg.encoding == "gsm7" else len(ch.encode("utf-16-le")) // 2
        )
        if used + cost > budget:
            break
        out.append(ch)
        used += cost
    return "".join(out).rstrip() + "..."
