"""The last turns of each user's conversation, kept so that a hand-off reaches staff with the
conversation attached (and for the staff console to show).

`chat:{openid}:turns` is a Redis list, newest first, of JSON turns
`{"at", "kind", "in", "out", "handler"}`, capped at MAX_TURNS and expiring TTL seconds after
the last message.
"""

from __future__ import annotations

import json
from typing import Any

import redis

MAX_TURNS = 20
TTL = 7 * 86_400
# What one turn keeps of a message or a reply: enough to read, never a whole flood.
MAX_CHARS = 600


class Transcript:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def key(openid: str) -> str:
        return f"chat:{openid}:turns"

    @staticmethod
    def turn(at: float, kind: str, said: str, answered: str, handler: str = "") -> dict[str, Any]:
        return {"at": int(at), "kind": kind, "in": said[:MAX_CHARS], "out": answered[:MAX_CHARS],
                "handler": handler}

    def add(self, openid: str, turn: dict[str, Any],
            pipe: redis.client.Pipeline | None = None) -> None:
        """Append a turn (into `pipe` when the caller runs one anyway)."""
        target = self.redis.pipeline(transaction=False) if pipe is None else pipe
        key = self.key(openid)
        target.lpush(key, json.dumps(turn, ensure_ascii=False))
        target.ltrim(key, 0, MAX_TURNS - 1)
        target.expire(key, TTL)
        if pipe is None:
            target.execute()

    def last(self, openid: str, limit: int = 10) -> list[dict[str, Any]]:
        """The latest `limit` turns, oldest first (as a conversation reads)."""
        raw = self.redis.lrange(self.key(openid), 0, limit - 1)
        return [json.loads(item) for item in reversed(raw)]
