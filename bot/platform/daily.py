"""Cheap daily counters for the console's overview: one Redis hash per day in the shop's time zone.

Writers add their increments to a pipeline they already send (a chat turn, an order event), so
counting costs no round trip of its own. Known fields: `messages`, `answered`, `unmatched`,
`handoffs`, `wismo` ("where is my order" questions) and the gauge `in_transit` (orders on their
way, as of that day's last change). Pushes keep their own daily counts (`bot.pushes.stats`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import redis

KEEP_DAYS = 40
IN_TRANSIT = "stats:in_transit"


def day_key(day: date) -> str:
    return f"stats:day:{day.isoformat()}"


class DailyStats:
    """Per-day counters keyed by the shop's local date."""

    def __init__(self, client: redis.Redis, tz: str) -> None:
        self.redis = client
        self.tz = ZoneInfo(tz)
        self._gauge = client.register_script(_GAUGE)

    def day_of(self, at: float) -> date:
        return datetime.fromtimestamp(at, tz=UTC).astimezone(self.tz).date()

    def key_for(self, at: float) -> str:
        return day_key(self.day_of(at))

    @property
    def ttl(self) -> int:
        return KEEP_DAYS * 86_400

    def add(self, pipe: redis.client.Pipeline, at: float, **counts: int) -> None:
        """Queue increments for the day of `at` into `pipe` (the caller executes it)."""
        counts = {k: v for k, v in counts.items() if v}
        if not counts:
            return
        key = day_key(self.day_of(at))
        for name, value in counts.items():
            pipe.hincrby(key, name, value)
        pipe.expire(key, KEEP_DAYS * 86_400)

    def incr(self, at: float, **counts: int) -> None:
        """Increments in their own round trip (for writers with no pipeline at hand)."""
        pipe = self.redis.pipeline(transaction=False)
        self.add(pipe, at, **counts)
        pipe.execute()

    def move_in_transit(self, at: float, delta: int) -> None:
        """An order started (+1) or stopped (-1) being on its way: the gauge and the day's
        last reading of it, in one round trip."""
        self._gauge(keys=[IN_TRANSIT, day_key(self.day_of(at))], args=[delta, KEEP_DAYS * 86_400])

    def days(self, end_at: float, count: int) -> list[tuple[date, dict[str, int]]]:
        """The last `count` days up to the day of `end_at`, oldest first. Days without a
        reading of `in_transit` carry the last one before them forward."""
        last = self.day_of(end_at)
        days = [last - timedelta(days=count - 1 - i) for i in range(count)]
        pipe = self.redis.pipeline(transaction=False)
        for day in days:
            pipe.hgetall(day_key(day))
        # The gauge before the window: the most recent day before it that has a reading.
        for back in range(1, KEEP_DAYS - count + 1):
            pipe.hget(day_key(days[0] - timedelta(days=back)), "in_transit")
        raw = pipe.execute()
        before = next((int(v) for v in raw[count:] if v is not None), 0)
        out = []
        carried = before
        for day, values in zip(days, raw[:count], strict=True):
            counts = {k: int(v) for k, v in values.items()}
            if "in_transit" in counts:
                carried = counts["in_transit"]
            counts["in_transit"] = max(carried, 0)
            out.append((day, counts))
        return out


# The gauge may dip below zero for orders that were on their way before counting began; the
# day's reading is what `days` shows (floored at zero).
_GAUGE = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'in_transit', value)
redis.call('EXPIRE', KEYS[2], ARGV[2])
return value
"""
