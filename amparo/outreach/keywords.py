"""The keywords of the SMS campaigns, tolerant of case, accents, punctuation and emoji (no Django).

`parse(text)` answers what a message asks for:

- `APRENDER` / `LEARN` (optionally followed by a language, `APRENDER EN`, `LEARN PORTUGUES`) subscribes;
  the language defaults to the keyword's own (Portuguese for `APRENDER`, English for `LEARN`);
- `PARAR` / `STOP` (alone, or with one more word: `STOP PLEASE`) unsubscribes.

Anything else, including a keyword inside a longer sentence, is not a command.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from amparo.intake.sms import LANGUAGE_KEYWORDS

SUBSCRIBE_WORDS = {"APRENDER": "pt", "APRENDA": "pt", "LEARN": "en"}
STOP_WORDS = frozenset({"PARAR", "STOP", "SAIR", "CANCELAR", "UNSUBSCRIBE"})
# The same language words as the SMS report conversation.
LANGUAGE_WORDS = LANGUAGE_KEYWORDS
_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Command:
    kind: str  # "subscribe" or "stop"
    language: str = ""


def fold(text: str) -> str:
    """Upper case with accents removed ("Aprénder" -> "APRENDER")."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


def tokens(text: str) -> list[str]:
    """The words and numbers of a message, folded; punctuation, symbols and emoji are dropped."""
    return _TOKEN.findall(fold(text))


def parse(text: str) -> Command | None:
    words = tokens(text)
    if not words or len(words) > 2:
        return None
    head = words[0]
    if head in STOP_WORDS:
        return Command("stop")
    if head in SUBSCRIBE_WORDS:
        if len(words) == 1:
            return Command("subscribe", SUBSCRIBE_WORDS[head])
        language = LANGUAGE_WORDS.get(words[1])
        return Command("subscribe", language) if language else None
    return None


def language_word(text: str) -> str | None:
    """The language a message names on its own ("EN", "Português"), or None."""
    words = tokens(text)
    return LANGUAGE_WORDS.get(words[0]) if len(words) == 1 else None


def number(text: str) -> int | None:
    """A number sent on its own ("2", " 2. ", "2)"), or None."""
    words = tokens(text)
    if len(words) != 1 or not words[0].isascii() or not words[0].isdigit() or len(words[0]) > 2:
        return None
    return int(words[0])
