"""Property-based tests for every parser of outside input: whatever arrives, the answer is the
documented one (200, or the 4xx the README lists), never a 500 or an escaped exception.

Bounded (max_examples) so the suite stays quick; Hypothesis shrinks any failure to a small case.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto

from bot.local.simulator import event_xml, text_xml
from bot.orders.validation import InvalidOrder, loads, parse_event
from bot.orders.webhook import sign
from bot.understanding.entities import extract_entities
from bot.understanding.intent_file import IntentFileError, parse_intents
from bot.understanding.normalise import normalise, tokenise
from bot.wechat.envelope import Envelope, EnvelopeError, signature_of
from tests.conftest import START

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TOKEN, APPID = "demo-token", "wxdemo0000000000"
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
FAST = settings(FUZZ, max_examples=200)
CALLBACK_STATUSES = {200, 400, 403, 413}

# Text as users and attackers send it: any code point (surrogates included where a str allows),
# with XML's own characters, CDATA ends, control characters and invisible ones favoured.
hostile_chars = st.one_of(
    st.characters(),
    st.sampled_from(list("<>&'\"]]>\x00\x01\x0b\x1f\ufffe\uffff\u200b\u202e\ufeff")
                    + ["]]>", "<![CDATA[", "&lt;", "&#0;", "<!DOCTYPE x>", "<!ENTITY e 'x'>"]),
)
hostile_text = st.lists(hostile_chars, max_size=60).map("".join)
xmlish = st.one_of(
    hostile_text,
    st.builds(text_xml, st.sampled_from(["oUser0000000000000000000001", "", "x y"]),
              hostile_text, hostile_text, st.integers(-2**63, 2**64), st.integers(-1, 2**40)),
    st.builds(event_xml, st.just("oUser0000000000000000000001"), hostile_text, hostile_text,
              hostile_text, st.integers(0, 2**40)),
    st.builds(lambda depth, tag: f"<xml>{'<' + tag + '>' * depth}</xml>",
              st.integers(0, 5000), st.sampled_from(["a", "MsgType", "Content"])),
    st.builds(lambda inner: f"<xml><MsgType>text</MsgType>{inner}</xml>", hostile_text),
)


def _as_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


# The envelope, alone --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def envelope():
    from bot.platform.config import Config

    return Envelope(Config.from_mapping({"bot_demo": True}))


def _plain_args(ts: str = str(int(START)), nonce: str = "1") -> dict[str, str]:
    return {"timestamp": ts, "nonce": nonce, "signature": signature_of(TOKEN, ts, nonce)}


@FAST
@given(body=st.one_of(st.binary(max_size=2000), xmlish.map(_as_bytes)))
def test_plain_envelope_opens_or_refuses_with_4xx(envelope, body):
    try:
        opened = envelope.open(_plain_args(), body, START)
    except EnvelopeError as exc:
        assert exc.status in (400, 403)
    else:
        assert opened.message._data.get("FromUserName")


@FAST
@given(args=st.dictionaries(st.sampled_from(["timestamp", "nonce", "signature", "encrypt_type",
                                             "msg_signature", "echostr"]),
                            st.text(max_size=50)), body=st.binary(max_size=200))
def test_forged_or_garbled_query_is_403_or_400(envelope, args, body):
    with pytest.raises(EnvelopeError) as refused:
        envelope.open(args, body, START)
    assert refused.value.status in (400, 403)


@FAST
@given(inner=xmlish, compatible=st.booleans(), tamper=st.booleans())
def test_safe_and_compatible_mode_open_or_refuse_with_4xx(envelope, inner, compatible, tamper):
    import xmltodict

    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    ts, nonce = str(int(START)), "424242"
    try:
        sealed = crypto.encrypt_message(inner, nonce, ts)
    except UnicodeEncodeError:
        return                            # a lone surrogate cannot even be sent
    doc = xmltodict.parse(sealed)["xml"]
    encrypt = doc["Encrypt"]
    if tamper:
        encrypt = encrypt[:-8] + "AAAAAAA="
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    if compatible:
        body = inner.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>", 1)
    args = {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
            "msg_signature": signature_of(TOKEN, ts, nonce, encrypt)}
    try:
        envelope.open(args, _as_bytes(body), START)
    except EnvelopeError as exc:
        assert exc.status in (400, 403)


# The whole callback, valid envelopes with hostile contents -------------------------------------

@FUZZ
@given(content=hostile_text, kind=st.sampled_from(["text", "event", "image", "voice", "x"]),
       key=hostile_text)
def test_callback_answers_hostile_contents_without_a_5xx(seeded_app, clock, content, kind, key):
    from tests.conftest import simulator_for

    sim = simulator_for(seeded_app, clock, encrypted=False)
    now = int(clock.now())
    if kind == "text":
        xml = text_xml("oFuzz000000000000000000001", "gh", content, now, now)
    elif kind == "event":
        xml = event_xml("oFuzz000000000000000000001", "gh", content or "CLICK", key, now)
    else:
        xml = text_xml("oFuzz000000000000000000001", "gh", content, now, now).replace(
            "<![CDATA[text]]>", f"<![CDATA[{kind}]]>")
    try:
        body = xml.encode("utf-8")
    except UnicodeEncodeError:
        body = _as_bytes(xml)
    answer = sim.post(body, encrypted=False)
    assert answer.status in CALLBACK_STATUSES


# The order webhook ------------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              hostile_text),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(hostile_text, children, max_size=4)),
    max_leaves=20,
)
order_fields = st.fixed_dictionaries({}, optional={
    "order_id": st.one_of(st.integers(), hostile_text, st.just("202611240001")),
    "status": st.one_of(st.sampled_from(["paid", "shipped", "delivered"]), hostile_text),
    "openid": st.one_of(hostile_text, st.integers()),
    "phone": st.one_of(hostile_text, st.integers(), st.just("13812345678")),
    "amount": st.one_of(json_values, st.just("199.00")),
    "items": json_values, "tracking": json_values, "exception": json_values,
    "carrier": json_values, "tracking_no": json_values, "eta": json_values,
    "address": json_values,
})
webhook_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"event_id": st.one_of(st.integers(), hostile_text, st.just("e-1")),
                           "occurred_at": st.one_of(hostile_text,
                                                    st.just("2026-11-24T09:00:00+08:00")),
                           "order": st.one_of(order_fields, json_values)}),
)


@FUZZ
@given(body=webhook_bodies)
def test_webhook_answers_200_or_400_naming_a_field(seeded_app, r, body):
    raw = json.dumps(body).encode()
    resp = seeded_app.test_client().post("/hooks/orders", data=raw,
                                         headers={"X-Signature": sign("demo-webhook-secret", raw)})
    assert resp.status_code in (200, 400, 413), resp.data
    if resp.status_code == 400:
        assert resp.json["field"]


@FAST
@given(raw=st.one_of(st.binary(max_size=300), hostile_text.map(_as_bytes)))
def test_webhook_parser_raises_only_the_documented_errors(raw):
    try:
        payload = loads(raw)
    except (ValueError, RecursionError):
        return
    try:
        parse_event(payload, "Asia/Shanghai", START)
    except InvalidOrder:
        pass


# Import files, the normaliser, the entity scan and the matcher -------------------------------

yaml_like = st.one_of(
    hostile_text,
    st.lists(st.sampled_from(["- id: a", "  question: q", "  answer: x", "  examples: [", "]",
                              "- &a [*a]", "  threshold: 1e999", "{", "[",
                              "!!python/object:os.system",
                              "  keywords: ", ": :", "\t", "---", "%YAML 1.1"]),
             max_size=8).map("\n".join),
    json_values.map(lambda v: json.dumps(v)),
)


@FAST
@given(text=yaml_like)
def test_intent_file_parses_or_refuses_with_a_message(text):
    try:
        parse_intents(text, "faq.yaml")
    except IntentFileError as exc:
        assert str(exc).startswith("faq.yaml")


@FAST
@given(text=st.text(max_size=200))
def test_normaliser_and_entities_take_any_unicode(text):
    out = normalise(text)
    assert isinstance(out, str) and "\u200b" not in out
    tokenise(out)
    extract_entities(text)


@FUZZ
@given(text=st.text(max_size=120))
def test_matcher_takes_any_unicode(seeded_app, text):
    result = seeded_app.extensions["bot"].intents.matcher().match(text)
    assert result.outcome in ("matched", "ambiguous", "unmatched")


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "a: " + "[" * 5000,
                                  "- " * 3000 + "x"])
def test_intent_file_nested_deep_is_refused_not_crashing(text):
    with pytest.raises(IntentFileError):
        parse_intents(text, "faq.yaml")


def test_callback_query_with_hostile_values_is_refused(client):
    for value in ["\x00", "9" * 400, "-1", "1e10", "１７００００００００"]:
        query = urlencode({"timestamp": value, "nonce": value, "signature": value})
        assert client.post(f"/wechat?{query}", data=b"<xml/>").status_code == 403


# The SMS reply webhook (/hooks/sms): the shop's gateway (signed JSON) and Alibaba Cloud's
# SmsUp push (a list, with ?token=) ---------------------------------------------------------

SMS_SECRET, SMS_TOKEN, SMS_PHONE = "sms-hook-secret", "sms-hook-token", "13812345678"
SMS_STATUSES = {200, 400, 404, 413}
sms_phones = st.one_of(st.just(SMS_PHONE), st.just("+86 138-1234-5678"), hostile_text,
                       st.integers(), st.none(), st.just("1" * 16))
sms_texts = st.one_of(st.sampled_from(["T", "TD", "退订", "好的", ""]), hostile_text,
                      # An opt-out word with a lone surrogate once reached Redis: a 500.
                      st.sampled_from(["退订\ud800", "T\udfff", "TD\ud800x"]),
                      st.text(min_size=990, max_size=1010), st.integers(), st.none())
webhook_replies = st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={"phone": sms_phones, "text": sms_texts,
                                        "received_at": json_values}),
)
aliyun_item = st.fixed_dictionaries({}, optional={
    "phone_number": sms_phones, "content": sms_texts, "send_time": json_values,
    "sign_name": hostile_text, "dest_code": json_values, "sequence_id": json_values})
aliyun_pushes = st.one_of(json_values, aliyun_item, st.lists(aliyun_item, max_size=4),
                          st.lists(st.just({"phone_number": SMS_PHONE, "content": "T"}),
                                   min_size=99, max_size=102))
deep_json = st.builds(
    lambda depth, obj: ('{"a":' * depth + "1" + "}" * depth if obj
                        else "[" * depth + "]" * depth).encode(),
    st.integers(1, 12_000), st.booleans())   # past the stack, mostly under the size limit


@pytest.fixture
def sms_app(make_app):
    from tests.fixtures.orders import event

    app = make_app(sms_provider="webhook", sms_webhook_url="http://127.0.0.1:9/",
                   sms_webhook_secret=SMS_SECRET, sms_hook_token=SMS_TOKEN,
                   sms_sign_name="好物小店")
    app.extensions["bot"].orders.apply_payload(event("202611240077", "paid", phone=SMS_PHONE))
    return app


def _sms_answer_ok(resp) -> None:
    assert resp.status_code in SMS_STATUSES, resp.data
    if resp.status_code == 400:
        assert resp.json["field"]


@FUZZ
@given(body=st.one_of(webhook_replies.map(lambda b: json.dumps(b, ensure_ascii=False)
                                          .encode("utf-8", "surrogatepass")),
                      deep_json, st.binary(max_size=300)))
def test_sms_gateway_reply_answers_200_400_or_404_when_signed(sms_app, r, body):
    from bot.pushes.sms.signing import HEADER
    from bot.pushes.sms.signing import sign as sms_sign

    resp = sms_app.test_client().post("/hooks/sms", data=body,
                                      headers={HEADER: sms_sign(SMS_SECRET, body)})
    _sms_answer_ok(resp)


@FUZZ
@given(body=st.one_of(aliyun_pushes.map(lambda b: json.dumps(b, ensure_ascii=False)
                                        .encode("utf-8", "surrogatepass")),
                      deep_json, st.binary(max_size=300)))
def test_sms_aliyun_push_answers_200_400_or_404_with_the_token(sms_app, r, body):
    resp = sms_app.test_client().post(f"/hooks/sms?token={SMS_TOKEN}", data=body,
                                      content_type="application/json")
    _sms_answer_ok(resp)
    if resp.status_code == 200:
        assert resp.json["code"] == 0


@FUZZ
@given(body=st.binary(max_size=300), header=st.one_of(st.none(), hostile_text),
       token=st.one_of(st.none(), hostile_text))
def test_sms_hook_unsigned_or_wrong_token_is_401_and_changes_nothing(sms_app, r, body, header,
                                                                     token):
    from bot.pushes.sms.signing import HEADER

    query = "" if token is None else "?" + urlencode({"token": token})
    headers = {} if header is None else {HEADER: header.encode("utf-8", "replace")
                                         .decode("latin-1")}
    keys = set(r.keys("sms:*"))
    resp = sms_app.test_client().post("/hooks/sms" + query, data=body, headers=headers)
    if token == SMS_TOKEN:      # (never drawn, but would be a valid push)
        return
    assert resp.status_code == 401, resp.data
    assert set(r.keys("sms:*")) == keys


@pytest.mark.parametrize("shape", ["webhook", "aliyun"])
@pytest.mark.parametrize("body", ['{"a":' * 5_000 + "1" + "}" * 5_000,
                                  "[" * 20_000 + "]" * 20_000,
                                  json.dumps({"phone": SMS_PHONE, "text": "退订\ud800"}),
                                  json.dumps([{"phone_number": SMS_PHONE,
                                               "content": "退订\ud800"}])])
def test_sms_hook_deep_json_and_lone_surrogates_are_400_not_500(sms_app, r, shape, body):
    """Found by these properties: JSON nested deeper than the stack but under the size limit
    (RecursionError) and an opt-out word with a lone surrogate (Redis cannot store it) answered
    500; the provider would retry forever."""
    from bot.pushes.sms.signing import HEADER
    from bot.pushes.sms.signing import sign as sms_sign

    raw = body.encode()
    if shape == "webhook":
        resp = sms_app.test_client().post("/hooks/sms", data=raw,
                                          headers={HEADER: sms_sign(SMS_SECRET, raw)})
    else:
        resp = sms_app.test_client().post(f"/hooks/sms?token={SMS_TOKEN}", data=raw)
    assert resp.status_code == 400, resp.data
    assert resp.json["field"]
    assert not r.keys("sms:optout*")
