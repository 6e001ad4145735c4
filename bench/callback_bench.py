"""Benchmark the /wechat callback under gunicorn (2 workers, gunicorn.conf.py) against a bare
Flask + wechatpy echo and against WeRoBot (the best-known Python WeChat framework: a keyword
reply and a Redis session read and write), all driven by wrk with the same signed safe-mode text
messages at 32 connections, in one run.

    python bench/callback_bench.py [--seconds 10] [--connections 32] [--rounds 1] [--warmup 3]
                                   [--redis private|redis://...] [--against /work/main ...]

Needs `wrk` (Debian: apt-get install wrk) and bench/requirements.txt (WeRoBot). For each app it
prints messages/s, the ratio to the bare echo of the same round, p50/p99, the server's CPU per
message (gunicorn master and workers, all threads: process CPU time over the measured run /
messages) and Redis round trips, commands and Redis CPU per message (INFO deltas). By default
the run starts its own Redis server (`redis-server` on PATH) so those deltas are this run's
alone; with `--redis URL` they include whatever else uses that server. `--against DIR` adds the
bot of another checkout (say main's) to every round, for before/after figures from one run;
`--rounds N` repeats bare, WeRoBot, the bot (and the others) in turn N times and prints medians,
as this machine's speed drifts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import psutil
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


def start_gunicorn(app: str, port: int, env: dict[str, str],
                   root: Path = ROOT) -> subprocess.Popen:
    """`app` under `root`'s gunicorn.conf.py (2 workers), answering on `port`."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(root / "gunicorn.conf.py"), app],
        cwd=root, env=dict(env, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2",
                           PYTHONPATH=os.pathsep.join(
                               p for p in (str(root), env.get("PYTHONPATH")) if p)),
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


def server_cpu(proc: subprocess.Popen) -> float:
    """CPU seconds used so far by gunicorn's master and its workers (every thread)."""
    master = psutil.Process(proc.pid)
    total = 0.0
    for p in (master, *master.children(recursive=True)):
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def redis_counters(url: str) -> tuple[int, int, float]:
    """Round trips (reads the server processed: a pipeline or a script is one), commands
    (those a script runs included) and the server's CPU seconds, so far."""
    info = redis.Redis.from_url(url).info()
    return (info["total_reads_processed"], info["total_commands_processed"],
            info["used_cpu_user"] + info["used_cpu_sys"])


@dataclass(frozen=True)
class App:
    label: str
    target: str          # gunicorn's app, e.g. "wsgi:app"
    root: Path = ROOT
    shop: bool = False   # seed the demo shop (intents) first


def measure(apps: list[App], env: dict[str, str], redis_urls: list[str], warmup: Path,
            reqfile: Path, seconds: int, conns: int, warmup_seconds: int = 3) -> list[dict]:
    """Serve each app (on its own Redis) and load them all at once; one app is a plain run."""
    for app, url in zip(apps, redis_urls, strict=True):
        redis.Redis.from_url(url).flushdb()
        if app.shop:
            seed_shop(url)
    ports = [free_port() for _ in apps]
    procs: list[subprocess.Popen] = []
    try:
        for app, port, url in zip(apps, ports, redis_urls, strict=True):
            procs.append(start_gunicorn(app.target, port, dict(env, REDIS_URL=url), app.root))
        # Warm-up (imports, jieba, the matcher, pools) on other messages: a replayed one is a
        # dedup hit. Each worker loads jieba on its first message, ~1 s of CPU, more on a busy
        # machine: too short a warm-up leaves it in the measured run.
        _all_at_once(lambda port: run_wrk(port, warmup, warmup_seconds, conns), ports)
        def counters() -> list[tuple[float, tuple[int, int, float]]]:
            return [(server_cpu(proc), redis_counters(url))
                    for proc, url in zip(procs, redis_urls, strict=True)]

        before = counters()
        results = _all_at_once(lambda port: run_wrk(port, reqfile, seconds, conns), ports)
        after = counters()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(15)
    for result, (cpu, counters), (cpu_after, counters_after) in zip(results, before, after,
                                                                    strict=True):
        n = max(1, result["requests"])
        trips, commands, redis_cpu = (b - a for a, b in zip(counters, counters_after, strict=True))
        result.update(cpu_us=(cpu_after - cpu) / n * 1e6, trips=trips / n,
                      commands=commands / n, redis_cpu_us=redis_cpu / n * 1e6)
    return results


def _all_at_once(run: Callable[[int], dict], ports: list[int]) -> list[dict]:
    if len(ports) == 1:
        return [run(ports[0])]
    with ThreadPoolExecutor(len(ports)) as pool:
        return list(pool.map(run, ports))


def seed_shop(redis_url: str) -> None:
    """A shop as the demo has it: built-in intents and the sample FAQ, so FAQ questions are
    answered rather than all recorded as unmatched."""
    from bot.understanding.intent_store import IntentStore

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    IntentStore(client, ROOT / "intents").seed_defaults()


def start_private_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    """A Redis server for this run alone, so its counters count this run's traffic only."""
    binary = shutil.which("redis-server", path="/usr/bin:/usr/local/bin") or shutil.which(
        "redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found: pass --redis URL")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("private redis-server did not start")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3, help="seconds before each measured run")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--redis", default="private",
                        help="'private' (a redis-server for this run) or a URL to flush and use")
    parser.add_argument("--against", action="append", default=[], type=Path,
                        help="another checkout whose bot runs in every round (say /work/main)")
    parser.add_argument("--app", action="append", default=[], metavar="LABEL=MODULE:APP",
                        help="another app to run in every round, importable from this "
                             "checkout or PYTHONPATH (an experiment), with the demo shop")
    parser.add_argument("--together", action="store_true",
                        help="serve every app at once, each on its own private Redis, loaded "
                             "by its own wrk: the machine's drift hits all alike; CPU and Redis "
                             "per message compare, msg/s shows the share each won")
    parser.add_argument("--skip", action="append", default=[], choices=["werobot"],
                        help="leave a peer out")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp())
    if args.together and args.redis != "private":
        parser.error("--together needs a private Redis per app")
    reqfile, warmup = tmp / "requests.tsv", tmp / "warmup.tsv"
    make_requests(reqfile, 80_000)
    make_requests(warmup, 20_000, first_msg_id=2 * 10**12)
    apps = [App("bare flask+wechatpy echo", "bench.bare_app:app")]
    if "werobot" not in args.skip:
        apps.append(App("werobot keyword+session", "bench.werobot_app:app"))
    apps.append(App("bot /wechat", "wsgi:app", shop=True))
    apps += [App(f"bot @ {other}", "wsgi:app", other.resolve(), shop=True)
             for other in args.against]
    apps += [App(label, target, shop=True)
             for label, target in (spec.split("=", 1) for spec in args.app)]
    privates: list[subprocess.Popen] = []
    redis_urls = [args.redis] * len(apps)
    if args.redis == "private":
        for i in range(len(apps) if args.together else 1):
            (tmp / f"redis{i}").mkdir()
            server, url = start_private_redis(tmp / f"redis{i}")
            privates.append(server)
            redis_urls[i] = url
        if not args.together:
            redis_urls = redis_urls[:1] * len(apps)
    fake = FakeWeChatServer().start()   # the bot's WeChat API calls go to the local fake
    # The messages are signed once, before the first round: a run of several rounds outlasts
    # the bot's 300 s timestamp window, which would refuse them all as stale.
    env = dict(os.environ, BOT_DEMO="1", BOT_DATA_DIR=str(tmp),
               FLOOD_LIMIT="1000", WECHAT_API_BASE_URL=fake.url, LOG_LEVEL="warning",
               TIMESTAMP_TOLERANCE="86400")
    runs: dict[str, list[dict]] = {app.label: [] for app in apps}
    try:
        for round_no in range(args.rounds):
            # Alternate the order (and with --together, the start order) round by round.
            order = list(range(len(apps)))
            order = order if round_no % 2 == 0 else [0, *order[:0:-1]]
            groups = [order] if args.together else [[i] for i in order]
            for group in groups:
                results = measure([apps[i] for i in group], env,
                                  [redis_urls[i] for i in group], warmup, reqfile,
                                  args.seconds, args.connections, args.warmup)
                for i, result in zip(group, results, strict=True):
                    runs[apps[i].label].append(result)
            for app in apps:
                result = runs[app.label][-1]
                result["ratio"] = result["rps"] / runs[apps[0].label][-1]["rps"]
                print(f"round {round_no + 1} {_line(app.label, result)}", flush=True)
    finally:
        fake.stop()
        for server in privates:
            server.terminate()
            server.wait(10)
    print(f"\nmedians over {args.rounds} round(s), {args.connections} connections, "
          f"{args.seconds} s each{', all apps at once' if args.together else ''}:")
    for app in apps:
        rs = runs[app.label]
        print(_line(app.label, {k: statistics.median(r[k] for r in rs) for k in rs[0]}))
    return 0


def _line(label: str, r: dict) -> str:
    return (f"{label:26s} {r['rps']:6.0f} msg/s  x{r['ratio']:.2f} of bare  "
            f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
            f"CPU {r['cpu_us']:5.0f} us/msg  Redis {r['trips']:.2f} round trips "
            f"{r['commands']:.2f} commands {r['redis_cpu_us']:4.0f} us CPU /msg  "
            f"errors {r['errors']:.0f} non-2xx {r['non2xx']:.0f}")


if __name__ == "__main__":
    sys.exit(main())
