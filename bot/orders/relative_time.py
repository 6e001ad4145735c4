"""Times as a customer reads them: 今天下午 15:00, 明天上午 09:30, 11月20日 晚上 20:10.

Words come from reply templates (time_*), so each language phrases them its own way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

TextOf = Callable[..., str]

_DAYS = {-1: "time_yesterday", 0: "time_today", 1: "time_tomorrow", 2: "time_day_after"}


def describe(iso: str, now: float, tz: str, text_of: TextOf) -> str:
    """`iso` (any ISO-8601 with offset) relative to the clock's `now`, in the shop's zone."""
    zone = ZoneInfo(tz)
    moment = datetime.fromisoformat(iso).astimezone(zone)
    today = datetime.fromtimestamp(now, zone).date()
    name = _DAYS.get((moment.date() - today).days)
    if name:
        day = text_of(name)
    elif moment.year == today.year:
        day = text_of("time_date", month=moment.month, day=moment.day)
    else:
        day = text_of("time_date_year", year=moment.year, month=moment.month, day=moment.day)
    return text_of("time_format", day=day, period=text_of(_period(moment.hour)),
                   hhmm=f"{moment:%H:%M}")


def _period(hour: int) -> str:
    if hour < 6:
        return "time_early"
    if hour < 12:
        return "time_morning"
    if hour < 18:
        return "time_afternoon"
    return "time_evening"
