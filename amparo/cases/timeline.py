"""The case timeline: everything that happened to a case, in time order, from every source.

Sources register a function (user, case, sections) -> iterable of Entry. The cases app registers its
own (reports, transitions, notes, referrals, consent, interviews, justice events, services, rights
deliveries, relations); apps above it (intake: reporter messages; evidence: items and custody) register
theirs from AppConfig.ready(). A source must leave out what `sections` (amparo.cases.visibility) hides,
and mark entries whose text may identify someone (`identifying=True`), which the page shows only to
identity roles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from amparo.cases.models import Case


@dataclass(frozen=True)
class Entry:
    at: dt.datetime
    kind: str  # a short code used for the icon/CSS class, e.g. "transition", "referral", "message"
    title: str  # already translated, no personal data
    detail: str = ""  # may be free text; hidden unless the reader may see identity when identifying=True
    actor: str = ""  # username or agency short name
    url: str = ""
    identifying: bool = False


Source = Callable[[Any, Case, frozenset[str]], Iterable[Entry]]
_sources: list[Source] = []


def register_timeline_source(source: Source) -> None:
    if source not in _sources:
        _sources.append(source)


def timeline(user: Any, case: Case, sections: frozenset[str]) -> list[Entry]:
    entries = [entry for source in _sources for entry in source(user, case, sections)]
    return sorted(entries, key=lambda e: e.at)
