"""Benchmark order pushes end to end: order events through the webhook (gunicorn, 2 workers)
→ orders:changes → `python -m bot worker` (1 process, 8 threads) → the fake WeChat API.

    python bench/push_bench.py [--pushes 2000] [--rate 100] [--latency-events 1000]
                               [--redis redis://127.0.0.1:6379/14] [--merge-delay 0.5]

1. Baseline, same run: one Dramatiq worker process (8 threads, the bot's broker settings)
   draining `--pushes` no-op jobs (bench/noop_worker.py): jobs per second.
2. Throughput: `--pushes` events (one order and one consenting user each, inside the 客服消息
   window) posted through the webhook by 8 client threads while the worker is paused
   (SIGSTOP); pushes delivered per second from its resumption to the last delivery at the
   fake WeChat API, as the baseline is measured. Ratio to the baseline (target >= 0.2). Then
   the same with the worker running while the events arrive (posting competes for the cores).
3. Latency: `--latency-events` events posted open-loop at `--rate` per second; for each, the
   time from the start of its webhook POST to the fake API receiving its push; p50/p99
   (target p99 < 2 s). PUSH_MERGE_DELAY (default 0.5 s: a user's orders changing together
   become one message) is part of it.

Everything (load generator, fake API, gunicorn, worker, Redis) shares the machine's cores, so
the figures are a floor; compare the ratio across runs, not the absolute rates.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.callback_bench import free_port  # noqa: E402
from bench.noop_worker import declare  # noqa: E402
from bot.conversation.users import UserStore  # noqa: E402
from bot.local.fake_wechat import FakeWeChatControl  # noqa: E402
from bot.orders.webhook import sign  # noqa: E402
from bot.pushes.preferences import CONSENT_GIVEN, PreferenceStore  # noqa: E402

SECRET = "demo-webhook-secret"
KF = "message/custom/send"
TZ = ZoneInfo("Asia/Shanghai")


def wait(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def pause(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGSTOP)


def resume(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGCONT)


def baseline(redis_url: str, n: int) -> float:
    """No-op Dramatiq jobs drained per second by one worker process of 8 threads: the jobs
    are enqueued while the worker is paused (SIGSTOP), the clock starts when it resumes."""
    client = redis.Redis.from_url(redis_url)
    broker, actor = declare(redis_url)
    worker = start([sys.executable, str(ROOT / "bench/noop_worker.py"), redis_url],
                   dict(os.environ))
    try:
        actor.send(0)
        assert wait(lambda: int(client.get("bench:noop:done") or 0) >= 1, 60), "noop worker"
        pause(worker)
        for i in range(n):
            actor.send(i)
        began = time.time()
        resume(worker)
        assert wait(lambda: int(client.get("bench:noop:done") or 0) >= n + 1, 300)
        return n / (time.time() - began)
    finally:
        stop(worker)
        broker.close()


def event(order_id: str, openid: str) -> bytes:
    now = datetime.now(TZ)
    body = {"event_id": f"pb-{order_id}-{time.time_ns()}", "occurred_at": now.isoformat(),
            "order": {"order_id": order_id, "openid": openid, "status": "shipped",
                      "carrier": "SF", "tracking_no": f"SF{order_id}",
                      "eta": (now + timedelta(days=1)).isoformat(),
                      "items": [{"name": "咖啡豆 500g", "quantity": 1}]}}
    return json.dumps(body, ensure_ascii=False).encode()


class Poster:
    """Posts signed webhook events from a pool of threads, one keep-alive session each."""

    def __init__(self, base: str, threads: int = 8) -> None:
        self.base = base
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(threads)

    def post(self, raw: bytes) -> float:
        session = getattr(self.local, "s", None) or requests.Session()
        self.local.s = session
        began = time.time()
        resp = session.post(self.base + "/hooks/orders", data=raw, timeout=30, headers={
            "Content-Type": "application/json", "X-Signature": sign(SECRET, raw)})
        if resp.status_code != 200:
            raise RuntimeError(f"webhook {resp.status_code}: {resp.text}")
        return began


def consenting(client: redis.Redis, openids: list[str]) -> None:
    prefs, users = PreferenceStore(client), UserStore(client)
    now = time.time()
    for openid in openids:
        prefs.set(openid, consent=CONSENT_GIVEN, at=now)
        users.subscribed(openid, now - 3600)
        users.seen(openid, now)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pushes", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--latency-events", type=int, default=1000)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    ap.add_argument("--merge-delay", default="0.5")
    args = ap.parse_args()
    client = redis.Redis.from_url(args.redis, decode_responses=True)
    client.flushdb()

    noop_rate = baseline(args.redis, args.pushes)
    client.flushdb()
    print(f"baseline: Dramatiq no-op drain {noop_rate:,.0f} jobs/s (1 process x 8 threads)",
          flush=True)

    fake_port, port = free_port(), free_port()
    env = {**os.environ, "BOT_DEMO": "1", "REDIS_URL": args.redis, "QUIET_HOURS": "off",
           "PUSH_MERGE_DELAY": args.merge_delay, "PUSH_KF_QUOTA": "1000000",
           "BOT_DATA_DIR": str(ROOT / "data" / "bench"),
           "WECHAT_API_BASE_URL": f"http://127.0.0.1:{fake_port}/cgi-bin/"}
    # The fake under gunicorn (one process, so one state) for HTTP keep-alive, as WeChat has.
    fake = start([sys.executable, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads",
                  "8", "-b", f"127.0.0.1:{fake_port}", "bot.local.fake_wechat:wsgi_app()"], env)
    web = start([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                 "wsgi:app"], {**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"})
    worker = start([sys.executable, "-m", "bot", "worker", "--processes", "1", "--threads",
                    "8"], env)
    control = FakeWeChatControl(env["WECHAT_API_BASE_URL"])
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait(lambda: _up(base + "/healthz"), 60), "gunicorn did not start"
        assert wait(lambda: client.get("pushes:leader"), 60), "worker did not start"
        total = 2 * args.pushes + args.latency_events + 1
        consenting(client, [f"oPB{n:06d}" for n in range(total)])
        poster = Poster(base)
        poster.post(event("P000000", "oPB000000"))          # warm-up: token, imports
        assert wait(lambda: control.count(KF) >= 1, 60), "warm-up push never arrived"

        # Drain rate, measured like the baseline's: the events go through the webhook while
        # the worker is paused, and the clock runs from its resumption to the last delivery.
        pause(worker)
        began = time.time()
        list(poster.pool.map(lambda n: poster.post(event(f"P{n:06d}", f"oPB{n:06d}")),
                             range(1, args.pushes + 1)))
        posted = time.time() - began
        began = time.time()
        resume(worker)
        assert wait(lambda: control.count(KF) >= args.pushes + 1, 600, 0.2), \
            f"only {control.count(KF)} pushes delivered"
        push_rate = args.pushes / (time.time() - began)
        print(f"throughput: {args.pushes} events through the webhook in {posted:.1f} s "
              f"({args.pushes / posted:,.0f}/s) with the worker paused; then pushes delivered "
              f"{push_rate:,.0f}/s; ratio to the no-op drain {push_rate / noop_rate:.2f} "
              f"(target >= 0.2)", flush=True)
        # The same again with the worker running while the events come in.
        began = time.time()
        second = range(args.pushes + 1, 2 * args.pushes + 1)
        list(poster.pool.map(lambda n: poster.post(event(f"P{n:06d}", f"oPB{n:06d}")), second))
        posted = time.time() - began
        assert wait(lambda: control.count(KF) >= 2 * args.pushes + 1, 600, 0.2)
        live_rate = args.pushes / (time.time() - began)
        print(f"throughput while posting: {args.pushes} events in {posted:.1f} s "
              f"({args.pushes / posted:,.0f}/s), pushes delivered {live_rate:,.0f}/s "
              f"(ratio {live_rate / noop_rate:.2f}; the webhook and its client share the "
              f"cores)", flush=True)

        first = 2 * args.pushes + 1
        sent_at: dict[str, float] = {}
        jobs: queue.Queue = queue.Queue()
        t0 = time.time() + 0.5
        for i in range(args.latency_events):
            jobs.put((t0 + i / args.rate, first + i))

        def pace() -> None:
            while True:
                try:
                    at, n = jobs.get_nowait()
                except queue.Empty:
                    return
                time.sleep(max(0.0, at - time.time()))
                openid = f"oPB{n:06d}"
                sent_at[openid] = poster.post(event(f"P{n:06d}", openid))

        threads = [threading.Thread(target=pace) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        lateness = max(0.0, max(sent_at.values()) - (t0 + (args.latency_events - 1) / args.rate))
        assert wait(lambda: control.count(KF) >= first + args.latency_events, 300, 0.2)
        calls = {c["openid"]: c["time"] for c in control.calls(path=KF)
                 if c["openid"] in sent_at and c["result"] == 0}
        latencies = sorted(calls[o] - sent_at[o] for o in sent_at)
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"latency at {args.rate:.0f} events/s ({args.latency_events} events, posting "
              f"{lateness:.2f} s behind schedule at the end): webhook to push p50 "
              f"{p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms "
              f"(target p99 < 2 s; PUSH_MERGE_DELAY {args.merge_delay} s)", flush=True)
    finally:
        for proc in (worker, web, fake):
            stop(proc)
    return 0


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    sys.exit(main())
