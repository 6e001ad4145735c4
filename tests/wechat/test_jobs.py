"""Background jobs survive a worker killed with SIGKILL: the broker hands them to another."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.conversation.messages import Incoming
from bot.jobs import HEARTBEAT_TIMEOUT_MS, MAINTENANCE_CHANCE, NAMESPACE, make_broker
from bot.wechat.coordinator import record_key
from tests.fixtures.wechat_api import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_broker_requeues_a_dead_workers_jobs_within_seconds(redis_url):
    broker = make_broker(redis_url)
    # Dramatiq's defaults (60 s, one in a thousand) left a killed worker's jobs parked minutes.
    assert broker.heartbeat_timeout == HEARTBEAT_TIMEOUT_MS <= 15_000
    assert broker.maintenance_chance == MAINTENANCE_CHANCE >= 50_000
    assert broker.namespace == NAMESPACE


def start_worker(redis_url: str, api_url: str, data_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "BOT_DEMO": "1", "REDIS_URL": redis_url,
           "WECHAT_API_BASE_URL": api_url, "BOT_DATA_DIR": str(data_dir)}
    return subprocess.Popen([sys.executable, "-m", "tests.apps.one_worker"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_job_of_a_worker_killed_mid_job_is_run_by_another(r, redis_url, fake_wechat, make_app,
                                                          tmp_path):
    app = make_app(wechat_api_base_url=fake_wechat.url)
    rt = app.extensions["bot_runtime"]
    msg = Incoming(openid="oKilledJob01", account="gh", kind="text", create_time=1,
                   msg_id="9001", text="你好")
    key = record_key(msg.dedup_key)
    # A web worker is still on the message (live lease), so the job waits for its reply.
    r.set(key, json.dumps({"state": "processing", "at": time.time()}), ex=600)
    r.set(f"{key}:lease", "web", ex=120)
    first = start_worker(redis_url, fake_wechat.url, tmp_path)
    second = None
    try:
        rt.jobs.late_reply(msg)
        assert wait_for(lambda: any(r.scard(k) for k in r.keys(f"{NAMESPACE}:__acks__.*")), 30)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        killed_at = time.time()
        # The web worker finishes; only a live worker can now deliver the reply.
        r.set(key, json.dumps({"state": "done", "reply": "您好!", "kind": "text",
                               "at": time.time()}), ex=600)
        r.delete(f"{key}:lease")
        second = start_worker(redis_url, fake_wechat.url, tmp_path)
        assert wait_for(lambda: fake_wechat.calls("message/custom/send"), 120)
        requeued_after = time.time() - killed_at
        time.sleep(1.0)
        sends = fake_wechat.calls("message/custom/send")
        assert len(sends) == 1 and sends[0]["body"]["touser"] == "oKilledJob01"
        # Heartbeat timeout (15 s) plus a maintenance run, not the 5+ minutes of Dramatiq's
        # defaults. The bound also covers the second worker's start-up (imports, jieba), which
        # took up to ~25 s on a loaded 2-core machine.
        assert requeued_after < 75, requeued_after
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(15)
