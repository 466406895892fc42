"""Heavy reads on a PostgreSQL streaming replica (`DATABASE_REPLICA_URL`, decision 0021).

With a replica configured, the observatory's dashboards, exports, bulletin and snapshot refresh read
from it; every write, and every read anywhere else, goes to the primary, so what a user just changed is
read back from where it was written. The choice is explicit: code runs its reads on the replica only
inside `replica_reads()` (or a view the `ReplicaReadsMiddleware` marks: GET and HEAD requests of the
namespaces in `REPLICA_NAMESPACES`). Sign-in state never comes from the replica (sessions, users, TOTP
devices, lock-outs), since a replica may lag a second behind.

Without a replica, `replica_reads()` changes nothing: there is no router.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

REPLICA = "replica"
REPLICA_NAMESPACES = {"observatory"}
# Never read from a replica: what decides who is signed in and what they may do.
PRIMARY_ONLY_APPS = {"sessions", "auth", "contenttypes", "otp_totp", "django_otp", "axes", "admin"}
PRIMARY_ONLY_MODELS = {"core.user", "core.apitoken"}

_reads_on_replica: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "amparo_replica_reads", default=False
)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    token = _reads_on_replica.set(True)
    try:
        yield
    finally:
        _reads_on_replica.reset(token)


def on_replica(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run `func`'s reads on the replica (a periodic job such as the snapshot refresh)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with replica_reads():
            return func(*args, **kwargs)

    return wrapper


class ReplicaRouter:
    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if not _reads_on_replica.get() or not replica_configured():
            return "default"
        if model._meta.app_label in PRIMARY_ONLY_APPS or model._meta.label_lower in PRIMARY_ONLY_MODELS:
            return "default"
        return REPLICA

    def db_for_write(self, model: type, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == "default"


class ReplicaReadsMiddleware:
    """GET and HEAD requests to the replica namespaces read from the replica (when one is configured)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in {"GET", "HEAD"} and replica_configured():
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None and set(match.namespaces) & REPLICA_NAMESPACES:
                with replica_reads():
                    return self.get_response(request)
        return self.get_response(request)
