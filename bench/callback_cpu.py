"""CPU per /wechat request, in one process with no HTTP server: where callback_bench's time goes.

    python bench/callback_cpu.py [--requests 6000] [--redis redis://127.0.0.1:6379/14]

Calls each WSGI app directly, one request at a time, with the same pre-signed safe-mode
messages as bench/callback_bench.py, and prints process CPU per request (all threads: the
bot's handler pool included) for, in the same run:
- the bare Flask + wechatpy echo (verify, decrypt, parse, encrypt: the baseline);
- WeRoBot answering with a keyword reply and a Redis session read and write (the peer);
- the bot answering the callback bench's text mix (the full path: dedup claim, matcher,
  handlers, reply store);
- the bot answering menu clicks it has no handler for (the same path without the matcher and
  handlers: what dedup, dispatch and the reply store cost on their own).
Redis time spent waiting is not CPU here; the Redis server's own CPU is not counted.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.callback_bench as callback_bench  # noqa: E402
from bot.local.fake_wechat import FakeWeChatServer  # noqa: E402
from bot.local.simulator import event_xml  # noqa: E402


def unknown_click(openid: str, msg_id: int, now: int) -> str:
    """A menu click no handler claims: the bot's path without matcher or handler."""
    return event_xml(openid, "gh_bench", "CLICK", f"NO_SUCH_KEY_{msg_id}", now)


def requests_of(count: int, first_msg_id: int,
                message: Callable[[str, int, int], str] = callback_bench.text_message,
                ) -> list[tuple[str, bytes]]:
    path = Path(tempfile.mkdtemp()) / "requests.tsv"
    callback_bench.make_requests(path, count, first_msg_id, message)
    lines = [line.rstrip("\n").split("\t") for line in path.open(encoding="utf-8")]
    return [(target, body.encode()) for target, body in lines]


def cpu_per_request(app: Callable, reqs: list[tuple[str, bytes]]) -> float:
    """Microseconds of process CPU per request, after a warm-up on the first fifth."""
    def call(target: str, body: bytes) -> None:
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/wechat",
            "QUERY_STRING": target.split("?", 1)[1], "SERVER_NAME": "bench",
            "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "text/xml",
        }
        statuses = []
        b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
        assert statuses[0].startswith("200"), statuses

    warm = len(reqs) // 5
    for target, body in reqs[:warm]:
        call(target, body)
    started = time.process_time()
    for target, body in reqs[warm:]:
        call(target, body)
    return (time.process_time() - started) / (len(reqs) - warm) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    client = redis.Redis.from_url(args.redis)
    client.flushdb()
    fake = FakeWeChatServer().start()
    os.environ.update(BOT_DEMO="1", REDIS_URL=args.redis, BOT_DATA_DIR=tempfile.mkdtemp(),
                      FLOOD_LIMIT="1000000", WECHAT_API_BASE_URL=fake.url)
    try:
        callback_bench.seed_shop(args.redis)
        from bench.bare_app import app as bare
        from bench.werobot_app import app as werobot
        from wsgi import app as bot

        # Each unknown menu key is logged at INFO: a cost of this bench's clicks, not the bot's.
        logging.getLogger("bot").setLevel(logging.WARNING)

        bare_us = cpu_per_request(bare, requests_of(args.requests, 10**12))
        werobot_us = cpu_per_request(werobot, requests_of(args.requests, 4 * 10**12))
        bot_us = cpu_per_request(bot, requests_of(args.requests, 2 * 10**12))
        click_us = cpu_per_request(bot, requests_of(args.requests, 3 * 10**12, unknown_click))
    finally:
        client.flushdb()
        fake.stop()
    print(f"bare flask+wechatpy echo          {bare_us:7.0f} us CPU per request")
    print(f"werobot keyword+session           {werobot_us:7.0f} us   "
          f"({werobot_us / bare_us:.1f}x bare)")
    print(f"bot, text mix                     {bot_us:7.0f} us   ({bot_us / bare_us:.1f}x bare)")
    print(f"bot, click with no handler        {click_us:7.0f} us   ({click_us / bare_us:.1f}x bare)"
          f"  <- dedup, dispatch and reply store alone")
    print(f"ratio bare/bot (the most callback_bench's req/s ratio can be): {bare_us / bot_us:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
