"""Customers waiting for a person: one entry per customer, oldest request first.

- `handoff:queue`            sorted set: openid -> when they first asked (since the last close)
- `handoff:request:{openid}` hash: the latest request's text and time, the first time, how
                             many times they asked, and whether staff were on duty
Staff answering or closing the request takes the customer off the queue.
"""

from __future__ import annotations

from typing import Any

import redis

QUEUE = "handoff:queue"


def request_key(openid: str) -> str:
    return f"handoff:request:{openid}"


class HandoffQueue:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def request(self, openid: str, text: str, at: float, on_duty: bool) -> None:
        """Queue (or re-queue) a customer; asking again keeps their place in the queue."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(QUEUE, {openid: at}, nx=True)
        pipe.hsetnx(request_key(openid), "first_at", int(at))
        pipe.hset(request_key(openid), mapping={
            "text": text, "at": int(at), "on_duty": int(on_duty)})
        pipe.hincrby(request_key(openid), "count", 1)
        pipe.execute()

    def waiting(self, limit: int = 200) -> list[dict[str, Any]]:
        """Customers waiting, the longest-waiting first."""
        entries = self.redis.zrange(QUEUE, 0, limit - 1, withscores=True)
        pipe = self.redis.pipeline(transaction=False)
        for openid, _ in entries:
            pipe.hgetall(request_key(openid))
        details = pipe.execute() if entries else []
        return [self._entry(openid, since, info)
                for (openid, since), info in zip(entries, details, strict=True)]

    def get(self, openid: str) -> dict[str, Any] | None:
        since = self.redis.zscore(QUEUE, openid)
        if since is None:
            return None
        return self._entry(openid, since, self.redis.hgetall(request_key(openid)))

    def close(self, openid: str) -> bool:
        """Take the customer off the queue; False if they were not on it."""
        pipe = self.redis.pipeline()
        pipe.zrem(QUEUE, openid)
        pipe.delete(request_key(openid))
        removed, _ = pipe.execute()
        return bool(removed)

    def size(self) -> int:
        return int(self.redis.zcard(QUEUE))

    @staticmethod
    def _entry(openid: str, since: float, info: dict[str, str]) -> dict[str, Any]:
        return {
            "openid": openid,
            "since": int(since),
            "at": int(info.get("at", since)),
            "text": info.get("text", ""),
            "count": int(info.get("count", 1)),
            "on_duty": info.get("on_duty") == "1",
        }
