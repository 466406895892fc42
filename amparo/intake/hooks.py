"""Where higher apps plug into the SMS conversation and the USSD menu (intake imports none of them).

Apps register from their AppConfig.ready():

- `register_sms_keyword(words, handler)`: `handler(ctx)` is called, before the report conversation,
  for a message whose first word (accents folded, upper case, punctuation and emoji ignored) is one
  of `words`. It returns an
  `SmsHookReply` to answer the message itself, or None to let the report conversation handle it.
- `register_sms_pending(handler)`: called for any other message while the report conversation is
  idle, so that an app can finish a short exchange it started (a question it asked). None passes.
- `register_ussd_entry(key, label, handler)`: adds a top-level option to the USSD menu (after the
  built-in ones). `handler(ctx)` is called with `ctx.text` None when the option is chosen and then
  with each new input; it returns a `UssdHookScreen` whose `state` is kept for the next call and
  whose `end` closes the session.

Handlers run inside the transaction that stores the inbound message or the USSD session, in the
conversation's language (translation is active), and must not keep the phone number unless they
need it (encrypted, with a blind index).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SmsContext",
    "SmsHookReply",
    "UssdContext",
    "UssdHookScreen",
    "handle_sms",
    "register_sms_keyword",
    "register_sms_pending",
    "register_ussd_entry",
    "ussd_entries",
]


@dataclass(frozen=True)
class SmsContext:
    channel: Any
    phone: str  # as the provider sent it
    phone_norm: str  # normalised digits (for blind indexes)
    text: str
    words: tuple[str, ...]  # keyword form: accents folded, upper case
    language: str  # the report conversation's language
    conversation_idle: bool
    actor: Any


@dataclass(frozen=True)
class SmsHookReply:
    reply: str
    end_conversation: bool = False  # also reset a report conversation in progress


@dataclass(frozen=True)
class UssdContext:
    channel: Any
    phone: str
    language: str
    text: str | None  # None when the option has just been chosen
    state: dict[str, Any]
    actor: Any


@dataclass(frozen=True)
class UssdHookScreen:
    text: str  # without the CON/END prefix
    end: bool = False
    state: dict[str, Any] = field(default_factory=dict)


SmsHandler = Callable[[SmsContext], SmsHookReply | None]
UssdHandler = Callable[[UssdContext], UssdHookScreen]


@dataclass(frozen=True)
class UssdEntry:
    key: str
    label: Any  # a lazy translation, shown in the session's language
    handler: UssdHandler


_WORD = re.compile(r"[^\W_]+")
_sms_keywords: dict[str, SmsHandler] = {}
_sms_pending: list[SmsHandler] = []
_ussd_entries: dict[str, UssdEntry] = {}


def register_sms_keyword(words: Iterable[str], handler: SmsHandler) -> None:
    for word in words:
        existing = _sms_keywords.get(word)
        if existing is not None and existing is not handler:
            raise ValueError(f"the SMS keyword {word!r} already has a handler")
        _sms_keywords[word] = handler


def register_sms_pending(handler: SmsHandler) -> None:
    if handler not in _sms_pending:
        _sms_pending.append(handler)


def register_ussd_entry(key: str, label: Any, handler: UssdHandler) -> None:
    _ussd_entries[key] = UssdEntry(key, label, handler)


def ussd_entries() -> list[UssdEntry]:
    return list(_ussd_entries.values())


def ussd_entry(key: str) -> UssdEntry | None:
    return _ussd_entries.get(key)


def handle_sms(ctx: SmsContext) -> SmsHookReply | None:
    """The reply of the handler that claims this message, or None for the report conversation.
    The keyword is the message's first word, ignoring punctuation and emoji before or after it."""
    found = _WORD.findall(" ".join(ctx.words))
    head = found[0] if found else ""
    handler = _sms_keywords.get(head)
    if handler is not None:
        answer = handler(ctx)
        if answer is not None:
            return answer
    if ctx.conversation_idle:
        for pending in _sms_pending:
            answer = pending(ctx)
            if answer is not None:
                return answer
    return None
