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


# KEYS: transcript, recent, last_in, day counters. ARGV: ttl, now, openid, customer spoke (1/0),
# entries kept, counters' ttl, number of entries, the entries, then counter name/increment pairs.
_RECORD = """
local n = tonumber(ARGV[7])
for i = 1, n do redis.call('RPUSH', KEYS[1], ARGV[7 + i]) end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[5]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if ARGV[4] == '1' then redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3]) end
-- Forget conversations whose transcripts have expired (usually nothing to remove).
local cutoff = tonumber(ARGV[2]) - tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', cutoff)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', cutoff)
local first = 8 + n
if #ARGV >= first then
  for i = first, #ARGV, 2 do redis.call('HINCRBY', KEYS[4], ARGV[i], ARGV[i + 1]) end
  redis.call('EXPIRE', KEYS[4], ARGV[6])
end
return n
"""


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
        counts_key: str = "", counts: dict[str, int] | None = None, counts_ttl: int = 0,
    ) -> None:
        """Queue `entries` ({"dir", "text", …}), and increments of `counts` in the hash
        `counts_key` (the day's counters), into `pipe` as one script call: the caller
        executes it. One command rather than a dozen keeps a chat turn's cost flat."""
        if not entries:
            return
        lines = [json.dumps({"at": int(at), **e, "text": mask(e.get("text", ""))},
                            ensure_ascii=False) for e in entries]
        pairs = [x for name, value in (counts or {}).items() if value for x in (name, value)]
        # EVAL with the text rather than a registered Script: in a pipeline, redis-py first asks
        # SCRIPT EXISTS in a round trip of its own; Redis caches the compiled text anyway.
        pipe.eval(_RECORD, 4, key(openid), RECENT, LAST_IN, counts_key or key(openid),
                  self.ttl, at, openid, int(customer_spoke), ENTRIES_KEPT, counts_ttl,
                  len(lines), *lines, *pairs)

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
