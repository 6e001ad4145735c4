"""The WeChat callback: verify → open → dispatch once → seal. No business logic here."""

from __future__ import annotations

import logging
import time

import redis
from flask import Blueprint, Response, current_app, g, request
from wechatpy.replies import TextReply, TransferCustomerServiceReply

from bot.conversation.messages import from_wechatpy
from bot.conversation.offline import answer_without_store
from bot.conversation.replies import TRANSFER
from bot.conversation.services import Services, current_services
from bot.platform.bodies import read_body
from bot.platform.logs import request_id, request_id_for
from bot.platform.outage import redis_outage
from bot.wechat.coordinator import ReplyCoordinator
from bot.wechat.envelope import Envelope, EnvelopeError

log = logging.getLogger(__name__)

bp = Blueprint("wechat", __name__)


def _envelope() -> Envelope:
    return current_app.extensions["bot_envelope"]


def _coordinator() -> ReplyCoordinator:
    return current_app.extensions["bot_coordinator"]


def _refuse(status: int, reason: str) -> Response:
    # The reason helps whoever configures the account; it carries nothing secret.
    return Response(reason, status=status, mimetype="text/plain")


@bp.get("/wechat")
def verify() -> Response:
    """WeChat's URL check: echo `echostr` only for a correctly signed, fresh request."""
    services: Services = current_services()
    try:
        _envelope().check_plain_signature(request.args.to_dict(), services.clock.now())
    except EnvelopeError as exc:
        return _refuse(exc.status, exc.reason)
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/wechat")
def receive() -> Response:
    """Answer one message or event, encrypted when the request was."""
    received_at = time.time()
    services = current_services()
    args = request.args.to_dict()
    try:
        body = read_body(request, services.config.max_body_bytes)
        opened = _envelope().open(args, body, services.clock.now())
    except EnvelopeError as exc:
        log.info("refused WeChat request: %s", exc.reason)
        return _refuse(exc.status, exc.reason)
    msg = from_wechatpy(opened.message)
    # WeChat's retries of a message share its id, and the late-reply job carries it on.
    request_id.set(request_id_for(msg.dedup_key))
    try:
        reply = _coordinator().respond(msg, received_at)
        redis_outage.ok()
    except redis.RedisError as exc:
        # One line per interval for the whole outage, and a hand-over still goes through.
        redis_outage.failed(exc, "callback")
        reply = answer_without_store(services, msg)
        g.callback_outcome = "store_down"
    if reply is None:
        return Response("success", mimetype="text/plain")
    if reply.kind == TRANSFER:
        xml = TransferCustomerServiceReply(source=msg.account, target=msg.openid).render()
    else:
        xml = TextReply(source=msg.account, target=msg.openid, content=reply.text).render()
    sealed = _envelope().seal(
        opened, xml, args.get("nonce", ""), str(int(services.clock.now()))
    )
    return Response(sealed, mimetype="application/xml")
