"""Dedup under real gunicorn with two worker processes sharing one Redis."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bot.local.simulator import text_xml
from tests.fixtures.gunicorn import simulator
from tests.fixtures.wechat_api import wait_for


def click_xml(openid: str, key: str, create_time: int) -> str:
    return (f"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType>event</MsgType>"
            f"<Event>CLICK</Event><EventKey>{key}</EventKey></xml>")


def test_each_message_processed_once_across_two_workers(gunicorn_app, r):
    sim = simulator(gunicorn_app)
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


def test_text_messages_processed_once_across_two_workers(gunicorn_app, r):
    sim = simulator(gunicorn_app)
    now = int(time.time())
    deliveries = [(f"oText{i:03d}", 7000 + i) for i in range(10) for _ in range(3)]

    def deliver(item):
        openid, msg_id = item
        return openid, sim.post(text_xml(openid, "gh", "你好", msg_id, now))

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(deliver, deliveries))
    by_user: dict[str, set] = {}
    for openid, answer in results:
        assert answer.status == 200 and answer.text
        by_user.setdefault(openid, set()).add(answer.text)
    assert all(len(texts) == 1 for texts in by_user.values())
    # The flood counter is bumped by the claim alone: once per message, not per delivery.
    minute = now // 60
    counts = [r.get(f"flood:oText{i:03d}:{minute}") or r.get(f"flood:oText{i:03d}:{minute + 1}")
              for i in range(10)]
    assert counts == ["1"] * 10
    records = [json.loads(r.get(k)) for k in r.keys("once:m:*") if k.count(":") == 4]
    assert len(records) == 10 and len({rec["by"] for rec in records}) == 2


def test_worker_killed_mid_handler_loses_nothing(start_gunicorn, r, make_app, fake_wechat,
                                                 worker):
    """SIGKILL the web worker running a handler: WeChat's redelivery hands the message to the
    late-reply job, which takes it over once the dead worker's lease lapses and replies once."""
    from tests.apps.handlers import COUNT_HANDLER

    base, _ = start_gunicorn(TEST_HANDLER_DELAY="3", REPLY_DEADLINE="1.0",
                             WECHAT_API_BASE_URL=fake_wechat.url)
    worker(make_app(extra_handlers=[COUNT_HANDLER], wechat_api_base_url=fake_wechat.url))
    sim = simulator(base)
    xml = click_xml("oKilled0001", "COUNT", int(time.time()))
    first = ThreadPoolExecutor(1).submit(sim.post, xml)
    assert wait_for(lambda: r.get("test:effects:COUNT") == "1", 10)
    lease = next(r.get(k) for k in r.keys("once:e:oKilled0001:*:lease"))
    os.kill(int(lease.rsplit(":", 1)[1]), signal.SIGKILL)
    with pytest.raises(requests.RequestException):
        first.result(10)
    time.sleep(1.2)  # WeChat redelivers about 5 s after the first try: past the deadline
    assert sim.post(xml).body == b"success"
    assert wait_for(lambda: fake_wechat.calls("message/custom/send"), 30)
    time.sleep(1.0)
    sends = fake_wechat.calls("message/custom/send")
    assert len(sends) == 1 and sends[0]["body"]["touser"] == "oKilled0001"
    assert r.get("test:effects:COUNT") == "2"  # the killed run, then the job's takeover
