"""Whether human agents are on duty, from SERVICE_HOURS ("09:00-21:00") in the shop's zone."""

from __future__ import annotations

from datetime import time as dtime

from bot.platform.clock import Clock, local_datetime


def parse_hours(spec: str) -> tuple[dtime, dtime]:
    start, end = (part.strip() for part in spec.split("-", 1))
    return dtime.fromisoformat(start), dtime.fromisoformat(end)


def on_duty(spec: str, clock: Clock, tz: str) -> bool:
    start, end = parse_hours(spec)
    now = local_datetime(clock, tz).time()
    if start <= end:
        return start <= now < end
    return now >= start or now < end  # hours that run past midnight
