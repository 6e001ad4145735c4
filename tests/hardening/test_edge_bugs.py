"""Bugs found by trying the bot as a new user would, each pinned by a test."""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode

import pytest

from bot.local.simulator import text_xml
from bot.orders.guard import MissGuard
from bot.wechat.envelope import signature_of
from tests.conftest import simulator_for
from tests.fixtures.orders import event

ALICE = "oAlice000000000000000000001"


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# The order webhook ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    _deep(30_000).encode(),
    ('{"event_id": "e1", "occurred_at": "2026-11-24T10:00:00+08:00", "order": '
     + _deep(30_000) + "}").encode(),
    ('{"event_id": "e1", "order": {"order_id": "1", "items": ' + _deep(30_000) + "}}").encode(),
])
def test_json_nested_30000_deep_is_400(hook, r, raw):
    resp = hook(raw)
    assert resp.status_code == 400 and resp.json["field"] == "body"
    assert "nested" in resp.json["error"]
    assert r.keys("orders:*") == []


@pytest.mark.parametrize(("where", "field"), [
    (lambda b: b["order"].update(items=[{"name": "\ud800x"}]), "order.items[0].name"),
    (lambda b: b["order"].update(address="\udfff"), "order.address"),
    (lambda b: b.update(event_id="e\udc00"), "event_id"),
    (lambda b: b["order"].update(order_id="1\ud800"), "order.order_id"),
])
def test_lone_surrogate_is_400_naming_the_field(hook, r, where, field):
    body = event("202611240001", "shipped", openid=ALICE)
    where(body)
    # ensure_ascii writes "\ud800" as an escape, which is how it arrives from a shop.
    raw = json.dumps(body).encode()
    resp = hook(raw)
    assert resp.status_code == 400 and resp.json["field"] == field, resp.json
    assert r.keys("orders:*") == []


def test_identifiers_are_strings_or_integers_alike(hook, orders):
    body = event("x", "shipped", openid=ALICE, tracking_no=773012345678, phone=13812345678)
    body["event_id"], body["order"]["order_id"] = 9001, 202611240001
    resp = hook(body)
    assert resp.status_code == 200, resp.json
    order = orders.get("202611240001")
    assert order.tracking_no == "773012345678" and order.phone == "13812345678"
    for bad in (1.5, -3, True, [1]):
        body = event("202611240002", "shipped")
        body["event_id"] = bad
        resp = hook(body)
        assert resp.status_code == 400 and resp.json["field"] == "event_id"
        assert "string or" in resp.json["detail"]


@pytest.mark.parametrize(("raw_amount", "stored"), [
    ('"199.00"', "199.00"), ("199", "199.00"), ("1.5", "1.50"), ("0.1", "0.10"),
    ('"12.3"', "12.30"), ("1E2", "100.00"),
])
def test_amount_decimal_string_or_number_read_exactly(hook, orders, raw_amount, stored):
    raw = ('{"event_id": "a1", "occurred_at": "2026-11-24T09:00:00+08:00", "order": '
           '{"order_id": "500", "status": "paid", "amount": ' + raw_amount + "}}").encode()
    resp = hook(raw)
    assert resp.status_code == 200, resp.json
    assert orders.get("500").amount == stored


@pytest.mark.parametrize("raw_amount", ['"lots"', "1.005", '"0.001"', "-1", "true", "[1]",
                                        "1e400", '"NaN"'])
def test_amount_other_values_are_400_with_the_rule(hook, raw_amount):
    raw = ('{"event_id": "a2", "occurred_at": "2026-11-24T09:00:00+08:00", "order": '
           '{"order_id": "501", "status": "paid", "amount": ' + raw_amount + "}}").encode()
    resp = hook(raw)
    assert resp.status_code == 400 and resp.json["field"] == "order.amount"
    assert "decimal" in resp.json["detail"] or "range" in resp.json["detail"]


def test_webhook_chunked_body_over_limit_is_413(seeded_app, r):
    raw = json.dumps(event("202611240001", "shipped", address="x" * 70_000)).encode()
    from bot.orders.webhook import sign

    resp = _chunked(seeded_app.test_client(), "/hooks/orders", raw,
                    {"X-Signature": sign("demo-webhook-secret", raw)})
    assert resp.status_code == 413
    assert r.keys("orders:*") == []


# The WeChat callback -------------------------------------------------------------------------

def _chunked(client, path: str, body: bytes, headers: dict | None = None):
    """POST without Content-Length, the way gunicorn hands a chunked upload to the app."""
    return client.post(path, input_stream=io.BytesIO(body),
                       headers={"Transfer-Encoding": "chunked", **(headers or {})},
                       environ_overrides={"wsgi.input_terminated": True})


def _signed_query(clock) -> str:
    ts, nonce = str(int(clock.now())), "777"
    return urlencode({"timestamp": ts, "nonce": nonce,
                      "signature": signature_of("demo-token", ts, nonce)})


def test_chunked_body_over_64kb_is_413_and_under_is_answered(app, clock):
    client = app.test_client()
    huge = text_xml(ALICE, "gh", "x" * 70_000, 3, int(clock.now())).encode()
    assert _chunked(client, f"/wechat?{_signed_query(clock)}", huge).status_code == 413
    small = text_xml(ALICE, "gh", "你好", 4, int(clock.now())).encode()
    resp = _chunked(client, f"/wechat?{_signed_query(clock)}", small)
    assert resp.status_code == 200 and b"<Content>" in resp.data


@pytest.mark.parametrize("encrypted", [False, True])
def test_validly_signed_empty_body_is_400(app, clock, encrypted):
    sim = simulator_for(app, clock, encrypted=encrypted)
    if encrypted:
        # Safe mode: a correctly encrypted and signed envelope around nothing.
        answer = sim.post("")
    else:
        answer = sim.post(b"", encrypted=False)
    assert answer.status == 400


@pytest.mark.parametrize("sender", [None, "", "   ", "a b"])
@pytest.mark.parametrize("encrypted", [False, True])
def test_message_without_a_sender_is_refused(app, clock, r, sender, encrypted):
    xml = text_xml("PLACEHOLDER", "gh", "你好", 5, int(clock.now()))
    if sender is None:
        xml = xml.replace("<FromUserName><![CDATA[PLACEHOLDER]]></FromUserName>", "")
        assert "FromUserName" not in xml
    else:
        xml = xml.replace("PLACEHOLDER", sender)
    answer = simulator_for(app, clock, encrypted=encrypted).post(xml)
    assert answer.status == 400
    assert not any(k for k in r.keys("*") if "reply" in k or "dedup" in k)


# Invisible characters in order numbers -------------------------------------------------------

@pytest.mark.parametrize("invisible", ["\u200b", "\u2060", "\ufeff", "\u00ad", "\u200d"])
def test_invisible_character_inside_an_order_number_is_dropped(orders, order_chat, seeded_app,
                                                              invisible):
    orders.apply_payload(event("202611240001", "shipped", hours=-1, openid=ALICE))
    answer = order_chat.text(ALICE, f"查订单 2026112{invisible}40001")
    assert "202611240001" in answer and "已发货" in answer
    # Not a miss toward the guessing throttle.
    assert seeded_app.extensions["bot"].redis.get(MissGuard.key(ALICE)) is None


def test_invisible_list_is_unicode_format_characters():
    import unicodedata

    from bot.understanding.normalise import _INVISIBLE

    for code in range(0x110000):
        ch = chr(code)
        is_format = unicodedata.category(ch) == "Cf"
        assert bool(_INVISIBLE.fullmatch(ch)) == is_format, hex(code)
