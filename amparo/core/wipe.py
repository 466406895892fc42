"""What a revoked district node erases besides its cases: each app that keeps records or files outside the
cases tables registers a hook from its AppConfig.ready() (core imports none of them). The sync app runs
every hook inside the one transaction of its wipe (`amparo.sync.actions.wipe_local_data`)."""

from __future__ import annotations

from collections.abc import Callable

WipeHook = Callable[[], dict[str, int]]  # erases, returns what it erased by model label

_hooks: list[WipeHook] = []


def register_wipe_hook(hook: WipeHook) -> None:
    if hook not in _hooks:
        _hooks.append(hook)


def wipe_hooks() -> list[WipeHook]:
    return list(_hooks)
