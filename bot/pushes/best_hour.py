"""The hour a user is most likely to read a push: learnt from when they write to the account.

The times of their latest `SAMPLES` messages (and menu clicks, follows, scans) are kept in
`user:{openid}:seen`, newest first; with at least `MIN_SAMPLES` of them the most frequent local
hour wins (ties: the most recent). Without enough, the shop's default windows
(BEST_HOURS_DEFAULT, 10:00-11:00 and 20:00-21:00). Only non-urgent kinds wait for it;
exceptions and deliveries never do.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import redis

from bot.pushes.hours import Window

SAMPLES = 50
MIN_SAMPLES = 3
TTL = 90 * 86_400
# Kinds placed at the best hour; every other kind goes at once.
NON_URGENT = frozenset({"order_in_transit", "order_not_shipped", "merged"})


def key(openid: str) -> str:
    return f"user:{openid}:seen"


class BestHours:
    def __init__(self, client: redis.Redis, tz: str, defaults: tuple[Window, ...],
                 quiet: Window | Callable[[], Window | None] | None = None) -> None:
        self.redis = client
        self.tz = tz
        self.defaults = defaults
        # A window, or where to read the one in force (the merchant may change it at run time).
        self._quiet = quiet

    @property
    def quiet(self) -> Window | None:
        return self._quiet() if callable(self._quiet) else self._quiet

    def record(self, openid: str, at: float, pipe: redis.client.Pipeline | None = None) -> None:
        """Note that `openid` wrote at `at` (into `pipe` when the caller has one)."""
        target = pipe if pipe is not None else self.redis.pipeline(transaction=False)
        target.lpush(key(openid), int(at))
        target.ltrim(key(openid), 0, SAMPLES - 1)
        target.expire(key(openid), TTL)
        if pipe is None:
            target.execute()

    def best_hour(self, openid: str) -> int | None:
        """The user's own best hour, or None when too little is known."""
        zone = ZoneInfo(self.tz)
        hours = [datetime.fromtimestamp(int(t), zone).hour
                 for t in self.redis.lrange(key(openid), 0, SAMPLES - 1)]
        quiet = self.quiet
        if quiet is not None:
            # A night owl still gets nothing in quiet hours: learn from their waking hours.
            hours = [h for h in hours if not self._quiet_hour(quiet, h)]
        if len(hours) < MIN_SAMPLES:
            return None
        counts = Counter(hours)
        top = max(counts.values())
        return next(h for h in hours if counts[h] == top)   # newest first: ties → recent

    def place(self, kind: str, openid: str, now: float) -> float:
        """When a push of `kind` for `openid` should go: now for urgent kinds, else the next
        start of the user's best hour (or a default window), now if already inside."""
        if kind not in NON_URGENT:
            return now
        hour = self.best_hour(openid)
        if hour is None:
            return min(window.next_start(now, self.tz) for window in self.defaults)
        zone = ZoneInfo(self.tz)
        local = datetime.fromtimestamp(now, zone)
        if local.hour == hour:
            return now
        start = local.replace(hour=hour, minute=0, second=0, microsecond=0)
        if start <= local:
            start = (start + timedelta(days=1)).replace(hour=hour)
        # Spread a popular hour over its first half, the same minute for a user every day.
        spread = int(hashlib.sha1(openid.encode()).hexdigest(), 16) % 30
        return start.timestamp() + spread * 60

    def _quiet_hour(self, quiet: Window, hour: int) -> bool:
        probe = datetime(2026, 1, 1, hour, 30, tzinfo=ZoneInfo(self.tz)).timestamp()
        return quiet.contains(probe, self.tz)
