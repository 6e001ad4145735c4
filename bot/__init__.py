"""The WeChat official-account customer-service bot: `create_app` builds the Flask app."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask

from bot.platform.config import Config
from bot.runtime import build_runtime
from bot.wechat.envelope import Envelope


def create_app(config: Config | None = None, **dependencies: Any) -> Flask:
    """Build the app; `dependencies` (redis_client, clock, wechat, extra_handlers…) override
    what would otherwise be built from `config`, so tests hand in real ones."""
    config = config or Config.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
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
