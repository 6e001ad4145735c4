"""Logs: JSON lines with a request id that follows a message, and nothing secret in any line of
a full gunicorn run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from bot.conversation.messages import Incoming
from bot.jobs import NAMESPACE, RequestIds, make_broker
from bot.local.simulator import WeChatSimulator, requests_transport
from bot.orders.webhook import sign
from bot.platform.logs import request_id, request_id_for
from tests.fixtures.gunicorn import free_port
from tests.fixtures.orders import event

ROOT = Path(__file__).resolve().parents[2]
OPENID = "oLogUser00000000000000000001"
PHONE = "13800005678"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SECRETS = ["demo-webhook-secret", "demo-secret-key", "demo-token", AES_KEY, "demo-secret"]


def test_request_id_rides_with_the_job(redis_url, r):
    from bot.jobs import Jobs

    jobs = Jobs(make_broker(redis_url))
    msg = Incoming(openid=OPENID, account="gh", kind="text", create_time=1, msg_id="1")
    token = request_id.set(request_id_for(msg.dedup_key))
    try:
        jobs.late_reply(msg)
    finally:
        request_id.reset(token)
    stored = [json.loads(v) for v in r.hvals(f"{NAMESPACE}:replies.msgs")]
    assert [m["options"]["request_id"] for m in stored] == [request_id_for(msg.dedup_key)]
    # The worker side sets it before the job runs and clears it after.
    from dramatiq import Message

    middleware = RequestIds()
    message = Message(**{k: stored[0][k] for k in ("queue_name", "actor_name", "args",
                                                     "kwargs", "options", "message_id",
                                                     "message_timestamp")})
    middleware.before_process_message(None, message)
    assert request_id.get() == request_id_for(msg.dedup_key)
    middleware.after_process_message(None, message)
    assert request_id.get() == "-"


def test_a_full_gunicorn_run_logs_json_without_ids_phones_or_secrets(redis_url, r, tmp_path):
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {**os.environ, "BOT_DEMO": "1", "REDIS_URL": redis_url, "BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "2", "WEB_THREADS": "2", "BOT_DATA_DIR": str(tmp_path),
           "WECHAT_API_BASE_URL": "http://127.0.0.1:9/", "LOG_FORMAT": "json",
           "ACCESS_LOG": "-", "REPLY_DEADLINE": "0.2", "TEST_HANDLER_DELAY": "0.6"}
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
             "tests.apps.counting_wsgi:app"], cwd=ROOT, env=env, stdout=out, stderr=out)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    if requests.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.2)
            sim = WeChatSimulator(requests_transport(base, keep_alive=False), "demo-token",
                                  "wxdemo0000000000", AES_KEY)
            r.delete("intents:builtin-sha256")
            sim.text(OPENID, "你好")
            sim.text(OPENID, f"我的手机号 {PHONE} 查订单")
            sim.text(OPENID, "查订单 202611180006")
            sim.text(OPENID, PHONE)
            sim.event(OPENID, "CLICK", "COUNT")             # slow: logged as late, with its key
            sim.post("<xml>broken", encrypted=False)
            raw = json.dumps(event("202611180006", "paid", phone=PHONE, openid=OPENID)).encode()
            requests.post(f"{base}/hooks/orders", data=raw,
                          headers={"X-Signature": sign("demo-webhook-secret", raw)}, timeout=5)
            # WeChat adds the user's openid to the callback URL: the access log must mask it.
            requests.post(f"{base}/wechat?openid={OPENID}&timestamp=1&nonce=1&signature=x",
                          data=b"<xml/>", timeout=5)
            time.sleep(1.0)
        finally:
            proc.terminate()
            proc.wait(15)
    lines = log_path.read_text(encoding="utf-8").splitlines()
    ours = [json.loads(line) for line in lines if line.startswith("{")]
    assert ours, lines
    assert all({"time", "level", "logger", "message", "request_id"} <= set(doc) for doc in ours)
    for line in lines:
        assert OPENID not in line, line
        assert PHONE not in line, line
        for secret in SECRETS:
            assert secret not in line, line
    # The lines that named the user still say who it was, masked.
    assert any("oLogU…01" in line for line in lines), lines
    late = [d for d in ours if "is late" in d["message"]]
    assert late and all(d["request_id"] != "-" for d in late)
