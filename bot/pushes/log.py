"""The per-order push log: every decision about every push, for `pushes show` and the console.

`pushes:log:{order_id}` is a capped list of JSON entries, oldest first; each decision also
counts towards the day's stats (`bot.pushes.stats`) and, once its write succeeded, an outcome
counts in `bot_pushes_total` (a decision written in a caller's pipeline counts when the caller
runs it through `PushLog.execute`, so a job that fails before its write and is retried counts
once). Queued and retrying are steps, not outcomes, and are not counted.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from bot.platform.metrics import PUSHES
from bot.pushes.stats import PushStats

LOG_MAX = 200
LOG_TTL = 90 * 86_400

QUEUED = "queued"
SENT = "sent"
HELD = "held"
MERGED = "merged"
SUPPRESSED = "suppressed"
FAILED = "failed"
RETRYING = "retrying"
DELIVERED = "delivered"            # a receipt said the user got it
DELIVERY_FAILED = "delivery_failed"  # a receipt said WeChat could not deliver it

OUTCOMES = frozenset({SENT, HELD, MERGED, SUPPRESSED, FAILED, DELIVERED, DELIVERY_FAILED})
# Outcomes written into a caller's pipeline wait here (on the pipeline) until it has run.
_PENDING = "_push_outcomes"


class PushLog:
    """Appends and reads the push log; cheap to build wherever a Redis client is at hand."""

    def __init__(self, client: redis.Redis, tz: str = "Asia/Shanghai") -> None:
        self.redis = client
        self.stats = PushStats(client, tz)

    @staticmethod
    def key(order_id: str) -> str:
        return f"pushes:log:{order_id}"

    def record(self, order_id: str, *, push_id: str, kind: str, status: str, at: float,
               reason: str = "", channel: str = "", pipe: Any = None,
               outcome: bool | None = None, **detail: Any) -> None:
        """One decision. `detail` adds fields (until, into, code, msg_id...). `outcome`: whether
        it counts in bot_pushes_total (default: its status is one of OUTCOMES)."""
        entry = {"push_id": push_id, "kind": kind, "channel": channel, "status": status,
                 "reason": reason, "at": round(at, 3),
                 **{k: v for k, v in detail.items() if v not in (None, "")}}
        own = pipe is None
        pipe = pipe if pipe is not None else self.redis.pipeline(transaction=False)
        key = self.key(order_id)
        pipe.rpush(key, json.dumps(entry, ensure_ascii=False))
        pipe.ltrim(key, -LOG_MAX, -1)
        pipe.expire(key, LOG_TTL)
        self.stats.count(pipe, at, kind=kind, channel=channel, status=status)
        if status in OUTCOMES if outcome is None else outcome:
            pipe.__dict__.setdefault(_PENDING, []).append((kind, channel or "none", status))
        if own:
            self.execute(pipe)

    @staticmethod
    def execute(pipe: Any) -> list[Any]:
        """Run a pipeline holding decisions, then count their outcomes (not if it failed)."""
        try:
            out = pipe.execute()
        except BaseException:
            pipe.__dict__.pop(_PENDING, None)
            raise
        for labels in pipe.__dict__.pop(_PENDING, []):
            PUSHES.labels(*labels).inc()
        return out

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        """The order's log, oldest first."""
        return [json.loads(raw) for raw in self.redis.lrange(self.key(order_id), 0, -1)]

    def latest(self, order_id: str, push_id: str) -> dict[str, Any] | None:
        for entry in reversed(self.for_order(order_id)):
            if entry["push_id"] == push_id:
                return entry
        return None
