"""Benchmark the /wechat callback under gunicorn (2 workers) against a bare Flask + wechatpy
echo endpoint, both driven by wrk with signed safe-mode text messages at 32 connections.

    python bench/callback_bench.py [--seconds 10] [--connections 32] [--redis redis://127.0.0.1:6379/14]

Needs `wrk` (Debian: apt-get install wrk). Prints requests/s, p50/p99 and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import redis
import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.local.fake_wechat import FakeWeChatServer  # noqa: E402
from bot.local.simulator import text_xml  # noqa: E402
from bot.wechat.envelope import signature_of  # noqa: E402

TOKEN, APPID = "demo-token", "wxdemo0000000000"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
QUERIES = ["你好", "我的订单到哪了", "怎么退货", "123456 发货了吗", "转人工", "物流", "谢谢",
           "运费怎么算", "能开发票吗", "这个多少钱"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text_message(openid: str, msg_id: int, now: int) -> str:
    """One of the benchmark's customer questions."""
    return text_xml(openid, "gh_bench", random.choice(QUERIES), msg_id, now)


def make_requests(path: Path, count: int, first_msg_id: int = 10**12,
                  message: Callable[[str, int, int], str] = text_message) -> None:
    """Pre-sign and encrypt `count` distinct messages (`message(openid, msg_id, now)`) from
    many users, as WeChat would."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    now = int(time.time())
    with path.open("w") as out:
        for i in range(count):
            openid = f"oBench{i % 1000:04d}"
            xml = message(openid, first_msg_id + i, now)
            ts, nonce = str(now), str(random.randint(10**8, 10**9))
            doc = xmltodict.parse(crypto.encrypt_message(xml, nonce, ts))["xml"]
            query = urlencode({"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
                               "signature": signature_of(TOKEN, ts, nonce),
                               "msg_signature": doc["MsgSignature"]})
            body = f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{doc['Encrypt']}]]></Encrypt></xml>"  # noqa: E501
            out.write(f"/wechat?{query}\t{body}\n")


def start_gunicorn(app: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), app],
        cwd=ROOT, env=dict(env, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            requests.post(f"http://127.0.0.1:{port}/wechat", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{app} did not start")


def run_wrk(port: int, reqfile: Path, seconds: int, connections: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", str(ROOT / "bench/replay.lua"), f"http://127.0.0.1:{port}", "--", str(reqfile),
         "2"],
        capture_output=True, text=True, check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def measure(app: str, env: dict[str, str], warmup: Path, reqfile: Path, seconds: int,
            conns: int) -> dict:
    port = free_port()
    proc = start_gunicorn(app, port, env)
    try:
        # Warm-up (imports, jieba, pools) on other messages: a replayed one is a dedup hit.
        run_wrk(port, warmup, 2, conns)
        return run_wrk(port, reqfile, seconds, conns)
    finally:
        proc.terminate()
        proc.wait(15)


def seed_shop(redis_url: str) -> None:
    """A shop as the demo has it: built-in intents and the sample FAQ, so FAQ questions are
    answered rather than all recorded as unmatched."""
    from bot.understanding.intent_store import IntentStore

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    IntentStore(client, ROOT / "intents").seed_defaults()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    redis.Redis.from_url(args.redis).flushdb()
    tmp = Path(tempfile.mkdtemp())
    reqfile, warmup = tmp / "requests.tsv", tmp / "warmup.tsv"
    make_requests(reqfile, 80_000)
    make_requests(warmup, 20_000, first_msg_id=2 * 10**12)
    fake = FakeWeChatServer().start()   # the bot's WeChat API calls go to the local fake
    env = dict(os.environ, BOT_DEMO="1", REDIS_URL=args.redis, BOT_DATA_DIR=str(tmp),
               FLOOD_LIMIT="1000", WECHAT_API_BASE_URL=fake.url, PYTHONPATH=str(ROOT))
    try:
        bare = measure("bench.bare_app:app", env, warmup, reqfile, args.seconds,
                       args.connections)
        redis.Redis.from_url(args.redis).flushdb()
        seed_shop(args.redis)
        bot = measure("wsgi:app", env, warmup, reqfile, args.seconds, args.connections)
    finally:
        redis.Redis.from_url(args.redis).flushdb()
        fake.stop()
    for name, r in (("bare flask+wechatpy echo", bare), ("bot /wechat", bot)):
        print(f"{name:26s} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  "
              f"p99 {r['p99_ms']:6.2f} ms  errors {r['errors']}  non-2xx {r['non2xx']}")
    print(f"ratio bot/bare: {bot['rps'] / bare['rps']:.2f} (target >= 0.8); "
          f"bot p99 {bot['p99_ms']:.1f} ms (target < 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
