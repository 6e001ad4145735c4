"""GET /healthz: is this process able to reach Redis?"""

from __future__ import annotations

import time

import redis
from flask import Blueprint, jsonify

from bot.conversation.services import current_services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    started = time.perf_counter()
    try:
        current_services().redis.ping()
    except redis.RedisError as exc:
        return jsonify(status="unhealthy", redis="down", error=type(exc).__name__), 503
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return jsonify(status="ok", redis="ok", redis_latency_ms=latency_ms)
