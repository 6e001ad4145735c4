"""The WeChat official-account customer-service bot: `create_app` builds the Flask app."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from bot.config import Config
from bot.envelope import Envelope
from bot.runtime import build_runtime


def create_app(config: Config | None = None, **dependencies: Any) -> Flask:
    """Build the app; `dependencies` (redis_client, clock, wechat, extra_handlers…) override
    what would otherwise be built from `config`, so tests hand in real ones."""
    config = config or Config.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    rt = build_runtime(config, **dependencies)
    app.extensions["bot_runtime"] = rt
    app.extensions["bot"] = rt.services
    app.extensions["bot_envelope"] = Envelope(config)

    from bot import callback, health

    app.register_blueprint(callback.bp)
    app.register_blueprint(health.bp)
    for module_name in ("bot.order_hooks", "bot.tracking", "bot.admin"):
        _register_if_present(app, module_name)
    return app


def _register_if_present(app: Flask, module_name: str) -> None:
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return
    app.register_blueprint(module.bp)
