"""Rate limits for any layer, with the storage chosen by a higher app.

    from amparo.core import ratelimit

    retry_after = ratelimit.consume("api:token", str(token.pk), rate=120, per_seconds=60)
    if retry_after:
        ...  # refuse with 429 and Retry-After: retry_after

`core` sits below `intake`, which keeps shared token buckets in the database (`amparo.intake.ratelimit`,
keyed hashes, shared by every process); intake registers them here from its `AppConfig.ready()`. Until
something is registered (a bare `core`), an in-process token bucket is used, which limits each process
on its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

# check_and_consume(scope, key, *, rate, per_seconds) -> bool: take one token, False when empty.
Backend = Callable[..., bool]

_backend: Backend | None = None


def register_backend(backend: Backend) -> None:
    """Use `backend` for every limit (intake registers its shared database buckets)."""
    global _backend  # noqa: PLW0603  (one process-wide registry, filled once at start-up)
    _backend = backend


class LocalBuckets:
    """Token buckets in this process's memory (the fallback; also handy in tests of a bare core)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def __call__(self, scope: str, key: str, *, rate: int, per_seconds: int) -> bool:
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get((scope, key), (float(rate), now))
            tokens = min(float(rate), tokens + max(now - updated, 0.0) * rate / per_seconds)
            allowed = tokens >= 1.0
            self._buckets[(scope, key)] = (tokens - 1.0 if allowed else tokens, now)
            return allowed


_local = LocalBuckets()


def consume(scope: str, key: str, *, rate: int, per_seconds: int) -> int:
    """Take one request from the bucket `(scope, key)`. 0 when allowed; otherwise the whole number of
    seconds after which one more request will be allowed (for a Retry-After header)."""
    if rate < 1 or per_seconds < 1:
        raise ValueError("rate and per_seconds must be positive")
    backend = _backend or _local
    if backend(scope, key, rate=rate, per_seconds=per_seconds):
        return 0
    return max(1, math.ceil(per_seconds / rate))
