"""`python -m bot pushes settings [KIND on|off] [--quiet-hours HH:MM-HH:MM|off|default]
[--daily-cap N|default] [--transit-interval HOURS|default]
[--sms-quiet-hours HH:MM-HH:MM|default] [--sms-daily-cap N|default]` and `python -m bot
pushes export --from DATE --to DATE`: the merchant's switches and rules (the same Redis the
console writes, audited as the CLI user), and the push log as CSV, on REDIS_URL or the
embedded Redis, without WeChat credentials (like `intents`)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from dataclasses import replace
from datetime import date

import redis

from bot.cli.intents import cli_config, cli_redis
from bot.console.audit import AuditLog
from bot.platform.config import Config
from bot.pushes.export import write_csv
from bot.pushes.settings import PushSettings
from bot.pushes.settings_store import (
    CAP,
    QUIET,
    SMS_CAP,
    SMS_QUIET,
    TRANSIT,
    InvalidSetting,
    PushSettingsStore,
    release_held,
)
from bot.pushes.store import PushStore
from bot.pushes.switches import LOGISTICS, Switches, UnknownKind

# The environment's push rules: the defaults a merchant's change overrides.
RULE_ENV = {"quiet_hours": str, "push_daily_cap": int, "push_transit_interval": int,
            "sms_quiet_hours": str, "sms_daily_cap": int}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The `settings` and `export` subcommands, under `pushes`."""
    settings = sub.add_parser("settings", help="list or change push kinds and rules for the "
                                               "whole shop")
    settings.add_argument("kind", nargs="?", help=f"a push kind, or {LOGISTICS}")
    settings.add_argument("state", nargs="?", choices=("on", "off"))
    settings.add_argument("--quiet-hours", metavar="HH:MM-HH:MM",
                          help="pushes wait through this window (off: none; default: "
                               "QUIET_HOURS)")
    settings.add_argument("--daily-cap", metavar="N",
                          help="pushes per customer per day, 1-50 (default: PUSH_DAILY_CAP)")
    settings.add_argument("--transit-interval", metavar="HOURS",
                          help="hours between in-transit pushes, 1-72 (default: "
                               "PUSH_TRANSIT_INTERVAL)")
    settings.add_argument("--sms-quiet-hours", metavar="HH:MM-HH:MM",
                          help="no SMS in this window but for exceptions needing the "
                               "customer; never off (default: SMS_QUIET_HOURS)")
    settings.add_argument("--sms-daily-cap", metavar="N",
                          help="SMS per phone per day, 1-50 (default: SMS_DAILY_CAP)")
    export = sub.add_parser("export", help="write the push log as CSV")
    export.add_argument("--from", dest="start", required=True, type=date.fromisoformat,
                        help="first day (YYYY-MM-DD, shop time)")
    export.add_argument("--to", dest="end", required=True, type=date.fromisoformat,
                        help="last day, included")
    export.add_argument("--out", help="file to write (default: stdout)")


def _config() -> Config:
    """`cli_config`'s settings, and the shop's time zone and push rules (typed: `Config` is
    built without the app's parsing)."""
    env = os.environ
    values: dict[str, object] = {"timezone": env["TIMEZONE"]} if env.get("TIMEZONE") else {}
    for name, kind in RULE_ENV.items():
        if env.get(name.upper()):
            try:
                values[name] = kind(env[name.upper()])
            except ValueError:
                raise SystemExit(f"error: {name.upper()}={env[name.upper()]!r} is not a "
                                 "number") from None
    return replace(cli_config(), **values)


def run(args: argparse.Namespace) -> int:
    try:
        config = _config()
        client = cli_redis(config)
        if args.pushes_command == "settings":
            rules = PushSettingsStore(client, PushSettings.from_config(config))
            return settings(Switches(client), args.kind, args.state, rules=rules,
                            audit=AuditLog(client), args=args)
        if args.pushes_command == "export":
            return export(client, config.timezone, args.start, args.end, args.out)
    except redis.RedisError as exc:
        print(f"error: cannot use Redis: {exc}", file=sys.stderr)
        return 1
    return 2


def cli_user() -> str:
    """Who the audit log names for a change made here."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def settings(switches: Switches, kind: str | None, state: str | None,
             rules: PushSettingsStore | None = None, audit: AuditLog | None = None,
             args: argparse.Namespace | None = None) -> int:
    wanted = {field: value for field, value in (
        (QUIET, getattr(args, "quiet_hours", None)), (CAP, getattr(args, "daily_cap", None)),
        (TRANSIT, getattr(args, "transit_interval", None)),
        (SMS_QUIET, getattr(args, "sms_quiet_hours", None)),
        (SMS_CAP, getattr(args, "sms_daily_cap", None))) if value is not None}
    if wanted and rules is not None:
        if kind is not None:
            print("error: switch a kind and change the rules in two commands", file=sys.stderr)
            return 2
        return change_rules(rules, audit, wanted)
    if kind is None:
        for name, on in switches.all().items():
            print(f"{name:24} {'on' if on else 'off'}")
        if rules is not None:
            show_rules(rules)
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
    if audit is not None:
        audit.record(cli_user(), "push_switched", time.time(), kind=kind, state=state,
                     kinds=",".join(change.kinds))
    return 0


def show_rules(rules: PushSettingsStore) -> None:
    """The rules (the SMS ones too: the CLI may run where SMS_PROVIDER is not set), each as
    `field value default|override` (transit in hours)."""
    for field, value, override in rules.describe():
        shown = f"{value}h" if field == TRANSIT else value
        print(f"{field:24} {shown:12} {'override' if override else 'default'}")


def change_rules(rules: PushSettingsStore, audit: AuditLog | None,
                 wanted: dict[str, str]) -> int:
    try:
        changes = rules.change(**wanted)
    except InvalidSetting as exc:
        print(f"error: {exc}; nothing changed", file=sys.stderr)
        return 2
    if audit is not None:
        audit.record(cli_user(), "push_settings_changed", time.time(),
                     **{f: f"{before} → {after}" for f, (before, after) in changes.items()})
    show_rules(rules)
    released = release_held(changes, PushStore(rules.redis), time.time())
    print("in force in every worker within a second"
          + (f"; {released} held pushes decided again now" if released else ""),
          file=sys.stderr)
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
