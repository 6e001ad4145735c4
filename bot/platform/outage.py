"""One log line per interval for a dependency that is down, not a traceback per message."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

INTERVAL = 60.0


class OutageLog:
    """Counts failures of one dependency and reports them at most once per `interval`:
    the first failure at once, then a summary line while it lasts, then "back"."""

    def __init__(self, name: str, interval: float = INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._reported_at = 0.0
        self._failures = 0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, exc: BaseException, where: str = "") -> None:
        now = self.clock()
        with self._lock:
            self._failures += 1
            if self._down_since is None:
                self._down_since = now
            elif now - self._reported_at < self.interval:
                return
            self._reported_at = now
            failures, since = self._failures, now - self._down_since
        log.error("%s unreachable (%s: %s)%s: %d failure(s) in %.0f s; next report in %.0f s",
                  self.name, type(exc).__name__, str(exc)[:200],
                  f" in {where}" if where else "", failures, since, self.interval)

    def ok(self) -> None:
        if self._down_since is None:      # the common case: no lock, no work
            return
        with self._lock:
            if self._down_since is None:
                return
            failures, since = self._failures, self.clock() - self._down_since
            self._down_since, self._failures = None, 0
        log.warning("%s reachable again after %.0f s (%d failure(s))", self.name, since,
                    failures)


# The process's view of its Redis: every part of the web app reports to the same one.
redis_outage = OutageLog("Redis")
