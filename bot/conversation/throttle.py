"""Per-user flood control: a fixed window counter in Redis, shared by every worker."""

from __future__ import annotations

import redis


class FloodGuard:
    """Allows `limit` messages per user per `window` seconds."""

    def __init__(self, client: redis.Redis, limit: int, window: int) -> None:
        self.redis = client
        self.limit = limit
        self.window = window

    def allow(self, openid: str, now: float) -> bool:
        pipe = self.redis.pipeline(transaction=False)
        self.queue(pipe, openid, now)
        count, _ = pipe.execute()
        return self.allows(count)

    def key(self, openid: str, now: float) -> str:
        return f"flood:{openid}:{int(now // self.window)}"

    @property
    def ttl(self) -> int:
        return self.window * 2

    def queue(self, pipe: redis.client.Pipeline, openid: str, now: float) -> None:
        """Add the count to a pipeline the caller runs anyway (two results: count, expire)."""
        key = self.key(openid, now)
        pipe.incr(key)
        pipe.expire(key, self.ttl)

    def allows(self, count: int) -> bool:
        return int(count) <= self.limit

    def first_refusal(self, count: int) -> bool:
        """The first message over the limit in its window: the one that is told so (the rest
        of the window is refused quietly, the customer having been asked to wait)."""
        return int(count) == self.limit + 1

    def seconds_left(self, now: float) -> int:
        """Seconds until the current window ends and messages are read again."""
        return max(1, int(self.window - now % self.window))
