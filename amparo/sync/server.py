"""The national server's synchronisation endpoints (`/sync/v1/…`), answering signed requests from nodes.

No session, no CSRF token: a request is accepted only with a valid Ed25519 signature of a registered,
unrevoked node, within five minutes of the server's clock, with a nonce not seen before. A revoked node
gets 403 with `{"error": "revoked"}` and may then only report that it has wiped its data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from amparo.sync import actions, changes, files, protocol
from amparo.sync.models import Node, SeenNonce

logger = logging.getLogger(__name__)
MAX_REQUEST = 32 * 1024 * 1024


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _answer(payload: Any) -> HttpResponse:
    return HttpResponse(protocol.encode_body(payload), content_type=protocol.CONTENT_TYPE)


def _authenticate(request: HttpRequest, body: bytes) -> Node:
    node_id = request.headers.get(protocol.HEADER_NODE, "")
    try:
        node = Node.objects.select_related("district").filter(pk=node_id).first()
    except (ValueError, Exception):  # noqa: BLE001  (a malformed UUID is an unknown node)
        node = None
    if node is None:
        raise protocol.ProtocolError("unknown node")
    protocol.verify(
        node.public_key,
        request.method or "POST",
        request.path,
        body,
        request.headers.get(protocol.HEADER_TIME, ""),
        request.headers.get(protocol.HEADER_NONCE, ""),
        request.headers.get(protocol.HEADER_SIGNATURE, ""),
    )
    now = timezone.now()
    try:
        with transaction.atomic():
            SeenNonce.objects.create(node=node, nonce=request.headers[protocol.HEADER_NONCE], seen_at=now)
    except IntegrityError as exc:
        raise protocol.ProtocolError("the request was replayed") from exc
    SeenNonce.objects.filter(seen_at__lt=now - dt.timedelta(seconds=2 * protocol.WINDOW_SECONDS)).delete()
    Node.objects.filter(pk=node.pk).update(last_seen_at=now)
    return node


def _endpoint(
    handler: Callable[[Node, Any], Any], *, allow_revoked: bool = False
) -> Callable[[HttpRequest], HttpResponse]:
    @csrf_exempt
    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        if settings.NODE_ROLE != "national":
            return _error(404, "not_national", "only the national server answers synchronisation requests")
        body = request.body[: MAX_REQUEST + 1]
        if len(body) > MAX_REQUEST:
            return _error(413, "too_large", "the batch is too large; send smaller batches")
        try:
            node = _authenticate(request, body)
        except protocol.ProtocolError as exc:
            return _error(401, "unauthenticated", str(exc))
        if node.revoked_at is not None and not allow_revoked:
            return _error(403, "revoked", "this node's credential was revoked; it must erase its case data")
        try:
            payload = protocol.decode_body(body)
            if not isinstance(payload, dict):
                raise protocol.ProtocolError("the batch must be a JSON object")
            return _answer(handler(node, payload))
        except protocol.ProtocolError as exc:
            return _error(400, "rejected", str(exc))
        except ValidationError as exc:
            return _error(400, "invalid", "; ".join(exc.messages)[:500])
        except (KeyError, TypeError, ValueError, AttributeError, ObjectDoesNotExist, DatabaseError) as exc:
            logger.warning("sync batch from node %s rejected: %s", node.pk, type(exc).__name__)
            return _error(400, "malformed", "the batch is malformed; update Amparo on the node")

    return view


def _hello(node: Node, payload: Any) -> dict[str, Any]:
    return {"node": node.name, "district": node.district_id, "server_time": timezone.now().isoformat()}


def _push(node: Node, payload: Any) -> dict[str, Any]:
    return changes.apply_push(node, payload)


def _pull(node: Node, payload: Any) -> dict[str, Any]:
    return changes.build_pull(node, int(payload.get("cursor", 0)))


def _wiped(node: Node, payload: Any) -> dict[str, Any]:
    actions.record_wipe_report(node)
    return {"ok": True}


def _file_offer(node: Node, payload: Any) -> dict[str, Any]:
    return files.offer(node, payload)


def _file_piece(node: Node, payload: Any) -> dict[str, Any]:
    return files.receive_piece(node, payload)


hello = _endpoint(_hello)
file_offer = _endpoint(_file_offer)
file_piece = _endpoint(_file_piece)
push = _endpoint(_push)
pull = _endpoint(_pull)
wiped = _endpoint(_wiped, allow_revoked=True)
