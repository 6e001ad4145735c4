"""The `python -m bot` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run web + worker on embedded defaults with demo data")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--fake-wechat-port", type=int, default=8001)
    demo.add_argument("--smoke", action="store_true", help="send one message and stop")
    demo.add_argument("--push-every", type=float, default=20.0,
                      help="seconds between the demo order's steps (0: it stays put)")

    serve = sub.add_parser("serve", help="run the web app under gunicorn")
    serve.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))

    worker = sub.add_parser("worker", help="run background job workers")
    worker.add_argument("--processes", type=int, default=2)
    worker.add_argument("--threads", type=int, default=8)

    chat = sub.add_parser("chat", help="chat with a running bot from the terminal")
    chat.add_argument("--url", default=os.environ.get("BOT_URL"),
                      help="the bot's base URL (default: the running demo's)")
    chat.add_argument("--openid", default="oDemoCustomer0001")
    chat.add_argument("--plain", action="store_true", help="send unencrypted messages")

    fake = sub.add_parser("fake-wechat", help="run the local fake WeChat API server")
    fake.add_argument("--port", type=int, default=8001)

    intents = sub.add_parser("intents", help="import or export FAQ intents")
    isub = intents.add_subparsers(dest="intents_command", required=True)
    imp = isub.add_parser("import", help="import intents from a YAML or JSON file")
    imp.add_argument("path")
    imp.add_argument("--replace", action="store_true", help="remove intents not in the file")
    exp = isub.add_parser("export", help="write intents as YAML (stdout without a path)")
    exp.add_argument("path", nargs="?")

    sub.add_parser("match", help="match queries from stdin, one JSON line out per line in")

    from bot.cli.console import add_parser as add_console_parser

    add_console_parser(sub)

    from bot.cli.pushes import add_parser as add_pushes

    add_pushes(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet = ("match", "intents", "chat", "console", "pushes")
    logging.basicConfig(level=logging.WARNING if args.command in quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "demo":
        from bot.local.demo import run_demo

        return run_demo(args.port, args.fake_wechat_port, smoke=args.smoke,
                        push_every=args.push_every)
    if args.command == "serve":
        os.environ["BIND"] = args.bind
        # gunicorn.conf.py and wsgi.py sit at the repository root, three levels up.
        os.chdir(Path(__file__).resolve().parents[2])
        os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                                   "wsgi:app"])
    if args.command == "worker":
        from bot.worker import run_workers

        return run_workers(args.processes, args.threads)
    if args.command == "chat":
        from bot.local.chat import run_chat

        return run_chat(args.url, args.openid, args.plain)
    if args.command == "fake-wechat":
        from bot.local.fake_wechat import serve
        from bot.platform.config import Config

        config = Config.from_mapping({"bot_demo": True})
        serve(args.port, config.wechat_appid, config.wechat_secret)
        return 0
    if args.command == "pushes" and args.pushes_command in ("settings", "export"):
        from bot.cli import pushes_admin

        return pushes_admin.run(args)

    if args.command == "console":
        from bot.cli.console import run as run_console

        return run_console(args)
    if args.command == "pushes":
        from bot.cli.pushes import run as run_pushes

        return run_pushes(args)
    if args.command in ("intents", "match"):
        from bot.cli.intents import run

        return run(args)
    return 2
