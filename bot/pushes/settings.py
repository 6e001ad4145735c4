"""The push settings, read once from `Config`, and the quiet-hours window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.platform.config import Config

# A payment confirmed this recently is the user's own doing just now: not held at night.
USER_ACTION_FRESH = 600


@dataclass(frozen=True)
class QuietHours:
    """A daily window ("22:00-08:00", may run past midnight) in the shop's zone; "off": none."""

    spec: str
    tz: str

    def _bounds(self) -> tuple[time, time] | None:
        if self.spec.strip().lower() in ("", "off", "none"):
            return None
        start, end = (time.fromisoformat(part.strip().zfill(5)) for part in self.spec.split("-"))
        return (start, end) if start != end else None

    def release_at(self, now: float) -> float | None:
        """When the window holding `now` ends (epoch s), or None outside quiet hours."""
        bounds = self._bounds()
        if bounds is None:
            return None
        start, end = bounds
        zone = ZoneInfo(self.tz)
        local = datetime.fromtimestamp(now, UTC).astimezone(zone)
        t = local.time()
        inside = start <= t < end if start < end else (t >= start or t < end)
        if not inside:
            return None
        day = local.date()
        if start > end and t >= start:
            day = day + timedelta(days=1)   # the window ends tomorrow morning
        return datetime.combine(day, end, zone).timestamp()


@dataclass(frozen=True)
class PushSettings:
    quiet: QuietHours
    transit_interval: int
    daily_cap: int
    templates_path: str
    kf_quota: int
    merge_delay: float
    tz: str
    sms_quiet: str       # the SMS fallback's own night hours and cap (bot/pushes/sms)
    sms_daily_cap: int

    @classmethod
    def from_config(cls, config: Config) -> PushSettings:
        return cls(quiet=QuietHours(config.quiet_hours, config.timezone),
                   transit_interval=config.push_transit_interval,
                   daily_cap=config.push_daily_cap, templates_path=config.push_templates,
                   kf_quota=config.push_kf_quota, merge_delay=config.push_merge_delay,
                   tz=config.timezone, sms_quiet=config.sms_quiet_hours,
                   sms_daily_cap=config.sms_daily_cap)

    def day(self, at: float) -> str:
        return datetime.fromtimestamp(at, UTC).astimezone(ZoneInfo(self.tz)).strftime("%Y%m%d")

    def next_midnight(self, at: float) -> float:
        """WeChat's daily quotas reset at midnight (Beijing time; the shop's zone here)."""
        zone = ZoneInfo(self.tz)
        day = datetime.fromtimestamp(at, UTC).astimezone(zone).date() + timedelta(days=1)
        return datetime.combine(day, time(0, 0), zone).timestamp()
