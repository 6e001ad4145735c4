"""One leader among every worker process runs the periodic tasks.

The leader holds `pushes:leader` (a Redis lease, `LEASE_TTL`), renewed every tick; when it dies
the lease lapses and the first other worker to tick takes over, within about `LEASE_TTL`
seconds. Tasks must be idempotent: around a takeover one may run twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

LEADER_KEY = "pushes:leader"
LEASE_TTL = 15.0
TICK = 1.0

# Take or keep the lease: ARGV[1] our name, ARGV[2] ttl in ms.
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


@dataclass
class Task:
    name: str
    seconds: float
    run: Callable[[float], object]
    last: float = 0.0


class Scheduler:
    def __init__(self, client: redis.Redis, name: str, lease_ttl: float = LEASE_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = client
        self.name = name
        self.lease_ttl = lease_ttl
        self.clock = clock
        self.tasks: dict[str, Task] = {}
        self.leader = False
        self._lease = client.register_script(_LEASE)

    def every(self, name: str, seconds: float, task: Callable[[float], object]) -> None:
        """Run `task(now)` every `seconds` on the leader (registering a name again replaces)."""
        self.tasks[name] = Task(name, seconds, task)

    def tick(self) -> bool:
        """Hold or take the lease; as leader, run the tasks that are due. True if leader."""
        was = self.leader
        self.leader = bool(self._lease(keys=[LEADER_KEY],
                                       args=[self.name, int(self.lease_ttl * 1000)]))
        if self.leader != was:
            log.info("push scheduler %s: %s", self.name, "leader" if self.leader else "follower")
        if not self.leader:
            return False
        now = self.clock()
        for task in list(self.tasks.values()):
            if now - task.last >= task.seconds:
                task.last = now
                try:
                    task.run(now)
                except redis.RedisError:
                    raise
                except Exception:
                    log.exception("scheduled task %s failed", task.name)
        return True

    def resign(self) -> None:
        """Give the lease up at shutdown, so another worker leads at once."""
        try:
            if self.redis.get(LEADER_KEY) == self.name:
                self.redis.delete(LEADER_KEY)
        except redis.RedisError:
            pass
        self.leader = False

    def run(self, stop: threading.Event, tick: float = TICK) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except redis.RedisError as exc:
                # Redis restarting: nobody leads until it is back; the lease simply lapses.
                self.leader = False
                log.warning("push scheduler: Redis unavailable (%s)", exc)
            stop.wait(tick)
        self.resign()
