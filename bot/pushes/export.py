"""The push log as CSV for the merchant's own analysis (`python -m bot pushes export`).

Reads every order's log (`pushes:log:{order_id}`, JSON entries, bot/pushes/log.py) with SCAN,
keeps the entries whose time falls on the given shop-local dates, and writes them oldest first.
A command run now and then, not a hot path: one SCAN pass and pipelined reads.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

import redis

LOG_PATTERN = "pushes:log:*"
COLUMNS = ("time", "order_id", "push_id", "kind", "channel", "status", "reason", "detail")
_CORE = {"at", "push_id", "kind", "channel", "status", "reason"}
BATCH = 500


def day_range(start: date, end: date, tz: str) -> tuple[float, float]:
    """[start 00:00, the day after end 00:00) in the shop's zone, as epoch seconds."""
    zone = ZoneInfo(tz)
    return (datetime.combine(start, time(), zone).timestamp(),
            datetime.combine(end + timedelta(days=1), time(), zone).timestamp())


def entries(client: redis.Redis, since: float, until: float) -> Iterator[tuple[str, dict]]:
    keys: list[str] = []
    for key in client.scan_iter(match=LOG_PATTERN, count=BATCH):
        keys.append(key)
        if len(keys) >= BATCH:
            yield from _read(client, keys, since, until)
            keys = []
    if keys:
        yield from _read(client, keys, since, until)


def _read(client: redis.Redis, keys: list[str], since: float, until: float):  # noqa: ANN202
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.type(key)
        pipe.lrange(key, 0, -1)
    replies = pipe.execute(raise_on_error=False)
    for key, kind, raw in zip(keys, replies[::2], replies[1::2], strict=True):
        if kind != "list" or not isinstance(raw, list):
            continue   # another structure under the prefix (stats, indexes): not a log
        order_id = key.removeprefix("pushes:log:")
        for item in raw:
            try:
                entry = json.loads(item)
            except ValueError:
                continue
            at = entry.get("at") if isinstance(entry, dict) else None
            if isinstance(at, int | float) and since <= at < until:
                yield order_id, entry


def write_csv(client: redis.Redis, start: date, end: date, tz: str, out: TextIO) -> int:
    """Write the log entries of [start, end] (shop-local dates) to `out`; how many."""
    since, until = day_range(start, end, tz)
    rows = sorted(entries(client, since, until), key=lambda row: (row[1]["at"], row[0]))
    zone = ZoneInfo(tz)
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for order_id, entry in rows:
        detail = {k: v for k, v in entry.items() if k not in _CORE}
        writer.writerow([
            datetime.fromtimestamp(entry["at"], zone).isoformat(timespec="seconds"),
            order_id, entry.get("push_id", ""), entry.get("kind", ""),
            entry.get("channel", ""), entry.get("status", ""), entry.get("reason", ""),
            json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else "",
        ])
    return len(rows)
