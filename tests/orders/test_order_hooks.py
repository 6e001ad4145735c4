"""POST /hooks/orders over HTTP with real HMAC signatures, on the real Redis."""

from __future__ import annotations

import json

import pytest

from bot.orders.store import STREAM
from tests.fixtures.orders import down_redis, event, point, post_signed

ALICE = "oAlice000000000000000000001"


def body(order_id: str = "202611240001", status: str = "shipped", **kw) -> dict:
    fields = {"openid": ALICE, "phone": "13812345678", "carrier": "SF",
              "tracking_no": "SF1402938475610", "tracking": [point(-1, "昆明", "已揽收")]}
    fields.update(kw)
    return event(order_id, status, **fields)


def test_signed_event_is_applied(hook, orders, r):
    resp = hook(body())
    assert resp.status_code == 200 and resp.json == {"result": "applied", "status": "shipped"}
    assert orders.get("202611240001").tracking_no == "SF1402938475610"
    assert r.xlen(STREAM) == 1


@pytest.mark.parametrize("signature", [
    "",                                   # missing
    "sha256=" + "0" * 64,                 # forged
    "sha1=abc",                           # wrong scheme
])
def test_bad_signature_is_401_and_nothing_is_stored(hook, r, signature):
    resp = hook(body(), signature=signature)
    assert resp.status_code == 401
    assert r.keys("orders:*") == []


def test_signature_over_other_bytes_or_secret_is_401(seeded_app, r):
    client = seeded_app.test_client()
    assert post_signed(client, body(), secret="not-the-secret").status_code == 401
    raw = json.dumps(body()).encode()
    from bot.orders.webhook import sign

    tampered = raw.replace(b'"shipped"', b'"refunded"')
    resp = client.post("/hooks/orders", data=tampered, content_type="application/json",
                       headers={"X-Signature": sign("demo-webhook-secret", raw)})
    assert resp.status_code == 401 and r.keys("orders:*") == []


@pytest.mark.parametrize(("raw", "field"), [
    (b"{not json", "body"),
    (b"\xff\xfe\x00", "body"),
    (b"[]", "body"),
    (json.dumps({"occurred_at": "2026-11-24T10:00:00+08:00", "order": {}}).encode(),
     "event_id"),
    (json.dumps(body(status="teleported")).encode(), "order.status"),
    (json.dumps(body(items=[{"name": "x", "category": "weapons"}])).encode(),
     "order.items[0].category"),
    (json.dumps(body(tracking=[{"time": "later", "description": "x"}])).encode(),
     "order.tracking[0].time"),
])
def test_invalid_body_is_400_naming_the_field(hook, r, raw, field):
    resp = hook(raw)
    assert resp.status_code == 400 and resp.json["field"] == field
    assert r.keys("orders:*") == []


def test_event_far_in_the_future_is_400_and_does_not_block_real_updates(hook, orders, r):
    # A shop clock a year ahead would otherwise make every real event look older.
    resp = hook(body(status="delivered", hours=24 * 365))
    assert resp.status_code == 400 and resp.json["field"] == "occurred_at"
    assert r.keys("orders:*") == []
    assert hook(body(status="shipped", hours=-1)).json["result"] == "applied"
    # A clock a little ahead (under a day) is tolerated.
    assert hook(body(status="in_transit", hours=20)).json["result"] == "applied"
    assert orders.get("202611240001").status == "in_transit"


def test_webhook_without_a_secret_is_503_so_the_shop_retries(make_app, r):
    app = make_app(bot_demo=False, wechat_token="token", wechat_appid="wx0000000000000000",
                   wechat_secret="secret", secret_key="key", order_webhook_secret="")
    resp = post_signed(app.test_client(), body())
    assert resp.status_code == 503
    assert resp.json == {"error": "ORDER_WEBHOOK_SECRET is not set"}
    assert r.keys("orders:*") == []


def test_same_event_twice_is_200_and_applied_once(hook, r):
    first = body()
    assert hook(first).json["result"] == "applied"
    again = hook(first)
    assert again.status_code == 200 and again.json["result"] == "duplicate"
    assert r.xlen(STREAM) == 1


def test_out_of_order_events_keep_the_newest_status(hook, orders):
    assert hook(body(status="out_for_delivery", hours=-1,
                     tracking=[point(-1, "杭州", "派送中")])).json["result"] == "applied"
    late = hook(body(status="shipped", hours=-20, tracking=[point(-20, "昆明", "已揽收")]))
    assert late.status_code == 200 and late.json == {"result": "merged",
                                                     "status": "out_for_delivery"}
    order = orders.get("202611240001")
    assert order.status == "out_for_delivery"
    assert [p.description for p in order.tracking] == ["已揽收", "派送中"]


def test_events_of_the_same_second_never_roll_the_status_back(hook, orders):
    assert hook(body(status="shipped", hours=-1)).json["result"] == "applied"
    tie = hook(body(status="paid", hours=-1, tracking=[]))
    assert tie.json == {"result": "merged", "status": "shipped"}
    assert orders.get("202611240001").status == "shipped"
    # Further along at the same second: applied.
    assert hook(body(status="in_transit", hours=-1)).json["result"] == "applied"


def test_redis_down_is_503_so_the_shop_retries_and_nothing_is_lost(make_app, r):
    down = down_redis()
    broken = make_app(redis_url="redis://127.0.0.1:1/0", redis_client=down)
    payload = body()
    resp = post_signed(broken.test_client(), payload)
    assert resp.status_code == 503
    # The shop retries the same event once Redis is back: it is applied then, exactly once.
    healthy = make_app()
    retry = post_signed(healthy.test_client(), payload)
    assert retry.status_code == 200 and retry.json["result"] == "applied"
    assert healthy.extensions["bot"].orders.get("202611240001").status == "shipped"


def test_every_acknowledged_event_is_stored(seeded_app, r):
    """Many events at once through the endpoint: each 200 is in the record and the stream."""
    from concurrent.futures import ThreadPoolExecutor

    bodies = [body(order_id=f"5{i:05d}", hours=i % 7) for i in range(60)]

    def send(payload):
        return post_signed(seeded_app.test_client(), payload).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(send, bodies))
    assert statuses == [200] * 60
    assert r.xlen(STREAM) == 60
    assert len(r.keys("orders:order:*")) == 60


def test_oversized_body_is_refused(hook):
    huge = body(address="x" * 70_000)
    assert hook(huge).status_code == 413
