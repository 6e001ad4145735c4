"""`python -m bot pushes settings [KIND on|off]` and `python -m bot pushes export --from DATE
--to DATE`: the merchant's switches and the push log as CSV, on REDIS_URL or the embedded
Redis, without WeChat credentials (like `intents`)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

import redis

from bot.platform.config import Config
from bot.platform.storage import connect, redis_url_for
from bot.pushes.export import write_csv
from bot.pushes.switches import LOGISTICS, Switches, UnknownKind


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The `settings` and `export` subcommands, under `pushes`."""
    settings = sub.add_parser("settings", help="list or switch push kinds for the whole shop")
    settings.add_argument("kind", nargs="?", help=f"a push kind, or {LOGISTICS}")
    settings.add_argument("state", nargs="?", choices=("on", "off"))
    export = sub.add_parser("export", help="write the push log as CSV")
    export.add_argument("--from", dest="start", required=True, type=date.fromisoformat,
                        help="first day (YYYY-MM-DD, shop time)")
    export.add_argument("--to", dest="end", required=True, type=date.fromisoformat,
                        help="last day, included")
    export.add_argument("--out", help="file to write (default: stdout)")


def _client_and_tz() -> tuple[redis.Redis, str]:
    env = os.environ
    values = {name: env[name.upper()] for name in ("redis_url", "bot_data_dir", "timezone")
              if env.get(name.upper())}
    config = Config(**values)
    return connect(redis_url_for(config.redis_url, config.data_dir)), config.timezone


def run(args: argparse.Namespace) -> int:
    try:
        client, tz = _client_and_tz()
        if args.pushes_command == "settings":
            return settings(Switches(client), args.kind, args.state)
        if args.pushes_command == "export":
            return export(client, tz, args.start, args.end, args.out)
    except redis.RedisError as exc:
        print(f"error: cannot use Redis: {exc}", file=sys.stderr)
        return 1
    return 2


def settings(switches: Switches, kind: str | None, state: str | None) -> int:
    if kind is None:
        for name, on in switches.all().items():
            print(f"{name:24} {'on' if on else 'off'}")
        return 0
    if state is None:
        print("error: say on or off, e.g. `pushes settings order_in_transit off`",
              file=sys.stderr)
        return 2
    try:
        change = switches.set(kind, state == "on")
    except UnknownKind as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{', '.join(change.kinds)}: {change.state}")
    for warning in change.warnings:
        print(warning, file=sys.stderr)
    return 0


def export(client: redis.Redis, tz: str, start: date, end: date, path: str | None) -> int:
    if end < start:
        print("error: --to is before --from", file=sys.stderr)
        return 2
    if path:
        with open(path, "w", encoding="utf-8", newline="") as out:
            count = write_csv(client, start, end, tz, out)
    else:
        count = write_csv(client, start, end, tz, sys.stdout)
    print(f"{count} log entries from {start} to {end}", file=sys.stderr)
    return 0
