"""Sections of the case page contributed by the case-work modules (services, justice, rights, relations).

Each module registers a Panel from its views module; the case page renders the panels the user may see,
in `order`, each with its own template and context. A panel's `context(request, case, sections)` returns
None to hide itself (for instance when its ShareableField is not in `sections`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from amparo.cases.models import Case


@dataclass(frozen=True)
class Panel:
    key: str
    order: int
    template: str
    context: Callable[[HttpRequest, Case, frozenset[str]], dict[str, Any] | None]


_panels: dict[str, Panel] = {}


def register_panel(panel: Panel) -> None:
    _panels[panel.key] = panel


def panels() -> list[Panel]:
    return sorted(_panels.values(), key=lambda p: (p.order, p.key))
