"""Daily time windows in the shop's zone ("22:00-08:00"): inside or not, and when one next
opens or closes. Used for SMS night hours and best-hour placement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    start: dtime
    end: dtime

    @classmethod
    def parse(cls, spec: str) -> Window:
        """`HH:MM-HH:MM`; a window whose end is before its start runs past midnight. `H:MM`
        too, as config.py lets it through (SMS_QUIET_HOURS=21:00-7:00)."""
        try:
            start, end = (part.strip().zfill(5) for part in spec.split("-", 1))
            return cls(dtime.fromisoformat(start), dtime.fromisoformat(end))
        except ValueError:
            raise ValueError(f"{spec!r} is not a HH:MM-HH:MM window") from None

    def contains(self, ts: float, tz: str) -> bool:
        now = datetime.fromtimestamp(ts, ZoneInfo(tz)).time()
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def next_start(self, ts: float, tz: str) -> float:
        """The first moment at or after `ts` when the window opens (`ts` itself if inside)."""
        if self.contains(ts, tz):
            return ts
        return _next_at(ts, tz, self.start)

    def next_end(self, ts: float, tz: str) -> float:
        """When the window that holds `ts` closes (`ts` itself if outside)."""
        if not self.contains(ts, tz):
            return ts
        return _next_at(ts, tz, self.end)


def _next_at(ts: float, tz: str, at: dtime) -> float:
    """The next local wall-clock `at` strictly after `ts`."""
    zone = ZoneInfo(tz)
    now = datetime.fromtimestamp(ts, zone)
    candidate = datetime.combine(now.date(), at, tzinfo=zone)
    if candidate.timestamp() <= ts:
        candidate = datetime.combine(now.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate.timestamp()


def parse_windows(spec: str) -> tuple[Window, ...]:
    """Comma-separated windows: `10:00-11:00,20:00-21:00`."""
    return tuple(Window.parse(part) for part in spec.split(",") if part.strip())


def local_day(ts: float, tz: str) -> str:
    """The shop-local date of `ts` as YYYYMMDD, the key of per-day counters."""
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y%m%d")
