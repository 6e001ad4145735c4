"""The WeChat official-account customer-service bot: `create_app` builds the Flask app."""

from __future__ import annotations

from typing import Any

from flask import Flask

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
    app.extensions["bot_runtime"] = rt
    app.extensions["bot"] = rt.services
    app.extensions["bot_coordinator"] = rt.coordinator
    app.extensions["bot_envelope"] = Envelope(config)

    @app.before_request
    def _new_request_id() -> None:
        # Every line a request logs carries one id; the callback narrows it to the message's.
        request_id.set(new_request_id())

    from bot.orders import tracking_page as tracking
    from bot.orders import webhook as order_hooks
    from bot.wechat import callback, health

    # One blueprint per surface: WeChat's callback, the shop's order webhook, the customer's
    # tracking page, and health for the load balancer.
    for blueprint in (callback.bp, order_hooks.bp, tracking.bp, health.bp):
        app.register_blueprint(blueprint)
    return app
