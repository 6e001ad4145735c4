"""`python -m bot intents import|export` and `python -m bot match`, on REDIS_URL or the
embedded Redis like the app.

These commands need Redis and the intents folder, nothing else: they read REDIS_URL,
BOT_DATA_DIR and INTENTS_DIR and never ask for WeChat credentials, so a merchant's script
runs the same on a production box (WECHAT_TOKEN set, other secrets elsewhere) and on a laptop.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

import redis

from bot.platform.config import Config
from bot.platform.storage import connect, redis_url_for
from bot.understanding.intent_file import (
    IntentDocs,
    IntentFileError,
    dump_intents,
    load_intent_file,
)
from bot.understanding.intent_store import IntentClash, IntentStore


def cli_config(env: Mapping[str, str] | None = None) -> Config:
    """The settings these commands use, from the environment, without the app's validation
    (which rightly insists on WeChat credentials the CLI never uses)."""
    env = os.environ if env is None else env
    values = {name: env[name.upper()]
              for name in ("redis_url", "bot_data_dir", "intents_dir", "redis_sentinels",
                           "redis_sentinel_master") if env.get(name.upper())}
    return Config(**values)


def cli_redis(config: Config) -> redis.Redis:
    """The Redis the app uses: REDIS_URL, the sentinels' master, or the embedded server."""
    return connect(redis_url_for(config.redis_url, config.data_dir, config.redis_sentinels,
                                 config.redis_sentinel_master))


def open_store(config: Config | None = None) -> IntentStore:
    """An IntentStore on the configured Redis; Redis is not written to here."""
    config = config or cli_config()
    return IntentStore(cli_redis(config), config.intents_path, config.data_dir)


def run(args: argparse.Namespace) -> int:
    """Dispatch the parsed `intents`/`match` command; returns the exit code."""
    try:
        if args.command == "match":
            store = open_store()
            return match_lines(store, sys.stdin, sys.stdout)
        if args.intents_command == "import":
            return import_file(Path(args.path), args.replace)
        if args.intents_command == "export":
            return export_file(args.path)
    except redis.RedisError as exc:
        print(f"error: cannot use Redis: {exc}", file=sys.stderr)
        return 1
    return 2


def import_file(path: Path, replace: bool = False, store: IntentStore | None = None) -> int:
    """Validate the whole file, then import it; a rejected file changes nothing in Redis."""
    try:
        docs = load_intent_file(path)
        store = store or open_store()
        # Checked against the file as well as Redis: a fresh shop has no built-ins in Redis
        # yet, and loading them first would be a change made by a rejected import.
        _refuse_builtin_ids(docs, store.builtin_ids())
        store.ensure_builtins()  # a fresh store still knows the built-ins; no sample FAQ here
        counts = store.import_docs(docs, replace=replace)
    except IntentClash as exc:
        print(f"error: {_clash_message(docs, exc.ids, exc.used_by)}", file=sys.stderr)
        print("nothing was changed", file=sys.stderr)
        return 1
    except IntentFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("nothing was changed", file=sys.stderr)
        return 1
    print(f"imported {len(docs)} intent(s): {counts['added']} added, "
          f"{counts['updated']} updated, {counts['removed']} removed")
    return 0


def export_file(path: str | None, store: IntentStore | None = None) -> int:
    """Write the FAQ intents (YAML, or JSON for a .json path; stdout without a path)."""
    store = store or open_store()
    intents = store.export()
    fmt = "json" if path and path.endswith(".json") else "yaml"
    text = dump_intents(intents, fmt)
    if path:
        Path(path).write_text(text, encoding="utf-8")
        print(f"exported {len(intents)} intent(s) to {path}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _refuse_builtin_ids(docs: IntentDocs, builtin_ids: set[str]) -> None:
    clash = [d["id"] for d in docs if d["id"] in builtin_ids]
    if clash:
        raise IntentClash(clash, "built-in")


def _clash_message(docs: IntentDocs, ids: list[str], used_by: str) -> str:
    first = ids[0]
    where = docs.where.get(first, "")
    others = f" (also: {', '.join(ids[1:])})" if len(ids) > 1 else ""
    return (f"{where}: id {first!r} is already used by a {used_by} intent; "
            f"choose another id{others}")


def match_lines(store: IntentStore, lines: Iterable[str], out: TextIO) -> int:
    """One JSON object per input line: text, intent, score, the bar it had to reach,
    outcome, candidates."""
    matcher = store.matcher()
    for line in lines:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        result = matcher.match(text)
        out.write(json.dumps({
            "text": text,
            "intent": result.intent,
            "score": round(result.score, 1),
            "bar": result.bar,
            "outcome": result.outcome,
            "candidates": [[c, round(s, 1)] for c, s in result.candidates],
        }, ensure_ascii=False) + "\n")
        out.flush()
    return 0
