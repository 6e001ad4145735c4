"""The WeChat official-account customer-service bot: `create_app` builds the Flask app."""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

import redis
from flask import Flask, Response, g, request

from bot.platform import metrics
from bot.platform.config import Config
from bot.platform.logs import configure_logging, new_request_id, request_id
from bot.runtime import build_runtime
from bot.wechat.envelope import Envelope


def create_app(config: Config | None = None, **dependencies: Any) -> Flask:
    """Build the app; `dependencies` (redis_client, clock, wechat, extra_handlers…) override
    what would otherwise be built from `config`, so tests hand in real ones."""
    config = config or Config.from_env()
    configure_logging(config)
    app = Flask(__name__)
    # One byte over the limit, so read_body can tell a truncated chunked body from a whole one.
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes + 1
    rt = build_runtime(config, **dependencies)
    try:
        # The push consumer group starts where the stream is when the bot first runs (a worker
        # creates stream and group when there is no stream yet).
        rt.pushes.ensure_group(create_stream=False)
    except redis.RedisError:
        logging.getLogger(__name__).warning("Redis unavailable: push group not checked")
    app.extensions["bot_runtime"] = rt
    app.extensions["bot"] = rt.services
    app.extensions["bot_coordinator"] = rt.coordinator
    app.extensions["bot_envelope"] = Envelope(config)
    app.extensions["bot_sms"] = rt.sms

    @app.before_request
    def _new_request_id() -> None:
        # Every line a request logs carries one id; the callback narrows it to the message's.
        request_id.set(new_request_id())
        g.started = time.perf_counter()

    @app.after_request
    def _count_callback(response: Response) -> Response:
        if request.endpoint == "wechat.receive":
            metrics.CALLBACK_SECONDS.observe(time.perf_counter() - g.started)
            metrics.CALLBACKS.labels(_callback_outcome(response)).inc()
        return response

    @app.get("/metrics")
    def _metrics() -> Response:
        # Not public by default: off without METRICS_TOKEN (a separate METRICS_BIND listener
        # in gunicorn.conf.py needs none). Behind a proxy every client looks like loopback,
        # so the client's address is no proof.
        token = config.metrics_token
        if not token:
            return Response("not found", status=404, mimetype="text/plain")
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return Response("unauthorized", status=401, mimetype="text/plain")
        body, content_type = metrics.render([metrics.QueueDepth(rt.jobs.queue_depths)])
        return Response(body, mimetype=content_type.split(";")[0],
                        headers={"Content-Type": content_type})

    from bot.orders import tracking_page as tracking
    from bot.orders import webhook as order_hooks
    from bot.pushes.sms import hooks as sms_hooks
    from bot.wechat import callback, health

    # One blueprint per surface: WeChat's callback, the shop's order webhook, the customer's
    # tracking page, customers' SMS replies, and health for the load balancer.
    for blueprint in (callback.bp, order_hooks.bp, tracking.bp, sms_hooks.bp, health.bp):
        app.register_blueprint(blueprint)
    # The staff and merchant console under /console (its own sessions, CSRF and roles).
    from bot.console.mount import register as register_console

    register_console(app, rt.services, rt.pushes)
    return app


def _callback_outcome(response: Response) -> str:
    if response.status_code != 200:
        return str(response.status_code)
    outcome = g.get("callback_outcome")
    if outcome:
        return outcome
    if response.mimetype == "text/plain":
        return "success"        # nothing now: the reply goes out late (or none is due)
    return "reply"
