"""Prometheus metrics: defined once here, counted where things happen, read at /metrics.

Under gunicorn every worker is its own process: with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf
sets it) each writes its samples to files there and a scrape adds them up (prometheus_client's
multiprocess mode). Job workers on the same host with the same directory are added up too.

Extension point for the push pipeline: PUSHES (kind, channel, status) is defined here for it to
count each notification it sends.
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
# Extension point: the push pipeline counts every notification here.
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
