"""`python -m bot pushes show ORDER_ID | stats [--days N] | preview EVENT.json`.

`show` and `stats` read the push log and counters; `preview` renders what an order event would
push, to whom and in which words, without storing or sending anything. They run on REDIS_URL
(or the embedded Redis) and need no WeChat credentials: with WECHAT_TOKEN unset the demo's are
filled in, which nothing here uses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import redis

from bot.platform.config import Config


def cli_config() -> Config:
    env = dict(os.environ)
    if not env.get("WECHAT_TOKEN"):
        env["BOT_DEMO"] = "1"
    return Config.from_env(env)


def add_parser(sub: argparse._SubParsersAction) -> None:
    pushes = sub.add_parser("pushes", help="order pushes: log, counts, preview")
    psub = pushes.add_subparsers(dest="pushes_command", required=True)
    show = psub.add_parser("show", help="an order's push log, one JSON object a line")
    show.add_argument("order_id")
    stats = psub.add_parser("stats", help="push counts by kind, channel and status")
    stats.add_argument("--days", type=int, default=1)
    preview = psub.add_parser("preview", help="what an order event (JSON file) would push")
    preview.add_argument("path")
    from bot.cli import pushes_admin

    pushes_admin.add_parsers(psub)      # settings, export (issue 11)


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    from bot.runtime import build_runtime

    config = cli_config()
    try:
        rt = build_runtime(config)
        pushes = rt.pushes
        if args.pushes_command == "show":
            zone = ZoneInfo(config.timezone)
            for entry in pushes.log.for_order(args.order_id):
                entry = {"kind": entry.pop("kind"), "channel": entry.pop("channel"),
                         "status": entry.pop("status"), "reason": entry.pop("reason"),
                         "at": _iso(entry.pop("at"), zone), **entry}
                if "until" in entry:
                    entry["until"] = _iso(entry["until"], zone)
                print(json.dumps(entry, ensure_ascii=False), file=out)
            return 0
        if args.pushes_command == "stats":
            counts = pushes.stats.counts(args.days, rt.services.clock.now())
            print(json.dumps({"days": args.days, **counts}, ensure_ascii=False, indent=2),
                  file=out)
            return 0
        if args.pushes_command == "preview":
            try:
                payload = json.loads(Path(args.path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                print(f"error: cannot read {args.path}: {exc}", file=sys.stderr)
                return 2
            from bot.orders.validation import InvalidOrder

            try:
                result = pushes.preview(payload)
            except InvalidOrder as exc:
                print(f"error: invalid event: {exc}", file=sys.stderr)
                return 2
            print(json.dumps(result, ensure_ascii=False, indent=2), file=out)
            return 0
    except redis.RedisError as exc:
        print(f"error: cannot use Redis: {exc}", file=sys.stderr)
        return 1
    return 2


def _iso(ts: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(zone).isoformat(timespec="seconds")
