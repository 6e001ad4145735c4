"""POST /hooks/sms: replies opt a phone out at once (with an audit record); bad signatures,
tokens, unknown phones and junk get a clear 4xx and change nothing."""

from __future__ import annotations

import json

import pytest

from bot.pushes.sms.signing import sign
from tests.fixtures.orders import event, post_signed

SECRET = "sms-gateway-secret"
TOKEN = "smsup-token-123"
PHONE = "13812345678"


@pytest.fixture
def sms_app(make_app):
    return make_app(sms_provider="webhook", sms_sign_name="好物小店",
                    sms_webhook_url="http://127.0.0.1:9/", sms_webhook_secret=SECRET,
                    sms_hook_token=TOKEN)


@pytest.fixture
def client(sms_app):
    client = sms_app.test_client()
    assert post_signed(client, event("202611240001", "shipped", phone=PHONE)).status_code == 200
    return client


def reply(client, payload, secret: str = SECRET, signature: str | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload,
                                                                 ensure_ascii=False).encode()
    return client.post("/hooks/sms", data=body, content_type="application/json",
                       headers={"X-Signature": signature or sign(secret, body)})


def smsup(client, items, token: str = TOKEN):
    return client.post(f"/hooks/sms?token={token}", json=items)


def optouts(sms_app):
    return sms_app.extensions["bot_sms"].optouts


@pytest.mark.parametrize("text", ["T", "td", "ＴＤ", " 退订 ", "退订。", "N", "请帮我退订,谢谢",
                                  "STOP", "Unsubscribe"])
def test_opt_out_words_by_webhook(client, sms_app, r, text):
    answer = reply(client, {"phone": PHONE, "text": text, "received_at": "2026-11-24T10:01:00"})
    assert answer.status_code == 200 and answer.json == {"result": "opted_out"}
    record = optouts(sms_app).record(PHONE)
    assert record["how"] == "sms_reply:webhook" and record["text"] == text
    assert record["at"] > 0
    [audit] = optouts(sms_app).audit()
    assert audit["phone"] == PHONE


@pytest.mark.parametrize("text", ["谢谢", "收到", "不退订", "什么时候到", "T恤什么时候发", ""])
def test_other_replies_change_nothing(client, sms_app, text):
    answer = reply(client, {"phone": PHONE, "text": text, "received_at": "2026-11-24T10:01:00"})
    assert answer.status_code == 200 and answer.json == {"result": "ignored"}
    assert not optouts(sms_app).is_out(PHONE)


def test_second_opt_out_keeps_the_first_record_and_audits_both(client, sms_app, clock):
    reply(client, {"phone": PHONE, "text": "T", "received_at": ""})
    clock.advance(3600)
    answer = reply(client, {"phone": "+86 138-1234-5678", "text": "TD", "received_at": ""})
    assert answer.json == {"result": "already_opted_out"}
    assert optouts(sms_app).record(PHONE)["text"] == "T"
    assert [a["text"] for a in optouts(sms_app).audit()] == ["TD", "T"]


def test_aliyun_smsup_push_with_the_token(client, sms_app):
    items = [{"phone_number": PHONE, "content": "TD", "send_time": "2026-11-24 10:02:00",
              "sign_name": "好物小店", "dest_code": "1234", "sequence_id": 1}]
    answer = smsup(client, items)
    assert answer.status_code == 200 and answer.json["code"] == 0
    assert optouts(sms_app).record(PHONE)["how"] == "sms_reply:aliyun"


def test_aliyun_batch_skips_numbers_the_shop_never_had(client, sms_app):
    items = [{"phone_number": "13900000000", "content": "T"},
             {"phone_number": PHONE, "content": "退订"}]
    answer = smsup(client, items)
    assert answer.status_code == 200 and answer.json["results"] == ["opted_out"]
    assert not optouts(sms_app).is_out("13900000000")


@pytest.mark.parametrize("case", ["bad_signature", "no_signature", "other_secret"])
def test_bad_signature_is_401_and_changes_nothing(client, sms_app, r, case):
    payload = {"phone": PHONE, "text": "T", "received_at": ""}
    body = json.dumps(payload).encode()
    signature = {"bad_signature": "sha256=" + "0" * 64, "no_signature": "",
                 "other_secret": sign("not-the-secret", body)}[case]
    answer = client.post("/hooks/sms", data=body, content_type="application/json",
                         headers={"X-Signature": signature} if signature else {})
    assert answer.status_code == 401 and answer.json["error"] == "bad signature"
    assert not optouts(sms_app).is_out(PHONE) and r.xlen("sms:optout:audit") == 0


def test_bad_token_is_401(client, sms_app):
    answer = smsup(client, [{"phone_number": PHONE, "content": "T"}], token="guess")
    assert answer.status_code == 401 and not optouts(sms_app).is_out(PHONE)


def test_unknown_phone_is_404(client, sms_app, r):
    answer = reply(client, {"phone": "13900000000", "text": "T", "received_at": ""})
    assert answer.status_code == 404 and answer.json["error"] == "unknown phone"
    assert r.hlen("sms:optout") == 0 and r.xlen("sms:optout:audit") == 0


@pytest.mark.parametrize("body,field", [
    (b"not json", "body"),
    (b"[1, 2]", "body"),
    (json.dumps({"text": "T"}).encode(), "phone"),
    (json.dumps({"phone": "abc", "text": "T"}).encode(), "phone"),
    (json.dumps({"phone": PHONE, "text": 5}).encode(), "text"),
    (json.dumps({"phone": PHONE, "text": "T" * 5000}).encode(), "text"),
])
def test_junk_is_400_naming_the_field(client, sms_app, r, body, field):
    answer = reply(client, body)
    assert answer.status_code == 400 and answer.json["field"] == field
    assert r.hlen("sms:optout") == 0


@pytest.mark.parametrize("items", [[], "T", [{"phone_number": PHONE}], [5],
                                   [{"phone_number": "x", "content": "T"}]])
def test_aliyun_junk_is_400(client, sms_app, r, items):
    answer = smsup(client, items)
    assert answer.status_code == 400
    assert r.hlen("sms:optout") == 0


def test_huge_body_is_413(client):
    answer = reply(client, b"{" + b" " * 70_000 + b"}")
    assert answer.status_code == 413


def test_unconfigured_is_503(make_app):
    app = make_app()
    answer = app.test_client().post("/hooks/sms", json={"phone": PHONE, "text": "T"})
    assert answer.status_code == 503
    answer = app.test_client().post("/hooks/sms?token=x", json=[])
    assert answer.status_code == 503
