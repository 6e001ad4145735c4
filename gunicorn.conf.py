"""gunicorn settings for the bot: `gunicorn -c gunicorn.conf.py wsgi:app`."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:" + os.environ.get("PORT", "8000"))
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
# Threads let a worker keep answering while a slow handler runs past WeChat's deadline.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")


def on_starting(server):  # noqa: ANN001, ARG001 - gunicorn's hook signature
    # Every worker must share one Redis; with no REDIS_URL the master starts the embedded one
    # and the forked workers inherit its address.
    if not os.environ.get("REDIS_URL"):
        from pathlib import Path

        from bot.platform.storage import start_embedded_redis

        data_dir = Path(os.environ.get("BOT_DATA_DIR", "data")).resolve()
        os.environ["REDIS_URL"] = start_embedded_redis(data_dir)
