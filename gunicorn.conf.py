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

# Metrics from every worker process are added up at a scrape (prometheus_client multiprocess
# mode): set before any process imports prometheus_client, so not through bot.platform.metrics
# (importing it imports prometheus_client); the same default as its `multiproc_dir`, which
# `python -m bot worker` uses, so job workers on this host are added up too.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(
    os.path.abspath(os.environ.get("BOT_DATA_DIR") or "data"), "metrics"))


def on_starting(server):  # noqa: ANN001, ARG001 - gunicorn's hook signature
    # A previous run's samples would be added to this one's; running job workers' stay.
    # (bot.platform.metrics.clear_dead, inline: importing that module defines the metrics,
    # which in multiprocess mode makes the master open sample files of its own; with
    # REDIS_URL set the master imports nothing of the bot.)
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(metrics_dir, exist_ok=True)
    for name in os.listdir(metrics_dir):
        pid = os.path.splitext(name)[0].rpartition("_")[2]
        if name.endswith(".db") and not (pid.isdigit() and _alive(int(pid))):
            try:
                os.remove(os.path.join(metrics_dir, name))
            except FileNotFoundError:
                pass
    # Every worker must share one Redis; with no REDIS_URL the master starts the embedded one
    # and the forked workers inherit its address.
    if not os.environ.get("REDIS_URL") and not os.environ.get("REDIS_SENTINELS"):
        from pathlib import Path

        from bot.platform.storage import start_embedded_redis

        data_dir = Path(os.environ.get("BOT_DATA_DIR", "data")).resolve()
        os.environ["REDIS_URL"] = start_embedded_redis(data_dir)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def when_ready(server):  # noqa: ANN001, ARG001
    # METRICS_BIND=127.0.0.1:9100 (or a private address): /metrics on its own listener, never
    # on the public one. Served by the master from every worker's samples.
    bind_to = os.environ.get("METRICS_BIND")
    if not bind_to:
        return
    from prometheus_client import start_http_server

    from bot.platform.metrics import registry

    host, _, port = bind_to.rpartition(":")
    start_http_server(int(port), addr=host or "127.0.0.1", registry=registry())


def child_exit(server, worker):  # noqa: ANN001, ARG001
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
