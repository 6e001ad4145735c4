"""How a request reaches the process's runtime, without import-time globals."""

from __future__ import annotations

from flask import current_app

from bot.runtime import Runtime
from bot.services import Services


def runtime() -> Runtime:
    return current_app.extensions["bot_runtime"]


def services() -> Services:
    return current_app.extensions["bot"]
