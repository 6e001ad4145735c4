"""Each user's conversation, turn by turn, so that a hand-off reaches staff with the conversation
attached and the staff console can show it; kept `TRANSCRIPT_DAYS` and masked like the chat.

Keys:
- `chat:{openid}:turns`  list, newest first, of JSON turns `{"at", "kind", "in", "out",
                         "handler"}` (a staff reply: kind `agent`, `out`, `by`), capped at
                         MAX_TURNS, expiring `TRANSCRIPT_DAYS` after the last one
- `chat:recent`          sorted set: openid -> time of the last turn (the console's list)

(When the customer last wrote, which opens WeChat's 48-hour window for 客服消息, is the user's
`last_message_at`: `bot.conversation.users.UserStore.seen`.)

The dispatcher queues each turn, and the day's counters (`bot.platform.daily`), into the
pipeline the turn already sends, as one EVAL: no round trip of its own.
"""

from __future__ import annotations

import json
import re
from typing import Any

import redis

MAX_TURNS = 300
DEFAULT_DAYS = 30
# What one turn keeps of a message or a reply: enough to read, never a whole flood.
MAX_CHARS = 600
RECENT = "chat:recent"
AGENT = "agent"

# Mainland mobile numbers, shown as the chat shows them: 138****5678.
_MOBILE = re.compile(
    r"(?<![0-9０-９])(?:\+?86[- ]?)?(1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9０-９])")

# KEYS: turns, recent, day counters. ARGV: ttl, now, openid, turns kept, counters' ttl, the
# turn, then counter name/increment pairs.
_RECORD = """
redis.call('LPUSH', KEYS[1], ARGV[6])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[4]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
-- Forget conversations whose transcripts have expired (usually nothing to remove).
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[1]))
if #ARGV >= 7 then
  for i = 7, #ARGV, 2 do redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1]) end
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
return 1
"""


def mask(text: str) -> str:
    """Hide personal numbers a customer typed (the way the chat masks them)."""
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


class Transcript:
    def __init__(self, client: redis.Redis, days: int = DEFAULT_DAYS) -> None:
        self.redis = client
        self.ttl = max(int(days), 1) * 86_400

    @staticmethod
    def key(openid: str) -> str:
        return f"chat:{openid}:turns"

    @staticmethod
    def turn(at: float, kind: str, said: str, answered: str, handler: str = "") -> dict[str, Any]:
        return {"at": int(at), "kind": kind, "in": mask(said[:MAX_CHARS]),
                "out": mask(answered[:MAX_CHARS]), "handler": handler}

    def add(self, openid: str, turn: dict[str, Any],
            pipe: redis.client.Pipeline | None = None, *, counts_key: str = "",
            counts: dict[str, int] | None = None, counts_ttl: int = 0) -> None:
        """Append a turn (into `pipe` when the caller runs one anyway), with increments of
        `counts` in the hash `counts_key` (the day's counters) in the same call."""
        target = self.redis.pipeline(transaction=False) if pipe is None else pipe
        pairs = [x for name, value in (counts or {}).items() if value for x in (name, value)]
        # EVAL with the text rather than a registered Script: in a pipeline, redis-py first
        # asks SCRIPT EXISTS in a round trip of its own; Redis caches the compiled text anyway.
        target.eval(_RECORD, 3, self.key(openid), RECENT, counts_key or self.key(openid),
                    self.ttl, turn["at"], openid, MAX_TURNS, counts_ttl,
                    json.dumps(turn, ensure_ascii=False), *pairs)
        if pipe is None:
            target.execute()

    def add_reply(self, openid: str, at: float, text: str, by: str) -> None:
        """A staff member's reply (sent as 客服消息), in its own round trip."""
        turn = {**self.turn(at, AGENT, "", text), "by": by}
        self.add(openid, turn)

    def last(self, openid: str, limit: int = 10) -> list[dict[str, Any]]:
        """The latest `limit` turns, oldest first (as a conversation reads)."""
        raw = self.redis.lrange(self.key(openid), 0, limit - 1)
        return [json.loads(item) for item in reversed(raw)]

    def recent(self, limit: int = 50, offset: int = 0) -> list[tuple[str, float]]:
        """Conversations, most recently active first."""
        return self.redis.zrevrange(RECENT, offset, offset + limit - 1, withscores=True)
