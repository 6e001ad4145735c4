"""`python -m bot intents import|export` and `python -m bot match`, on REDIS_URL or the
embedded Redis like the app."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.config import Config
from bot.intent_io import IntentFileError, dump_intents, load_intent_file
from bot.intent_store import IntentStore
from bot.storage import connect, redis_url_for


def open_store(config: Config | None = None) -> IntentStore:
    config = config or Config.from_env(_env_with_demo_fallback())
    client = connect(redis_url_for(config.redis_url, config.data_dir))
    store = IntentStore(client, config.intents_path)
    store.ensure_builtins()  # a fresh store still knows the built-ins; no sample FAQ here
    return store


def _env_with_demo_fallback() -> dict[str, str]:
    import os

    env = dict(os.environ)
    # Scripts only need Redis; WeChat credentials are irrelevant here.
    if not env.get("WECHAT_TOKEN"):
        env["BOT_DEMO"] = "1"
    return env


def run(args: argparse.Namespace) -> int:
    """Dispatch the parsed `intents`/`match` command; returns the exit code."""
    if args.command == "match":
        return match_lines(open_store(), sys.stdin, sys.stdout)
    store = open_store()
    if args.intents_command == "import":
        try:
            docs = load_intent_file(Path(args.path))
            counts = store.import_docs(docs, replace=args.replace)
        except (IntentFileError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            print("nothing was changed", file=sys.stderr)
            return 1
        print(f"imported {len(docs)} intent(s): {counts['added']} added, "
              f"{counts['updated']} updated, {counts['removed']} removed")
        return 0
    if args.intents_command == "export":
        fmt = "json" if args.path and args.path.endswith(".json") else "yaml"
        text = dump_intents(store.export(), fmt)
        if args.path:
            Path(args.path).write_text(text, encoding="utf-8")
            print(f"exported {len(store.export())} intent(s) to {args.path}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    return 2


def match_lines(store: IntentStore, lines, out) -> int:  # noqa: ANN001 - text streams
    """One JSON object per input line: text, intent, score, outcome, candidates."""
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
            "outcome": result.outcome,
            "candidates": [[c, round(s, 1)] for c, s in result.candidates],
        }, ensure_ascii=False) + "\n")
        out.flush()
    return 0
