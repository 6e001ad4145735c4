"""Times as a customer reads them: 今天下午3点, 明天上午9点半, 11月20日晚上8点10分; in English
"tomorrow 3 pm", "today 9:30 am".

Words come from reply templates (time_*), so each language phrases them its own way: the day
(`time_today`…), the part of the day (`time_morning`…), and the clock (`time_clock` on the
hour, `time_clock_half` at half past, `time_clock_minutes` otherwise), given `hour` (within
its part of the day, as Chinese counts: 下午3点), `hour12` (1-12, as English counts), `minute`,
`mm` (two digits), `ampm` (`time_am`/`time_pm`) and `hhmm` (24-hour 15:00).
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
    hour, minute = moment.hour, moment.minute
    clock_data = {
        "hour": hour - 12 if hour > 12 else hour,
        "hour12": hour % 12 or 12,
        "minute": minute,
        "mm": f"{minute:02d}",
        "ampm": text_of("time_am" if hour < 12 else "time_pm"),
        "hhmm": f"{moment:%H:%M}",
    }
    clock_name = ("time_clock" if minute == 0 else
                  "time_clock_half" if minute == 30 else "time_clock_minutes")
    return text_of("time_format", day=day, period=text_of(_period(hour)),
                   clock=text_of(clock_name, **clock_data), **clock_data)


def _period(hour: int) -> str:
    if hour < 6:
        return "time_early"
    if hour < 12:
        return "time_morning"
    if hour == 12:
        return "time_noon"
    if hour < 18:
        return "time_afternoon"
    return "time_evening"
