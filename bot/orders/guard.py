"""Slow down guessing: count a customer's failed order lookups and refuse more for a while."""

from __future__ import annotations

import redis

MISS_LIMIT = 5
MISS_WINDOW = 600

# KEYS[1] the miss counter, KEYS[2] (optional) the order's failed-check marker; ARGV[1] window.
# One script, so the count and its expiry are set together: a counter left without a TTL (a
# key expiring between a separate "set expiry" and "increment") would throttle for ever.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if KEYS[2] then redis.call('SET', KEYS[2], 1, 'EX', ARGV[1]) end
return n
"""


class MissGuard:
    """`limit` misses (unknown, not theirs, wrong phone digits, being asked for the digits)
    within `window` seconds of the first one throttle that customer's lookups by number until
    the window ends. An order whose phone check failed stays hidden from that customer for the
    window too."""

    def __init__(self, client: redis.Redis, limit: int = MISS_LIMIT,
                 window: int = MISS_WINDOW) -> None:
        self.redis = client
        self.limit = limit
        self.window = window
        # Lua rather than INCR + EXPIRE NX: the embedded demo Redis (6.2) has no EXPIRE NX.
        self._count = client.register_script(_COUNT)

    @staticmethod
    def key(openid: str) -> str:
        return f"orders:miss:{openid}"

    @staticmethod
    def blocked_key(openid: str, order_id: str) -> str:
        return f"orders:verify_failed:{openid}:{order_id}"

    def throttled(self, openid: str) -> bool:
        count = self.redis.get(self.key(openid))
        return count is not None and int(count) >= self.limit

    def miss(self, openid: str) -> int:
        """Count one miss; returns the count in the current window."""
        return int(self._count(keys=[self.key(openid)], args=[self.window]))

    def block(self, openid: str, order_id: str) -> None:
        """The phone check for `order_id` failed: count a miss and ask no more for it."""
        self._count(keys=[self.key(openid), self.blocked_key(openid, order_id)],
                    args=[self.window])

    def blocked(self, openid: str, order_id: str) -> bool:
        return bool(self.redis.exists(self.blocked_key(openid, order_id)))
