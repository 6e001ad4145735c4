"""Slow down guessing: count a customer's failed order lookups and refuse more for a while."""

from __future__ import annotations

import redis

MISS_LIMIT = 5
MISS_WINDOW = 600


class MissGuard:
    """`limit` misses (unknown, not theirs, wrong phone digits) within `window` seconds of the
    first one throttle that customer's lookups by number until the window ends. An order whose
    phone check failed stays hidden from that customer for the window too."""

    def __init__(self, client: redis.Redis, limit: int = MISS_LIMIT,
                 window: int = MISS_WINDOW) -> None:
        self.redis = client
        self.limit = limit
        self.window = window

    @staticmethod
    def key(openid: str) -> str:
        return f"orders:miss:{openid}"

    def throttled(self, openid: str) -> bool:
        count = self.redis.get(self.key(openid))
        return count is not None and int(count) >= self.limit

    def miss(self, openid: str) -> int:
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.key(openid), 0, nx=True, ex=self.window)
        pipe.incr(self.key(openid))
        return int(pipe.execute()[1])

    def block(self, openid: str, order_id: str) -> None:
        """The phone check for `order_id` failed: count a miss and ask no more for it."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(f"orders:verify_failed:{openid}:{order_id}", 1, ex=self.window)
        pipe.set(self.key(openid), 0, nx=True, ex=self.window)
        pipe.incr(self.key(openid))
        pipe.execute()

    def blocked(self, openid: str, order_id: str) -> bool:
        return bool(self.redis.exists(f"orders:verify_failed:{openid}:{order_id}"))
