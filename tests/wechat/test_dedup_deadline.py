"""Each message is processed once; every delivery carries the same answer; late replies go
out through 客服消息 from a real Dramatiq worker."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from bot.conversation.handlers import Handler
from bot.local.simulator import text_xml
from tests.conftest import simulator_for
from tests.fixtures.wechat_api import wait_for

OPENID = "oUserDedup00000000000000001"


def counting_handler(r, delay: float = 0.0) -> Handler:
    def handle(ctx):
        r.incr("test:side_effects")
        if delay:
            time.sleep(delay)
        return ctx.services.replies.render("fallback")

    return Handler(name="slow", handle=handle, menu_keys=("SLOW",))


def click_xml(openid: str, create_time: int) -> str:
    return (f"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType>event</MsgType>"
            "<Event>CLICK</Event><EventKey>SLOW</EventKey></xml>")


def test_redelivered_message_is_processed_once_with_same_reply(wechat, clock, r):
    xml = text_xml(OPENID, "gh", "你好呀", 424242, int(clock.now()))
    answers = [wechat.post(xml) for _ in range(3)]
    assert all(a.status == 200 for a in answers)
    first = answers[0].text
    assert first and all(a.text == first for a in answers)
    assert int(r.get(f"flood:{OPENID}:{int(clock.now() // 60)}")) == 1


def test_same_msgid_from_two_users_is_two_messages(wechat, clock, r):
    now = int(clock.now())
    a = wechat.post(text_xml("oUserOne", "gh", "hi", 99, now))
    b = wechat.post(text_xml("oUserTwo", "gh", "hi", 99, now))
    assert a.text and b.text
    assert len(r.keys("once:m:99:*")) == 2


def test_concurrent_deliveries_wait_for_the_first(make_app, clock, r):
    app = make_app(extra_handlers=[counting_handler(r, delay=0.3)])
    sim = simulator_for(app, clock)
    xml = click_xml(OPENID, int(clock.now()))
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: sim.post(xml), range(3)))
    assert r.get("test:side_effects") == "1"
    texts = {a.text for a in answers}
    assert len(texts) == 1 and texts.pop() and all(a.status == 200 for a in answers)


def test_redis_down_gets_friendly_busy_reply(make_app, clock):
    import redis as redis_lib

    down = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                           decode_responses=True)
    app = make_app(redis_url="redis://127.0.0.1:1/0", redis_client=down)
    sim = simulator_for(app, clock)
    answer = sim.send_text(OPENID, "我的订单呢")
    assert answer.status == 200 and "系统繁忙" in answer.text
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and health.json["redis"] == "down"


def test_healthz_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.json["redis"] == "ok"


def test_flood_gets_polite_throttle(make_app, clock):
    app = make_app(flood_limit=3)
    sim = simulator_for(app, clock)
    texts = [sim.send_text(OPENID, f"消息{i}").text for i in range(5)]
    assert all("太快" not in t for t in texts[:3])
    # Honest: the first refused message is told it was not read and to send it again; the
    # rest of the window is refused quietly rather than with the same text over and over.
    assert "太快" in texts[3] and "没有读到" in texts[3] and "再把您的问题发一次" in texts[3]
    assert texts[4] is None


def test_slow_handler_answers_success_then_sends_customer_service_message(
    make_app, clock, r, fake_wechat, worker
):
    app = make_app(extra_handlers=[counting_handler(r, delay=1.2)], reply_deadline=0.4,
                   wechat_api_base_url=fake_wechat.url)
    rt = worker(app)
    sim = simulator_for(app, clock)
    xml = click_xml(OPENID, int(clock.now()))
    started = time.monotonic()
    first = sim.post(xml)
    # Answered at the deadline, not when the 1.2 s handler finally ends.
    assert time.monotonic() - started < 0.9
    assert first.status == 200 and first.body == b"success"
    retry = sim.post(xml)  # WeChat's second delivery: still late, still success
    assert retry.body == b"success"
    assert wait_for(lambda: fake_wechat.calls("message/custom/send"))
    time.sleep(0.5)
    sends = fake_wechat.calls("message/custom/send")
    assert len(sends) == 1
    assert sends[0]["body"]["touser"] == OPENID
    assert "转人工" in sends[0]["body"]["text"]["content"]
    assert r.get("test:side_effects") == "1"
    assert rt.services.redis is r


def test_worker_takes_over_when_claiming_web_worker_died(make_app, clock, r, fake_wechat, worker):
    """A web worker claimed the message and died: the job processes it and replies once."""
    import json

    from bot.conversation.messages import Incoming
    from bot.wechat.coordinator import record_key

    app = make_app(extra_handlers=[counting_handler(r)], wechat_api_base_url=fake_wechat.url)
    rt = worker(app)
    msg = Incoming(openid=OPENID, account="gh", kind="event", create_time=int(clock.now()),
                   event="click", event_key="SLOW")
    # What a worker leaves behind when killed mid-handler: a claim, no reply, a lapsed lease.
    r.set(record_key(msg.dedup_key), json.dumps({"state": "processing", "at": time.time()}), ex=600)
    rt.jobs.late_reply(msg)
    assert wait_for(lambda: fake_wechat.calls("message/custom/send"))
    time.sleep(0.3)
    assert len(fake_wechat.calls("message/custom/send")) == 1
    assert r.get("test:side_effects") == "1"


def test_late_reply_rejected_by_wechat_is_not_retried_forever(
    make_app, clock, r, fake_wechat, worker
):
    app = make_app(extra_handlers=[counting_handler(r, delay=0.6)], reply_deadline=0.2,
                   wechat_api_base_url=fake_wechat.url)
    worker(app)
    fake_wechat.inject("message/custom/send", errcode=45015, times=5)
    sim = simulator_for(app, clock)
    assert sim.post(click_xml(OPENID, int(clock.now()))).body == b"success"
    assert wait_for(lambda: any((r.get(k) or "").startswith("rejected")
                                for k in r.keys("once:e:*:sent")))
    assert len(fake_wechat.calls("message/custom/send")) == 1


def test_late_reply_retries_when_wechat_is_down(make_app, clock, r, fake_wechat, worker):
    app = make_app(extra_handlers=[counting_handler(r, delay=0.5)], reply_deadline=0.1,
                   wechat_api_base_url=fake_wechat.url)
    worker(app)
    fake_wechat.inject("message/custom/send", http_status=502, times=1)
    sim = simulator_for(app, clock)
    assert sim.post(click_xml(OPENID, int(clock.now()))).body == b"success"
    assert wait_for(lambda: any(r.get(k) == "sent" for k in r.keys("once:e:*:sent")), 20)
    calls = fake_wechat.calls("message/custom/send")
    assert len(calls) == 2  # the 502, then the delivery

