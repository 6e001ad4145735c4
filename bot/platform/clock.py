"""Time as a dependency, so tests can stand at quiet hours or past an ETA without sleeping."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    """Wall-clock seconds since the epoch."""

    def now(self) -> float:
        return time.time()


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float) -> None:
        self.t = float(start)

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def local_datetime(clock: Clock, tz: str) -> datetime:
    """The clock's current time in the shop's time zone."""
    return datetime.fromtimestamp(clock.now(), tz=UTC).astimezone(ZoneInfo(tz))
