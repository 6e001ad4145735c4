"""The consumer group `pushes` on `orders:changes`: each change becomes its pushes, then XACK.

Entries a consumer read but never acknowledged (it died) are taken over with XAUTOCLAIM once
idle for `claim_idle` seconds. Handling is idempotent (a push is created once per identity),
so an entry handled twice plans nothing twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis

from bot.orders.store import STREAM

log = logging.getLogger(__name__)

GROUP = "pushes"


def ensure_group(client: redis.Redis, create_stream: bool = True) -> None:
    """Create the group at the stream's end (changes from before the first start are not
    pushed: they are old news); an existing group is kept where it is. Without
    `create_stream`, nothing is created where there is no stream yet (the web app at start:
    a worker creates both before the first event)."""
    if not create_stream and not client.exists(STREAM):
        return
    try:
        client.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class ChangeConsumer:
    def __init__(self, client: redis.Redis, name: str,
                 handle: Callable[[list[dict[str, str]]], object], *, batch: int = 100,
                 block_ms: int = 1000, claim_idle: float = 15.0) -> None:
        self.redis = client
        self.name = name
        self.handle = handle
        self.batch = batch
        self.block_ms = block_ms
        self.claim_idle_ms = int(claim_idle * 1000)

    def poll(self) -> int:
        """Handle what a dead consumer left, then new entries; returns how many."""
        ensure_group(self.redis)
        _, claimed, *_ = self.redis.xautoclaim(STREAM, GROUP, self.name, self.claim_idle_ms,
                                                start_id="0-0", count=self.batch)
        done = self._handle_all(claimed)
        # BLOCK 0 would wait forever: a test's consumer (block_ms 0) only looks.
        block = self.block_ms if self.block_ms > 0 and not done else None
        read = self.redis.xreadgroup(GROUP, self.name, {STREAM: ">"}, count=self.batch,
                                     block=block)
        for _, entries in read or []:
            done += self._handle_all(entries)
        return done

    def _handle_all(self, entries: list) -> int:
        """Plan a batch at once (a few round trips for the lot); if it fails for a reason
        other than Redis, entry by entry, so one unreadable change cannot block the group."""
        if not entries:
            return 0
        # None: trimmed from the stream while pending.
        present = [fields for _, fields in entries if fields is not None]
        try:
            self.handle(present)
        except redis.RedisError:
            raise
        except Exception:
            for entry_id, fields in entries:
                if fields is None:
                    continue
                try:
                    self.handle([fields])
                except redis.RedisError:
                    raise
                except Exception:
                    log.exception("push planning failed for %s", entry_id)
        self.redis.xack(STREAM, GROUP, *[entry_id for entry_id, _ in entries])
        return len(entries)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll()
            except redis.RedisError as exc:
                log.warning("push consumer %s: Redis unavailable (%s); retrying", self.name, exc)
                stop.wait(1.0)
