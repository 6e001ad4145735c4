"""Hand-offs to a human: who, why, the order concerned, the conversation so far and any photos,
for support staff (the console lists them) to pick up.

Key layout (all plain Redis types, readable by any console):

- `handoff:{id}` hash: `id`, `openid`, `reason` (`asked`, `complaint`, `damage`), `text`
  (what the customer said), `order_id` (comma-separated when it could be about several),
  `on_duty` (`1`/`0`), `status` (`open`/`closed`), `at`, `updated_at` (unix s), `count`
  (messages that raised it), `turns` (JSON list of transcript turns, oldest first:
  `{at, kind, in, out, handler}`), `photos` (JSON list of `{at, msg_id, kind, url, media_id}`);
- `handoff:open` sorted set: ids of open hand-offs, score = when opened (oldest first = the
  queue);
- `handoff:user:{openid}` string, TTL 24 h: that user's open hand-off, which a later complaint
  or photo joins;
- `handoff:seq` counter: the last id handed out (ids are `h1`, `h2`, …).

A user has at most one open hand-off; raising another while it is open updates it (a
redelivered message, an angry second message) instead of queueing the customer twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import redis

OPEN = "open"
CLOSED = "closed"
USER_TTL = 86_400
MAX_PHOTOS = 20


@dataclass
class Handoff:
    id: str
    openid: str
    reason: str
    text: str
    order_id: str = ""
    on_duty: bool = False
    status: str = OPEN
    at: int = 0
    updated_at: int = 0
    count: int = 1
    turns: list[dict[str, Any]] = field(default_factory=list)
    photos: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_hash(cls, raw: dict[str, str]) -> Handoff | None:
        if not raw or not raw.get("id"):
            return None
        return cls(
            id=raw["id"], openid=raw.get("openid", ""), reason=raw.get("reason", ""),
            text=raw.get("text", ""), order_id=raw.get("order_id", ""),
            on_duty=raw.get("on_duty") == "1", status=raw.get("status", OPEN),
            at=int(raw.get("at") or 0), updated_at=int(raw.get("updated_at") or 0),
            count=int(raw.get("count") or 1),
            turns=json.loads(raw.get("turns") or "[]"),
            photos=json.loads(raw.get("photos") or "[]"),
        )


class HandoffBook:
    """Opens, updates, attaches photos to and closes hand-offs in Redis."""

    QUEUE = "handoff:open"
    SEQ = "handoff:seq"

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def key(handoff_id: str) -> str:
        return f"handoff:{handoff_id}"

    @staticmethod
    def user_key(openid: str) -> str:
        return f"handoff:user:{openid}"

    def open(self, openid: str, reason: str, text: str, at: float, *,
             turns: list[dict[str, Any]], order_id: str = "", on_duty: bool = False) -> Handoff:
        """The user's open hand-off, created or brought up to date with this message."""
        current = self.current(openid)
        now = int(at)
        if current is not None:
            fields = {"updated_at": now, "turns": json.dumps(turns, ensure_ascii=False),
                      "on_duty": int(on_duty)}
            if order_id and not current.order_id:
                fields["order_id"] = order_id
            # A complaint outranks a plain request: staff should see the customer is upset.
            if reason == "complaint" and current.reason != "complaint":
                fields["reason"] = reason
            pipe = self.redis.pipeline(transaction=False)
            pipe.hset(self.key(current.id), mapping=fields)
            pipe.hincrby(self.key(current.id), "count", 1)
            pipe.expire(self.user_key(openid), USER_TTL)
            pipe.execute()
            return self.get(current.id) or current
        handoff_id = f"h{self.redis.incr(self.SEQ)}"
        if not self.redis.set(self.user_key(openid), handoff_id, nx=True, ex=USER_TTL):
            if self.current(openid) is not None:
                # Another worker opened one for this user a moment ago: join it.
                return self.open(openid, reason, text, at, turns=turns, order_id=order_id,
                                 on_duty=on_duty)
            # The pointer names a case that is gone or closed (staff tidied up): replace it.
            self.redis.set(self.user_key(openid), handoff_id, ex=USER_TTL)
        record = Handoff(id=handoff_id, openid=openid, reason=reason, text=text[:1000],
                         order_id=order_id, on_duty=on_duty, at=now, updated_at=now,
                         turns=turns)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(self.key(handoff_id), mapping=_fields(record))
        pipe.zadd(self.QUEUE, {handoff_id: now})
        pipe.execute()
        return record

    def current(self, openid: str) -> Handoff | None:
        """The user's open hand-off, if any."""
        handoff_id = self.redis.get(self.user_key(openid))
        if not handoff_id:
            return None
        record = self.get(handoff_id)
        return record if record is not None and record.status == OPEN else None

    def get(self, handoff_id: str) -> Handoff | None:
        return Handoff.from_hash(self.redis.hgetall(self.key(handoff_id)))

    def attach_photo(self, openid: str, photo: dict[str, Any]) -> Handoff | None:
        """Add a photo to the user's open hand-off (once per message id); None when none."""
        current = self.current(openid)
        if current is None:
            return None
        if any(p.get("msg_id") == photo.get("msg_id") for p in current.photos):
            return current
        current.photos = [*current.photos, photo][-MAX_PHOTOS:]
        self.redis.hset(self.key(current.id), mapping={
            "photos": json.dumps(current.photos, ensure_ascii=False),
            "updated_at": int(photo.get("at") or current.updated_at)})
        return current

    def open_ids(self, limit: int = 100) -> list[str]:
        """Open hand-offs, oldest first."""
        return self.redis.zrange(self.QUEUE, 0, limit - 1)

    def close(self, handoff_id: str) -> None:
        """Staff are done with it: off the queue; the user's next complaint opens a new one."""
        record = self.get(handoff_id)
        if record is None:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(self.key(handoff_id), "status", CLOSED)
        pipe.zrem(self.QUEUE, handoff_id)
        pipe.execute()
        if self.redis.get(self.user_key(record.openid)) == handoff_id:
            self.redis.delete(self.user_key(record.openid))


def _fields(record: Handoff) -> dict[str, Any]:
    return {
        "id": record.id, "openid": record.openid, "reason": record.reason, "text": record.text,
        "order_id": record.order_id, "on_duty": int(record.on_duty), "status": record.status,
        "at": record.at, "updated_at": record.updated_at, "count": record.count,
        "turns": json.dumps(record.turns, ensure_ascii=False),
        "photos": json.dumps(record.photos, ensure_ascii=False),
    }
