"""Push counts per day by kind, channel and status, for `pushes stats` and the console."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import redis

STATS_TTL = 120 * 86_400


class PushStats:
    """`pushes:stats:{YYYYMMDD}` hashes (shop-local days) of `kind:…`, `channel:…`,
    `status:…` and `kind_status:…|…` counters."""

    def __init__(self, client: redis.Redis, tz: str = "Asia/Shanghai") -> None:
        self.redis = client
        self.tz = ZoneInfo(tz)

    def day(self, at: float) -> str:
        return datetime.fromtimestamp(at, UTC).astimezone(self.tz).strftime("%Y%m%d")

    def key(self, day: str) -> str:
        return f"pushes:stats:{day}"

    def count(self, pipe: Any, at: float, *, kind: str, channel: str, status: str) -> None:
        key = self.key(self.day(at))
        # Every decision counts by status; a push counts once by kind (when queued) and a
        # message once by channel (when sent).
        pipe.hincrby(key, f"status:{status}", 1)
        pipe.hincrby(key, f"kind_status:{kind}|{status}", 1)
        if status == "queued":
            pipe.hincrby(key, f"kind:{kind}", 1)
        if channel:
            if status == "sent":
                pipe.hincrby(key, f"channel:{channel}", 1)
            pipe.hincrby(key, f"channel_status:{channel}|{status}", 1)
        pipe.expire(key, STATS_TTL)

    def counts(self, days: int, now: float) -> dict[str, dict[str, int]]:
        """Counts over the last `days` shop-local days (today included)."""
        today = datetime.fromtimestamp(now, UTC).astimezone(self.tz).date()
        pipe = self.redis.pipeline(transaction=False)
        for n in range(max(days, 1)):
            pipe.hgetall(self.key((today - timedelta(days=n)).strftime("%Y%m%d")))
        totals: Counter[str] = Counter()
        for raw in pipe.execute():
            totals.update({k: int(v) for k, v in raw.items()})
        out: dict[str, dict[str, int]] = {"kind": {}, "channel": {}, "status": {},
                                          "kind_status": {}, "channel_status": {}}
        for field, value in sorted(totals.items()):
            group, _, name = field.partition(":")
            out.setdefault(group, {})[name] = value
        return out
