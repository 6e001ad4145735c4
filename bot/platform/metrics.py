"""Prometheus metrics: defined once here, counted where things happen, read at /metrics.

Under gunicorn every worker is its own process: with PROMETHEUS_MULTIPROC_DIR set each writes
its samples to files there and a scrape adds them up (prometheus_client's multiprocess mode).
gunicorn.conf and `python -m bot worker` both default it to `BOT_DATA_DIR/metrics`
(`multiproc_dir`), so the job workers' counts (late replies, pushes) reach the web app's scrape.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

CALLBACKS = Counter("bot_callbacks_total", "WeChat callbacks answered, by outcome "
                    "(reply, success, transfer, store_down, or the refusal's HTTP status)",
                    ["outcome"])
CALLBACK_SECONDS = Histogram("bot_callback_seconds", "Time to answer a WeChat callback",
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4.5, 10))
MATCHES = Counter("bot_matcher_outcomes_total", "Matcher outcomes for text messages",
                  ["outcome"])
LATE_REPLIES = Counter("bot_late_replies_total", "Replies sent late through 客服消息, by outcome",
                       ["outcome"])
WEBHOOK_EVENTS = Counter("bot_webhook_events_total", "Order webhook events, by result",
                         ["result"])
WECHAT_API_ERRORS = Counter("bot_wechat_api_errors_total", "WeChat API errors, by errcode "
                            "(unavailable: no answer or an HTTP error)", ["errcode"])
# Counted by the push log (bot/pushes/log.py) once a decision's write succeeded.
PUSHES = Counter("bot_pushes_total", "Notifications pushed, by kind, channel and status",
                 ["kind", "channel", "status"])


class QueueDepth:
    """Job queue depths, read from Redis at scrape time (nothing to add up across processes)."""

    def __init__(self, depths: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self.depths = depths

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("bot_queue_depth", "Jobs waiting, by queue", labels=["queue"])
        try:
            for queue, depth in self.depths():
                family.add_metric([queue], depth)
        except Exception:   # Redis down: the scrape still answers, without this gauge
            return []
        return [family]


def multiproc_dir(data_dir: str | os.PathLike[str]) -> str:
    """Set PROMETHEUS_MULTIPROC_DIR (unless set) to `data_dir`/metrics and return it. Must run
    before the processes that count import prometheus_client: its value class is chosen then."""
    path = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR",
                                 os.path.join(os.path.abspath(data_dir), "metrics"))
    os.makedirs(path, exist_ok=True)
    return path


def clear_dead(path: str) -> None:
    """Remove sample files of processes no longer running (a previous run's, which would be
    added to this one's), keeping those of live processes: web and job workers share the
    directory and start in either order."""
    for name in os.listdir(path):
        stem, ext = os.path.splitext(name)
        pid = stem.rpartition("_")[2]
        if ext == ".db" and not (pid.isdigit() and _alive(int(pid))):
            try:
                os.remove(os.path.join(path, name))
            except FileNotFoundError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # someone else's process: alive
        return True
    return True


def registry() -> CollectorRegistry:
    """What to expose: every process's samples in multiprocess mode, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
        return reg
    from prometheus_client import REGISTRY

    return REGISTRY


def render(extra: Iterable[object] = ()) -> tuple[bytes, str]:
    """The exposition text: the registry's metrics, then `extra` collectors (queue depth)."""
    extras = CollectorRegistry()
    for collector in extra:
        extras.register(collector)  # type: ignore[arg-type]
    return generate_latest(registry()) + generate_latest(extras), CONTENT_TYPE_LATEST
