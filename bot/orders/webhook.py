"""POST /hooks/orders: the shop's order events, HMAC-signed; acknowledged only once stored.

401 bad signature · 400 invalid body (naming the field) · 503 store unreachable (retry) ·
200 {"result": applied | merged | stale | duplicate}. No business logic here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import redis
from flask import Blueprint, Response, request

from bot.conversation.services import current_services
from bot.orders.validation import InvalidOrder, loads
from bot.platform.bodies import read_body
from bot.platform.metrics import WEBHOOK_EVENTS
from bot.platform.outage import redis_outage

log = logging.getLogger(__name__)

bp = Blueprint("order_hooks", __name__)

SIGNATURE_HEADER = "X-Signature"


def sign(secret: str, body: bytes) -> str:
    """The X-Signature value for `body`: sha256=<hex HMAC-SHA256>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def _json(code: int, /, **data: object) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=code,
                    mimetype="application/json")


@bp.post("/hooks/orders")
def order_event() -> Response:
    svc = current_services()
    secret = svc.config.order_webhook_secret
    if not secret:
        # Not 4xx: the shop keeps the event and retries once the secret is configured.
        return _json(503, error="ORDER_WEBHOOK_SECRET is not set")
    body = read_body(request, svc.config.max_body_bytes)
    if not signature_ok(secret, body, request.headers.get(SIGNATURE_HEADER, "")):
        WEBHOOK_EVENTS.labels("bad_signature").inc()
        return _json(401, error="bad signature")
    try:
        payload = loads(body)
    except RecursionError:
        WEBHOOK_EVENTS.labels("invalid").inc()
        return _json(400, error="JSON nested too deep", field="body")
    except ValueError:
        WEBHOOK_EVENTS.labels("invalid").inc()
        return _json(400, error="invalid JSON", field="body")
    try:
        result = svc.orders.apply_payload(payload)
    except InvalidOrder as exc:
        WEBHOOK_EVENTS.labels("invalid").inc()
        return _json(400, error="invalid field", field=exc.field, detail=exc.problem)
    except redis.RedisError as exc:
        # One line per interval for the whole outage (the shop retries every event).
        redis_outage.failed(exc, "order webhook (events refused with 503, the shop retries)")
        WEBHOOK_EVENTS.labels("store_down").inc()
        return _json(503, error="store unavailable, retry later")
    WEBHOOK_EVENTS.labels(result.outcome).inc()
    return _json(200, result=result.outcome, status=result.status)
