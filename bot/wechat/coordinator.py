"""Process each WeChat message once across workers and hosts, answer within the deadline.

WeChat delivers a message up to three times (at 0, ~5 and ~10 s) until it gets an answer, and
each delivery may land on a different worker or host. The first delivery claims the message in
Redis and runs the handler on this process's handler pool while its request waits, at most
until the deadline; the other deliveries wait for its reply, which every delivery then carries.
A reply not ready at the deadline is handed to a Dramatiq job that sends it through 客服消息
once ready, and the request answers `success`. A redelivery that finds the message still
unanswered past the deadline hands it over too, so a claimer that died before its deadline
loses nothing: the job takes the message over once the claimer's Redis lease lapses.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict
from typing import Any

import redis

from bot.conversation.messages import Incoming
from bot.conversation.replies import TEXT, TRANSFER, Reply
from bot.conversation.users import INFO_FETCH_TTL
from bot.platform.connections import ThreadConnections

log = logging.getLogger(__name__)

RECORD_TTL = 600          # longer than WeChat's retry window and the late-reply job's patience
LEASE_TTL = 10            # a claimer silent this long is presumed dead
LEASE_REFRESH = 3.0
POLL_INTERVAL = 0.05
# Handlers run beside the request threads; more than gunicorn's threads so that handlers stuck
# past their deadline do not hold up fresh messages.
HANDLER_THREADS = 32



def owner() -> str:
    """Who holds a lease or answered a message: this host and process. Read per call, not at
    import: a gunicorn master that imported the bot before forking would give every worker
    its own pid."""
    return f"{socket.gethostname()}:{os.getpid()}"

Dispatch = Callable[..., "Reply | None"]    # dispatch(msg, preloaded=None, pipe=None)

# One round trip per message: claim it, take its lease and read what the dispatcher needs
# (dialogue state, language with its source and time, flood count, and for a user of unknown
# language the daily claim on asking WeChat for it). A losing delivery learns the record's
# state at once.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
  local lang = redis.call('HMGET', KEYS[5], 'lang', 'lang_source', 'lang_at')
  local flood = false
  local fetch = false
  if KEYS[6] then
    flood = redis.call('INCR', KEYS[6])
    if flood == 1 then redis.call('EXPIRE', KEYS[6], ARGV[5]) end
    if not lang[1] then
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
        # The claim and the reply store are every message's two round trips.
        self.lane = ThreadConnections(client)
        self.leases = Leases(client)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()

    def respond(self, msg: Incoming, received_at: float) -> Reply | None:
        """The reply this delivery carries, or None to answer `success`."""
        key = record_key(msg.dedup_key)
        record = json.dumps({"state": "processing", "at": received_at})
        preload_keys, flood_ttl = self.dispatch.preload_keys(msg)
        result = self.lane.run_script(
            self.claim,
            [key, f"{key}:lease", f"{key}:late", *preload_keys],
            [record, RECORD_TTL, owner(), LEASE_TTL, flood_ttl, INFO_FETCH_TTL],
        )
        if result[0] == 1:
            return self._process(msg, key, received_at, result[1:])
        return self._await_other(msg, key, result[1], bool(result[2]))

    def _process(
        self, msg: Incoming, key: str, received_at: float, preloaded: list[Any]
    ) -> Reply | None:
        self.leases.hold(key)
        future = self._handlers().submit(self._run, msg, key, preloaded)
        try:
            return future.result(timeout=max(0.0, received_at + self.deadline - time.time()))
        except FutureTimeout:
            # WeChat stops listening at 5 s: say `success` now, the job sends the reply later.
            self.hand_to_late_job(key, msg)
            return None

    def _run(self, msg: Incoming, key: str, preloaded: list[Any]) -> Reply | None:
        try:
            return run_and_store(self.redis, key, msg, self.dispatch, preloaded, self.lane)
        except Exception:
            # After a timeout nobody reads this future; the lapsed lease lets the job retry.
            log.exception("handling %s failed", msg.dedup_key)
            raise
        finally:
            self.leases.release(key)

    def _handlers(self) -> ThreadPoolExecutor:
        # gunicorn forks workers after the app is built: threads do not survive a fork.
        if self._pool is None or self._pool_pid != os.getpid():
            with self._pool_lock:
                if self._pool is None or self._pool_pid != os.getpid():
                    self._pool = ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="handler")
                    self._pool_pid = os.getpid()
        return self._pool

    def hand_to_late_job(self, key: str, msg: Incoming) -> None:
        """Make sure exactly one 客服消息 job owns this reply from now on."""
        try:
            if self.redis.set(f"{key}:late", 1, nx=True, ex=RECORD_TTL):
                self.enqueue_late(msg)
                log.info("reply for %s is late; it will go out through 客服消息", msg.dedup_key)
        except redis.RedisError:
            # Saying `success` now would promise a 客服消息 nobody will send (WeChat does not
            # redeliver after `success`): the callback answers "busy, send it again" instead.
            log.warning("could not hand %s to the late-reply job", msg.dedup_key)
            raise

    def _await_other(
        self, msg: Incoming, key: str, raw: str | None, late: bool
    ) -> Reply | None:
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
                # Still unanswered past the deadline: its claimer may have died before it could
                # hand the message over, so this delivery does.
                self.hand_to_late_job(key, msg)
                return None
            time.sleep(POLL_INTERVAL)
            raw, late = self.redis.mget(key, f"{key}:late")


def run_and_store(
    client: redis.Redis, key: str, msg: Incoming, dispatch: Dispatch,
    preloaded: list[Any] | None = None, lane: ThreadConnections | None = None,
) -> Reply | None:
    """Run the handler; store its dialogue state and reply and drop the lease in one trip
    (over `lane`'s connection when given)."""
    pipe = client.pipeline(transaction=False)
    reply = dispatch(msg, preloaded, pipe)
    record = {
        "state": "done",
        "reply": reply.text if reply else "",
        "kind": reply.kind if reply else "",
        "at": time.time(),
        "by": owner(),
    }
    pipe.set(key, json.dumps(record, ensure_ascii=False), ex=RECORD_TTL)
    pipe.delete(f"{key}:lease")
    if lane is not None:
        lane.execute_pipeline(pipe)
    else:
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


class Leases:
    """Redis leases proving a live process is working on a message; one thread per process
    renews those in flight, so only a dead holder's lease lapses."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._active: set[str] = set()
        self._lock = threading.Lock()
        self._pid = 0

    def try_take(self, key: str) -> bool:
        """Take a lease only if nobody holds it (a takeover after the holder died)."""
        return bool(self.redis.set(f"{key}:lease", owner(), nx=True, ex=LEASE_TTL))

    def hold(self, key: str) -> None:
        """Keep renewing `key`'s lease (taken already) until `release`."""
        with self._lock:
            self._active.add(key)
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._renew_forever, daemon=True, name="leases").start()

    def release(self, key: str) -> None:
        with self._lock:
            self._active.discard(key)

    def _renew_forever(self) -> None:
        while True:
            time.sleep(LEASE_REFRESH)
            self.renew()

    def renew(self) -> None:
        with self._lock:
            keys = list(self._active)
        if not keys:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for key in keys:
                pipe.set(f"{key}:lease", owner(), ex=LEASE_TTL)
            pipe.execute()
        except redis.RedisError:
            log.warning("could not renew %d lease(s)", len(keys))
