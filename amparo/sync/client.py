"""The district node's side: push local changes, then pull national ones, over signed requests.

`sync_once()` is what `amparo sync` and the worker's periodic job run. Every request is retried with
back-off when the network fails; a batch whose answer was lost is sent again (applying it twice changes
nothing). A revoked node erases its case data on first contact, reports that it did, and forgets its key.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import httpx
from django.db import transaction
from django.utils import timezone

from amparo.sync import actions, changes, files, protocol
from amparo.sync.models import Conflict, NodeState

RETRIES = 6
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class Revoked(Exception):
    """The national server says this node's credential was revoked."""


class SyncFailed(Exception):
    """The server could not be reached or refused the batch; the message says what to do."""


class Transport(Protocol):
    def post(self, url: str, content: bytes, headers: dict[str, str]) -> tuple[int, bytes]: ...


class HttpTransport:
    def __init__(self) -> None:
        self.client = httpx.Client(timeout=TIMEOUT, follow_redirects=False)

    def post(self, url: str, content: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        response = self.client.post(url, content=content, headers=headers)
        return response.status_code, response.content


@dataclass
class SyncReport:
    pushed_entries: int = 0
    pushed_changes: int = 0
    conflicts: int = 0
    pulled_objects: int = 0
    files_sent: int = 0
    file_bytes: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    retries: int = 0
    wiped: bool = False
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Client:
    def __init__(
        self, node_state: NodeState, transport: Transport | None = None, sleep: Any = time.sleep
    ) -> None:
        self.state = node_state
        self.transport = transport or HttpTransport()
        self.sleep = sleep
        self.report = SyncReport()

    def call(self, path: str, payload: Any) -> Any:
        body = protocol.encode_body(payload)
        url = self.state.upstream + path
        delay = 0.5
        for attempt in range(RETRIES):
            signed = protocol.sign(str(self.state.node_id), self.state.private_key, "POST", path, body)
            headers = {**signed.headers(), "Content-Type": protocol.CONTENT_TYPE}
            try:
                status, content = self.transport.post(url, body, headers)
            except httpx.HTTPError as exc:
                error = f"network: {type(exc).__name__}"
            else:
                self.report.bytes_sent += len(body)
                self.report.bytes_received += len(content)
                if status == 200:
                    return protocol.decode_body(content)
                detail = _error_of(content)
                if status == 403 and detail.get("error") == "revoked":
                    raise Revoked
                if status < 500 and status != 429:
                    raise SyncFailed(
                        f"the national server refused the request ({status}): {detail.get('message', '')}"
                    )
                error = f"server: {status}"
            if attempt == RETRIES - 1:
                raise SyncFailed(
                    f"the national server could not be reached ({error}); the changes wait and will be sent next time"
                )
            self.report.retries += 1
            self.sleep(delay)
            delay = min(delay * 2, 30.0)
        raise SyncFailed("unreachable")  # pragma: no cover

    def push(self) -> None:
        while True:
            self.state.refresh_from_db()
            payload, last_id = changes.build_push(self.state)
            if not payload["audit"]:
                return
            answer = self.call("/sync/v1/push", payload)
            self.report.pushed_entries += len(payload["audit"])
            self.report.pushed_changes += len(payload["changes"])
            self.report.conflicts += changes.settle_push(self.state, payload, answer, last_id)

    def pull(self) -> None:
        while True:
            self.state.refresh_from_db()
            answer = self.call("/sync/v1/pull", {"cursor": self.state.pull_cursor})
            counts = changes.apply_pull(answer)
            self.report.pulled_objects += counts["created"] + counts["updated"]
            if not answer.get("more"):
                return

    def wipe(self) -> None:
        actions.wipe_local_data("revoked")
        self.report.wiped = True
        try:
            self.call("/sync/v1/wiped", {"wiped_at": timezone.now().isoformat()})
        except (SyncFailed, Revoked):
            self.report.errors.append("the wipe could not be reported to the national server")
        actions.forget_credential()


def _error_of(content: bytes) -> dict[str, Any]:
    import json

    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def sync_once(transport: Transport | None = None, sleep: Any = time.sleep) -> SyncReport:
    node_state = changes.state()
    if not node_state.private_key:
        raise SyncFailed(
            "this node's credential was revoked and its data erased; register the node again to use it"
        )
    client = Client(node_state, transport, sleep)
    NodeState.objects.filter(pk=1).update(last_attempt_at=timezone.now())
    try:
        client.push()
        client.report.files_sent += files.send_files(client)
        client.pull()
    except Revoked:
        client.wipe()
        return client.report
    except SyncFailed as exc:
        NodeState.objects.filter(pk=1).update(last_error=str(exc)[:200])
        raise
    with transaction.atomic():
        NodeState.objects.filter(pk=1).update(last_success_at=timezone.now(), last_error="")
    return client.report


def status() -> dict[str, Any]:
    node_state = NodeState.objects.filter(pk=1).first()
    if node_state is None:
        return {
            "role": "national",
            "open_conflicts": Conflict.objects.filter(resolved_at__isnull=True).count(),
        }
    return {
        "role": "district",
        "node": node_state.name,
        "district": node_state.district_id,
        "upstream": node_state.upstream,
        "last_success": node_state.last_success_at.isoformat() if node_state.last_success_at else None,
        "last_attempt": node_state.last_attempt_at.isoformat() if node_state.last_attempt_at else None,
        "last_error": node_state.last_error,
        "pending": changes.pending_count(),
        "files_pending": files.unsent_count(),
        "conflicts": node_state.open_conflicts,
        "revoked": node_state.revoked_at is not None,
        "wiped": node_state.wiped_at is not None,
    }
