"""Push records, the due index and the outbox of messages being sent, in Redis.

Keys (all under `pushes:`):
- `pushes:p:{push_id}`      hash: one push (order, kind, version, openid, status, due_at…)
- `pushes:due`              sorted set: pushes not yet decided, by when they are due
- `pushes:user:{openid}`    sorted set: the same per user, so one job sends a user's due pushes
                            together (several orders changing at once become one message)
- `pushes:m:{msg_id}`       hash: one outgoing message (its member pushes, rendered content,
                            state, attempts); `pushes:m:{msg_id}:claim` the live sender's claim
- `pushes:outbox`           sorted set: messages not yet finished, by creation time
- `pushes:order:{order_id}` hash: what was last pushed for an order (rhythm, exception, point)
- `pushes:cap:{openid}:{day}`, `pushes:kf:{openid}:{window}` counters
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import redis

PREFIX = "pushes:"
DUE = PREFIX + "due"
OUTBOX = PREFIX + "outbox"
RECORD_TTL = 30 * 86_400
STATE_TTL = 60 * 86_400

FINAL = frozenset({"sent", "merged", "suppressed", "failed"})

_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'order_id', ARGV[2], 'openid', ARGV[3], 'kind', ARGV[4],
           'version', ARGV[5], 'due_at', ARGV[6], 'created_at', ARGV[7], 'data', ARGV[8],
           'reason', ARGV[9], 'status', 'queued', 'held', '0')
redis.call('EXPIRE', KEYS[1], ARGV[10])
redis.call('ZADD', KEYS[2], ARGV[11], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
return 1
"""

# KEYS: message hash, claim key. ARGV: token, claim ttl. Returns {state, attempts}.
_CLAIM = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing', 0} end
if state ~= 'pending' then return {state, 0} end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[2]) then return {'busy', 0} end
return {'claimed', redis.call('HINCRBY', KEYS[1], 'attempts', 1)}
"""


@dataclass(frozen=True)
class PushRecord:
    push_id: str
    order_id: str
    openid: str
    kind: str
    version: int
    status: str
    due_at: float
    created_at: float
    held: bool = False
    msg: str = ""
    reason: str = ""
    data: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_hash(cls, push_id: str, raw: dict[str, str]) -> PushRecord | None:
        if not raw or "kind" not in raw:
            return None
        return cls(push_id=push_id, order_id=raw["order_id"], openid=raw.get("openid", ""),
                   kind=raw["kind"], version=int(raw.get("version") or 0),
                   status=raw.get("status", "queued"), due_at=float(raw.get("due_at") or 0),
                   created_at=float(raw.get("created_at") or 0), held=raw.get("held") == "1",
                   msg=raw.get("msg", ""), reason=raw.get("reason", ""),
                   data=json.loads(raw.get("data") or "{}"))


def record_key(push_id: str) -> str:
    return f"{PREFIX}p:{push_id}"


def user_key(openid: str) -> str:
    return f"{PREFIX}user:{openid}"


def message_key(msg_id: str) -> str:
    return f"{PREFIX}m:{msg_id}"


class PushStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._create = client.register_script(_CREATE)
        self._claim = client.register_script(_CLAIM)

    # Pushes ---------------------------------------------------------------------------------

    def create(self, push_id: str, *, order_id: str, openid: str, kind: str, version: int,
               due_at: float, created_at: float, data: dict[str, str] | None = None,
               reason: str = "", sweep_at: float | None = None, pipe: Any = None) -> bool:
        """Record a new push, due at `due_at`; False when this push exists already. The
        scheduler's sweep looks at it from `sweep_at` (a push handed to a job at once is
        swept only if still undecided long after, i.e. if its job was lost)."""
        keys = [record_key(push_id), DUE, user_key(openid)]
        args = [push_id, order_id, openid, kind, version, repr(due_at), repr(created_at),
                json.dumps(data or {}, ensure_ascii=False), reason, RECORD_TTL,
                repr(sweep_at if sweep_at is not None else due_at)]
        if pipe is not None:
            # The answer comes with the pipeline's; EVAL spares the SCRIPT EXISTS round trip
            # a pipeline makes before EVALSHA.
            pipe.eval(_CREATE, len(keys), *keys, *args)
            return True
        return bool(self._create(keys=keys, args=args))

    def get(self, push_id: str) -> PushRecord | None:
        return PushRecord.from_hash(push_id, self.redis.hgetall(record_key(push_id)))

    def get_many(self, push_ids: list[str]) -> list[PushRecord]:
        pipe = self.redis.pipeline(transaction=False)
        for pid in push_ids:
            pipe.hgetall(record_key(pid))
        found = (PushRecord.from_hash(pid, raw) for pid, raw in zip(push_ids, pipe.execute(),
                                                                      strict=True))
        return [rec for rec in found if rec is not None]

    def exists(self, push_id: str) -> bool:
        return bool(self.redis.exists(record_key(push_id)))

    def user_due(self, openid: str, until: float) -> list[str]:
        return self.redis.zrangebyscore(user_key(openid), "-inf", repr(until))

    def due(self, until: float, limit: int = 500) -> list[str]:
        return self.redis.zrangebyscore(DUE, "-inf", repr(until), start=0, num=limit)

    def hold(self, rec: PushRecord, until: float, reason: str, pipe: Any) -> None:
        """Due again at `until`; released pushes are re-rendered from the order then."""
        pipe.hset(record_key(rec.push_id), mapping={"status": "held", "due_at": repr(until),
                                                    "held": "1", "reason": reason})
        pipe.zadd(DUE, {rec.push_id: until})
        pipe.zadd(user_key(rec.openid), {rec.push_id: until})

    def release_held(self, reasons: set[str], now: float, batch: int = 1000) -> int:
        """Make every push held for one of `reasons` due now (the merchant changed the rule
        that held it): the sweep hands them to jobs, which decide them again under the rules
        then in force, holding them anew if the new rule still says so. How many."""
        released, start = 0, 0
        while True:
            ids = self.redis.zrangebyscore(DUE, f"({now!r}", "+inf", start=start, num=batch)
            if not ids:
                return released
            pipe = self.redis.pipeline(transaction=False)
            for pid in ids:
                pipe.hmget(record_key(pid), "status", "reason", "openid")
            write = self.redis.pipeline(transaction=False)
            moved = 0
            for pid, (status, reason, openid) in zip(ids, pipe.execute(), strict=True):
                if status == "held" and reason in reasons and openid:
                    write.hset(record_key(pid), "due_at", repr(now))
                    write.zadd(DUE, {pid: now}, xx=True)
                    write.zadd(user_key(openid), {pid: now}, xx=True)
                    moved += 1
            write.execute()
            released += moved
            # Moved entries leave the range scanned: the next page starts past the rest.
            start += len(ids) - moved

    def finish(self, rec: PushRecord, status: str, reason: str, pipe: Any,
               **fields: str) -> None:
        pipe.hset(record_key(rec.push_id), mapping={"status": status, "reason": reason,
                                                    **fields})
        pipe.zrem(DUE, rec.push_id)
        pipe.zrem(user_key(rec.openid), rec.push_id)

    def swept(self, push_ids: list[str], msg_ids: list[str], again_at: float) -> None:
        """The sweep enqueued these: look at them again only at `again_at` (their jobs
        normally finish them long before)."""
        pipe = self.redis.pipeline(transaction=False)
        for pid in push_ids:
            pipe.zadd(DUE, {pid: again_at}, xx=True)
        for msg_id in msg_ids:
            pipe.zadd(OUTBOX, {msg_id: again_at}, xx=True)
        pipe.execute()

    # Outbox ---------------------------------------------------------------------------------

    def open_message(self, msg_id: str, openid: str, members: list[PushRecord],
                     content: dict[str, Any], now: float, pipe: Any) -> None:
        """The message that will carry `members`: written with their "sending" state in the
        same transaction, so a worker dying afterwards leaves it to be finished, not lost."""
        pipe.hset(message_key(msg_id), mapping={
            "openid": openid, "state": "pending", "created_at": repr(now), "attempts": 0,
            "members": json.dumps([m.push_id for m in members]),
            "content": json.dumps(content, ensure_ascii=False)})
        pipe.expire(message_key(msg_id), RECORD_TTL)
        pipe.zadd(OUTBOX, {msg_id: now})
        for rec in members:
            pipe.hset(record_key(rec.push_id), mapping={"status": "sending", "msg": msg_id})
            pipe.zrem(DUE, rec.push_id)
            pipe.zrem(user_key(rec.openid), rec.push_id)

    def message(self, msg_id: str) -> dict[str, Any] | None:
        raw = self.redis.hgetall(message_key(msg_id))
        if not raw:
            return None
        return {**raw, "members": json.loads(raw["members"]),
                "content": json.loads(raw["content"]), "attempts": int(raw.get("attempts", 0))}

    def claim_message(self, msg_id: str, token: str, ttl: int) -> tuple[str, int]:
        """('claimed', attempt number) for the one sender; else the message's state or 'busy'."""
        state, attempts = self._claim(keys=[message_key(msg_id), message_key(msg_id) + ":claim"],
                                      args=[token, ttl])
        return state, int(attempts)

    def close_message(self, msg_id: str, state: str, pipe: Any, **fields: str) -> None:
        pipe.hset(message_key(msg_id), mapping={"state": state, **fields})
        pipe.delete(message_key(msg_id) + ":claim")
        pipe.zrem(OUTBOX, msg_id)

    def release_claim(self, msg_id: str) -> None:
        self.redis.delete(message_key(msg_id) + ":claim")

    def stuck_messages(self, older_than: float, limit: int = 200) -> list[str]:
        return self.redis.zrangebyscore(OUTBOX, "-inf", repr(older_than), start=0, num=limit)

    # What was pushed per order, and per-user counters --------------------------------------

    def order_state(self, order_id: str) -> dict[str, str]:
        return self.redis.hgetall(f"{PREFIX}order:{order_id}")

    def set_order_state(self, order_id: str, pipe: Any, **fields: str) -> None:
        pipe.hset(f"{PREFIX}order:{order_id}", mapping=fields)
        pipe.expire(f"{PREFIX}order:{order_id}", STATE_TTL)

    @staticmethod
    def cap_key(openid: str, day: str) -> str:
        return f"{PREFIX}cap:{openid}:{day}"

    def cap_count(self, openid: str, day: str) -> int:
        return int(self.redis.get(self.cap_key(openid, day)) or 0)

    @staticmethod
    def kf_key(openid: str, window: str) -> str:
        return f"{PREFIX}kf:{openid}:{window}"

    def kf_count(self, openid: str, window: str) -> int:
        return int(self.redis.get(self.kf_key(openid, window)) or 0)
