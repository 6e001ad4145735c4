"""POST /hooks/sms: customers' SMS replies, so "T" / "TD" / "退订" stop SMS to that phone.

Two shapes, one per provider:
- webhook: JSON `{phone, text, received_at}` signed `X-Signature: sha256=<hmac>` with
  SMS_WEBHOOK_SECRET;
- Alibaba Cloud: its upstream-message push (SmsUp), a JSON list of `{phone_number, content,
  send_time, sign_name, dest_code, sequence_id}`, to `/hooks/sms?token=SMS_HOOK_TOKEN`.

401 bad signature or token · 400 not the expected JSON · 404 a phone the shop has no order
for · 503 not configured or Redis down. Nothing changes unless the answer is 200.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Any

import redis
from flask import Blueprint, Response, current_app, request

from bot.conversation.services import current_services
from bot.pushes.sms.kit import SmsKit
from bot.pushes.sms.signing import HEADER, signature_ok

log = logging.getLogger(__name__)

bp = Blueprint("sms_hooks", __name__)

_PHONE_NOISE = re.compile(r"[\s()-]")
_PHONE = re.compile(r"[0-9]{7,15}")
MAX_TEXT = 1000
MAX_BATCH = 100


def _json(code: int, /, **data: object) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=code,
                    mimetype="application/json")


def _phone(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    digits = _PHONE_NOISE.sub("", value).removeprefix("+86")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if _PHONE.fullmatch(digits) else None


class _Bad(ValueError):
    def __init__(self, code: int, error: str, **detail: object) -> None:
        super().__init__(error)
        self.code, self.error, self.detail = code, error, detail


@bp.post("/hooks/sms")
def sms_reply() -> Response:
    kit: SmsKit = current_app.extensions["bot_sms"]
    config = kit.config
    body = request.get_data(cache=False)
    token = request.args.get("token")
    try:
        if token is not None:
            if not config.sms_hook_token:
                return _json(503, error="SMS_HOOK_TOKEN is not set")
            if not hmac.compare_digest(token.encode(), config.sms_hook_token.encode()):
                return _json(401, error="bad token")
            replies, provider = _aliyun_replies(body), "aliyun"
        else:
            if not config.sms_webhook_secret:
                return _json(503, error="SMS_WEBHOOK_SECRET is not set")
            if not signature_ok(config.sms_webhook_secret, body,
                                request.headers.get(HEADER, "")):
                return _json(401, error="bad signature")
            replies, provider = [_webhook_reply(body)], "webhook"
        return _apply(kit, replies, provider, aliyun=token is not None)
    except _Bad as bad:
        return _json(bad.code, error=bad.error, **bad.detail)
    except redis.RedisError as exc:
        log.warning("SMS reply not stored (Redis: %s); the provider will retry",
                    type(exc).__name__)
        return _json(503, error="store unavailable, retry later")


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):   # nesting deeper than the stack: not a reply either
        raise _Bad(400, "invalid JSON", field="body") from None


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise _Bad(400, "invalid field", field=field, detail=f"a string of at most {MAX_TEXT}")
    # JSON may carry lone surrogates ("\ud800"): no UTF-8 can store them, so Redis would fail.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Bad(400, "invalid field", field=field,
                   detail="not valid Unicode (a lone surrogate)") from None
    return value


def _webhook_reply(body: bytes) -> tuple[str, str]:
    payload = _load(body)
    if not isinstance(payload, dict):
        raise _Bad(400, "invalid field", field="body", detail="must be a JSON object")
    phone = _phone(payload.get("phone"))
    if phone is None:
        raise _Bad(400, "invalid field", field="phone", detail="7-15 digits")
    return phone, _text(payload.get("text"), "text")


def _aliyun_replies(body: bytes) -> list[tuple[str, str]]:
    payload = _load(body)
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list) or not payload or len(payload) > MAX_BATCH:
        raise _Bad(400, "invalid field", field="body",
                   detail=f"a list of 1-{MAX_BATCH} upstream messages")
    found = []
    for i, item in enumerate(payload):
        if not isinstance(item, dict):
            raise _Bad(400, "invalid field", field=f"[{i}]", detail="must be an object")
        phone = _phone(item.get("phone_number"))
        if phone is None:
            raise _Bad(400, "invalid field", field=f"[{i}].phone_number", detail="7-15 digits")
        found.append((phone, _text(item.get("content"), f"[{i}].content")))
    return found


def _apply(kit: SmsKit, replies: list[tuple[str, str]], provider: str, aliyun: bool) -> Response:
    svc = current_services()
    known = [(phone, text) for phone, text in replies if svc.orders.store.ids_for_phone(phone, 1)]
    if not known:
        # Nothing is recorded for a number the shop never had an order from.
        return _json(404, error="unknown phone")
    results = []
    for phone, text in known:
        if kit.words.opts_out(text):
            first = kit.optouts.opt_out(phone, at=svc.clock.now(), how=f"sms_reply:{provider}",
                                        text=text, provider=provider)
            results.append("opted_out" if first else "already_opted_out")
        else:
            results.append("ignored")
    if aliyun:
        # Alibaba Cloud's push reads {"code": 0} as received; anything else is pushed again.
        return _json(200, code=0, msg="成功", results=results)
    return _json(200, result=results[0])
