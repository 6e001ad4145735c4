"""催件: customers asking to hurry an order, kept for staff (and a future console) to act on.

- `orders:hurry:{order_id}` hash: `order_id`, `openid`, `count` (requests), `first_at`,
  `last_at` (unix s), `last_text`, `status_at_request` (the order's status when last asked);
- `orders:hurry:open` sorted set: order ids asked to hurry, score = first request (oldest
  first);
- `orders:hurry:{order_id}:msgs` set, TTL 7 d: message keys already counted (a redelivered or
  retried message counts once).

Staff (or the console) remove an order from `orders:hurry:open` once they have acted on it;
a new request puts it back.
"""

from __future__ import annotations

import redis

QUEUE = "orders:hurry:open"
SEEN_TTL = 7 * 86_400


class HurryRequests:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def key(order_id: str) -> str:
        return f"orders:hurry:{order_id}"

    def record(self, order_id: str, openid: str, status: str, text: str, at: float,
               message_key: str) -> int:
        """Count one request (once per message) and queue the order; returns how many times
        the customer has asked about it."""
        key = self.key(order_id)
        seen = f"{key}:msgs"
        pipe = self.redis.pipeline(transaction=False)
        pipe.sadd(seen, message_key)
        pipe.expire(seen, SEEN_TTL)
        added, _ = pipe.execute()
        now = int(at)
        pipe = self.redis.pipeline(transaction=True)
        if added:
            pipe.hincrby(key, "count", 1)
        pipe.hsetnx(key, "first_at", now)
        pipe.hset(key, mapping={"order_id": order_id, "openid": openid, "last_at": now,
                                "last_text": text[:500], "status_at_request": status})
        pipe.zadd(QUEUE, {order_id: now}, nx=True)
        pipe.hget(key, "count")
        return int(pipe.execute()[-1] or 1)

    def get(self, order_id: str) -> dict[str, str]:
        return self.redis.hgetall(self.key(order_id))

    def open_orders(self, limit: int = 100) -> list[str]:
        return self.redis.zrange(QUEUE, 0, limit - 1)

    def done(self, order_id: str) -> None:
        """Staff acted on it: off the queue (the history stays in the hash)."""
        self.redis.zrem(QUEUE, order_id)
