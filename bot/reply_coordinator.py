"""Process each WeChat message once across workers and hosts, answer within the deadline.

WeChat delivers a message up to three times (at 0, ~5 and ~10 s) until it gets an answer, and
each delivery may land on a different worker or host. The first delivery claims the message in
Redis and runs the handler in its own request thread; the others wait for its reply, which every
delivery then carries. One watchdog thread per process notices a handler still running at the
deadline: it marks the message late and enqueues a Dramatiq job that sends the reply through
客服消息 once ready. The job also takes the message over if the claiming worker died (its lease
in Redis lapsed), so nothing is lost and nothing is sent twice.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import redis

from bot.messages import Incoming
from bot.replies import TEXT, TRANSFER, Reply
from bot.users import INFO_FETCH_TTL

log = logging.getLogger(__name__)

RECORD_TTL = 600          # longer than WeChat's retry window and the late-reply job's patience
LEASE_TTL = 10            # a claimer silent this long is presumed dead
LEASE_REFRESH = 3.0
WATCH_INTERVAL = 0.05
POLL_INTERVAL = 0.05

OWNER = f"{socket.gethostname()}:{os.getpid()}"

Dispatch = Callable[..., "Reply | None"]    # dispatch(msg, preloaded=None, pipe=None)

# One round trip per message: claim it, take its lease and read what the dispatcher needs
# (dialogue state, language, flood count, and for a user of unknown language the daily claim
# on asking WeChat for it). A losing delivery learns the record's state at once.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
  local lang = redis.call('HGET', KEYS[5], 'lang')
  local flood = false
  local fetch = false
  if KEYS[6] then
    flood = redis.call('INCR', KEYS[6])
    if flood == 1 then redis.call('EXPIRE', KEYS[6], ARGV[5]) end
    if not lang then
      fetch = redis.call('SET', KEYS[7], 1, 'NX', 'EX', ARGV[6]) and 1 or 0
    end
  end
  return {1, redis.call('GET', KEYS[4]), lang, flood, fetch}
end
return {0, redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[3])}
"""


def record_key(dedup_key: str) -> str:
    return f"once:{dedup_key}"


def message_from_payload(payload: dict[str, Any]) -> Incoming:
    return Incoming(**payload)


class ReplyCoordinator:
    """Runs `dispatch` once per message and returns the reply text a delivery should carry."""

    def __init__(
        self,
        client: redis.Redis,
        dispatch: Dispatch,
        deadline: float,
        enqueue_late: Callable[[Incoming], None],
    ) -> None:
        self.redis = client
        self.dispatch = dispatch
        self.deadline = deadline
        self.enqueue_late = enqueue_late
        self.claim = client.register_script(_CLAIM)
        self.leases = Leases(client)
        self.watchdog = Watchdog(self.leases, self._went_late)

    def respond(self, msg: Incoming, received_at: float) -> Reply | None:
        """The reply this delivery carries, or None to answer `success`."""
        key = record_key(msg.dedup_key)
        record = json.dumps({"state": "processing", "at": received_at})
        preload_keys, flood_ttl = self.dispatch.preload_keys(msg)
        result = self.claim(
            keys=[key, f"{key}:lease", f"{key}:late", *preload_keys],
            args=[record, RECORD_TTL, OWNER, LEASE_TTL, flood_ttl, INFO_FETCH_TTL],
        )
        if result[0] == 1:
            return self._process(msg, key, received_at, result[1:])
        return self._await_other(key, result[1], bool(result[2]))

    def _process(
        self, msg: Incoming, key: str, received_at: float, preloaded: list[Any]
    ) -> Reply | None:
        entry = self.watchdog.watch(key, msg, received_at + self.deadline)
        try:
            reply = run_and_store(self.redis, key, msg, self.dispatch, preloaded)
        finally:
            self.watchdog.unwatch(entry)
        # Late: the 客服消息 job owns the reply now; this connection was dropped by WeChat.
        return None if entry.late else reply

    def _went_late(self, key: str, msg: Incoming) -> None:
        self.redis.set(f"{key}:late", 1, ex=RECORD_TTL)
        self.enqueue_late(msg)
        log.info("reply for %s is late; it will go out through 客服消息", msg.dedup_key)

    def _await_other(self, key: str, raw: str | None, late: bool) -> Reply | None:
        # Another delivery of this message is (or was) processed: every delivery carries the
        # same answer, since WeChat redelivers only when it did not get the earlier one. Once
        # the reply is late it belongs to the 客服消息 job alone, so deliveries say `success`.
        while True:
            if raw is None or late:
                return None
            record = json.loads(raw)
            if record["state"] == "done":
                return reply_of(record)
            if time.time() >= record["at"] + self.deadline:
                return None
            time.sleep(POLL_INTERVAL)
            raw, late = self.redis.mget(key, f"{key}:late")


def run_and_store(
    client: redis.Redis, key: str, msg: Incoming, dispatch: Dispatch,
    preloaded: list[Any] | None = None,
) -> Reply | None:
    """Run the handler; store its dialogue state and reply and drop the lease in one trip."""
    pipe = client.pipeline(transaction=False)
    reply = dispatch(msg, preloaded, pipe)
    record = {
        "state": "done",
        "reply": reply.text if reply else "",
        "kind": reply.kind if reply else "",
        "at": time.time(),
        "by": OWNER,
    }
    pipe.set(key, json.dumps(record, ensure_ascii=False), ex=RECORD_TTL)
    pipe.delete(f"{key}:lease")
    pipe.execute()
    return reply_of(record)


def reply_of(record: dict[str, Any]) -> Reply | None:
    """The stored reply of a finished record (None when the handler had nothing to say)."""
    if not record.get("reply") and record.get("kind") != TRANSFER:
        return None
    return Reply(record.get("reply", ""), record.get("kind") or TEXT)


def read_record(client: redis.Redis, key: str) -> dict[str, Any] | None:
    raw = client.get(key)
    return json.loads(raw) if raw else None


def lease_alive(client: redis.Redis, key: str) -> bool:
    return bool(client.exists(f"{key}:lease"))


def payload_of(msg: Incoming) -> dict[str, Any]:
    return asdict(msg)


class _Watched:
    __slots__ = ("key", "msg", "due", "late", "done")

    def __init__(self, key: str, msg: Incoming, due: float) -> None:
        self.key, self.msg, self.due = key, msg, due
        self.late = False
        self.done = False

    def __lt__(self, other: _Watched) -> bool:
        return self.due < other.due


class Watchdog:
    """One thread per process: fires `on_late` for handlers still running at their deadline and
    renews the Redis leases of every message in flight."""

    def __init__(self, leases: Leases, on_late: Callable[[str, Incoming], None]) -> None:
        self.leases = leases
        self.on_late = on_late
        self._heap: list[_Watched] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def watch(self, key: str, msg: Incoming, due: float) -> _Watched:
        entry = _Watched(key, msg, due)
        with self._lock:
            heapq.heappush(self._heap, entry)
            self.leases.active.add(key)
            # gunicorn forks workers: a thread started in another process does not exist here.
            if self._pid != os.getpid() or self._thread is None:
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, daemon=True, name="watchdog")
                self._thread.start()
        return entry

    def unwatch(self, entry: _Watched) -> None:
        with self._lock:
            entry.done = True
            self.leases.active.discard(entry.key)

    def _run(self) -> None:
        next_renewal = time.time() + LEASE_REFRESH
        while True:
            time.sleep(WATCH_INTERVAL)
            now = time.time()
            fired = []
            with self._lock:
                while self._heap and (self._heap[0].done or self._heap[0].due <= now):
                    entry = heapq.heappop(self._heap)
                    if not entry.done:
                        entry.late = True
                        fired.append(entry)
            for entry in fired:
                try:
                    self.on_late(entry.key, entry.msg)
                except Exception:
                    # The lease still lapses when the handler ends, so a later job can recover.
                    log.exception("could not hand %s to the late-reply job", entry.key)
            if now >= next_renewal:
                self.leases.renew()
                next_renewal = now + LEASE_REFRESH


class Leases:
    """Redis leases proving a live process is working on a message."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self.active: set[str] = set()

    def try_take(self, key: str) -> bool:
        """Take a lease only if nobody holds it (a takeover after the holder died)."""
        return bool(self.redis.set(f"{key}:lease", OWNER, nx=True, ex=LEASE_TTL))

    def renew(self) -> None:
        keys = list(self.active)
        if not keys:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for key in keys:
                pipe.set(f"{key}:lease", OWNER, ex=LEASE_TTL)
            pipe.execute()
        except redis.RedisError:
            log.warning("could not renew %d lease(s)", len(keys))
