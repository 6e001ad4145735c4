"""Conversation transcripts for support staff, kept `TRANSCRIPT_DAYS` and masked like the chat.

The dispatcher records each turn (the customer's message and the bot's reply) into the pipeline
the turn already sends, so a transcript costs no round trip of its own. Keys:
- `conv:{openid}`   list of JSON entries, oldest first, the last ENTRIES_KEPT kept
- `conv:recent`     sorted set: openid -> time of the last entry (the conversations list)
- `conv:last_in`    sorted set: openid -> time of the customer's last message or event, which
                    opens WeChat's 48-hour window for 客服消息
"""

from __future__ import annotations

import json
import re
from typing import Any

import redis

ENTRIES_KEPT = 300
RECENT = "conv:recent"
LAST_IN = "conv:last_in"
# WeChat lets an account send 客服消息 for 48 hours after the customer's last interaction.
WINDOW_SECONDS = 48 * 3600

IN, BOT, AGENT, EVENT = "in", "bot", "agent", "event"

# Mainland mobile numbers, shown as the chat shows them: 138****5678.
_MOBILE = re.compile(
    r"(?<![0-9０-９])(?:\+?86[- ]?)?(1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9０-９])")


def mask(text: str) -> str:
    """Hide personal numbers a customer typed (the way the chat masks them)."""
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def key(openid: str) -> str:
    return f"conv:{openid}"


class Transcripts:
    """Append and read conversations; entries expire `days` after the conversation's last."""

    def __init__(self, client: redis.Redis, days: int) -> None:
        self.redis = client
        self.ttl = max(int(days), 1) * 86_400

    def add(
        self, pipe: redis.client.Pipeline, openid: str, at: float,
        entries: list[dict[str, Any]], customer_spoke: bool,
    ) -> None:
        """Queue `entries` ({"dir", "text", …}) into `pipe`; the caller executes it."""
        if not entries:
            return
        k = key(openid)
        pipe.rpush(k, *(json.dumps({"at": int(at), **e, "text": mask(e.get("text", ""))},
                                   ensure_ascii=False) for e in entries))
        pipe.ltrim(k, -ENTRIES_KEPT, -1)
        pipe.expire(k, self.ttl)
        pipe.zadd(RECENT, {openid: at})
        if customer_spoke:
            pipe.zadd(LAST_IN, {openid: at})
        # Forget conversations whose transcripts have expired (a few entries at most per turn).
        pipe.zremrangebyscore(RECENT, "-inf", at - self.ttl)
        pipe.zremrangebyscore(LAST_IN, "-inf", at - self.ttl)

    def append(self, openid: str, at: float, entry: dict[str, Any]) -> None:
        """One entry in its own round trip (a staff reply)."""
        pipe = self.redis.pipeline(transaction=False)
        self.add(pipe, openid, at, [entry], customer_spoke=False)
        pipe.execute()

    def read(self, openid: str, limit: int = ENTRIES_KEPT) -> list[dict[str, Any]]:
        return [json.loads(e) for e in self.redis.lrange(key(openid), -limit, -1)]

    def recent(self, limit: int = 50, offset: int = 0) -> list[tuple[str, float]]:
        """Conversations, most recently active first."""
        return self.redis.zrevrange(RECENT, offset, offset + limit - 1, withscores=True)

    def last_customer_message(self, openid: str) -> float | None:
        return self.redis.zscore(LAST_IN, openid)

    def window_open(self, openid: str, now: float) -> bool:
        """Whether WeChat still accepts 客服消息 to this customer (48 h after they last wrote)."""
        last = self.last_customer_message(openid)
        return last is not None and now - last < WINDOW_SECONDS
