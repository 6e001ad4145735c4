"""Dedup under real gunicorn with two worker processes sharing one Redis."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bot.simulator import WeChatSimulator, requests_transport

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn_app(redis_url, r, tmp_path):
    port = free_port()
    env = dict(
        os.environ, BOT_DEMO="1", REDIS_URL=redis_url, BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2", WEB_THREADS="2", BOT_DATA_DIR=str(tmp_path), WECHAT_API_BASE_URL="http://127.0.0.1:9/",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
         "tests.apps.counting_wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError(proc.stderr.read().decode())
    yield base
    proc.terminate()
    proc.wait(15)


def click_xml(openid: str, key: str, create_time: int) -> str:
    return (f"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType>event</MsgType>"
            f"<Event>CLICK</Event><EventKey>{key}</EventKey></xml>")


def test_each_message_processed_once_across_two_workers(gunicorn_app, r):
    sim = WeChatSimulator(requests_transport(gunicorn_app, keep_alive=False), "demo-token",
                          "wxdemo0000000000", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
    now = int(time.time())
    deliveries = [(f"oUser{i:03d}", now) for i in range(12) for _ in range(3)]

    def deliver(item):
        openid, ts = item
        return openid, sim.post(click_xml(openid, "COUNT", ts))

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(deliver, deliveries))
    by_user: dict[str, set] = {}
    for openid, answer in results:
        assert answer.status == 200
        by_user.setdefault(openid, set()).add(answer.text)
    # Every delivery of a message carries the same (non-empty) reply…
    assert all(len(texts) == 1 and None not in texts for texts in by_user.values())
    # …and the side effect happened once per message, not once per delivery.
    assert r.get("test:effects:COUNT") == "12"
    records = [json.loads(r.get(k)) for k in r.keys("once:e:*") if k.count(":") == 5]
    assert len(records) == 12
    # Both worker processes took part, so the dedup really crossed processes.
    assert len({rec["by"] for rec in records}) == 2
