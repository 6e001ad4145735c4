"""The WeChat callback end to end: signatures, safe mode, every message type, bad input."""

from __future__ import annotations

import time

from bot.local.simulator import event_xml, text_xml
from bot.wechat.envelope import signature_of
from tests.conftest import simulator_for

OPENID = "oUserA000000000000000000001"


def test_get_verification_echoes_only_when_signed(client, clock):
    ts, nonce = str(int(clock.now())), "12345"
    sig = signature_of("demo-token", ts, nonce)
    ok = client.get(f"/wechat?signature={sig}&timestamp={ts}&nonce={nonce}&echostr=hello")
    assert ok.status_code == 200 and ok.data == b"hello"
    bad = client.get(f"/wechat?signature={'0' * 40}&timestamp={ts}&nonce={nonce}&echostr=hello")
    assert bad.status_code == 403 and b"hello" not in bad.data
    assert client.get("/wechat?echostr=hello").status_code == 403


def test_text_in_safe_mode_gets_encrypted_reply(wechat):
    answer = wechat.send_text(OPENID, "随便说点什么")
    assert answer.status == 200
    assert b"<Encrypt>" in answer.body and "随便说点什么" not in answer.body.decode()
    assert "转人工" in answer.text


def test_text_in_plain_mode(app, clock):
    plain = simulator_for(app, clock, encrypted=False)
    answer = plain.send_text(OPENID, "hello")
    assert answer.status == 200 and b"<Content>" in answer.body and answer.text


def test_plain_mode_account_answers_plain_and_refuses_encrypted(make_app, clock):
    from bot.local.simulator import WeChatSimulator, flask_transport

    app = make_app(wechat_aes_key="", bot_demo=False, wechat_token="t", wechat_appid="wx1",
                   wechat_secret="s", secret_key="k")
    plain = simulator_for(app, clock, encrypted=False)
    assert plain.send_text(OPENID, "hi").text
    sealed = WeChatSimulator(flask_transport(app.test_client()), "t", "wx1",
                             aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", now=clock.now)
    assert sealed.send_text(OPENID, "hi").status == 400


def test_compatible_mode_carries_plain_fields_and_encrypt(app, clock):
    """Compatible mode: the body has the plain fields and <Encrypt>; the reply is encrypted."""
    from urllib.parse import urlencode

    import xmltodict
    from wechatpy.crypto import WeChatCrypto

    crypto = WeChatCrypto("demo-token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
                          "wxdemo0000000000")
    ts, nonce = str(int(clock.now())), "424242"
    inner = text_xml(OPENID, "gh", "你好", 31, int(clock.now()))
    enc = xmltodict.parse(crypto.encrypt_message(inner, nonce, ts))["xml"]
    body = inner.replace("</xml>", f"<Encrypt><![CDATA[{enc['Encrypt']}]]></Encrypt></xml>")
    params = {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
              "signature": signature_of("demo-token", ts, nonce),
              "msg_signature": enc["MsgSignature"]}
    resp = app.test_client().post(f"/wechat?{urlencode(params)}", data=body.encode())
    assert resp.status_code == 200 and b"<Encrypt>" in resp.data
    doc = xmltodict.parse(resp.data)["xml"]
    reply = crypto.decrypt_message(resp.data, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"])
    assert "你好" not in resp.data.decode() and "<Content>" in reply


def test_forged_signature_is_403(wechat):
    assert wechat.post(text_xml(OPENID, "gh", "hi", 1, int(time.time())), forge=True).status == 403


def test_forged_or_missing_signature_in_plain_mode_is_403(app, clock, client):
    plain = simulator_for(app, clock, encrypted=False)
    xml = text_xml(OPENID, "gh", "hi", 11, int(clock.now()))
    assert plain.post(xml, forge=True).status == 403
    ts = str(int(clock.now()))
    assert client.post(f"/wechat?timestamp={ts}&nonce=1", data=xml).status_code == 403
    assert client.post("/wechat", data=xml).status_code == 403
    assert plain.post(xml).status == 200  # the same message, signed, is answered


def test_stale_timestamp_is_403(wechat, clock, app, client):
    xml = text_xml(OPENID, "gh", "hi", 2, int(clock.now()))
    plain = simulator_for(app, clock, encrypted=False)
    for off in (-301, 301):  # more than 5 minutes behind or ahead
        ts = str(int(clock.now()) + off)
        assert wechat.post(xml, timestamp=ts).status == 403
        assert plain.post(xml, timestamp=ts).status == 403
        sig = signature_of("demo-token", ts, "9")
        get = client.get(f"/wechat?signature={sig}&timestamp={ts}&nonce=9&echostr=e")
        assert get.status_code == 403
    assert plain.post(xml, timestamp=str(int(clock.now()) + 250)).status == 200


def test_text_that_looks_like_a_doctype_is_answered(wechat, app, clock):
    """Only a DTD before the root is refused; a customer may type one in a message."""
    for encrypted in (True, False):
        sim = simulator_for(app, clock, encrypted=encrypted)
        answer = sim.send_text(OPENID, "<!DOCTYPE html> 和 <!ENTITY x> 是什么")
        assert answer.status == 200 and answer.text, encrypted


def test_body_over_64kb_is_413(wechat, clock):
    huge = text_xml(OPENID, "gh", "x" * 70_000, 3, int(clock.now()))
    assert wechat.post(huge, encrypted=False).status == 413


def test_malformed_xml_is_400(wechat):
    assert wechat.post("<xml><ToUserName>oops", encrypted=False).status == 400
    assert wechat.post("<xml><ToUserName>oops").status == 400
    assert wechat.post("not xml at all", encrypted=False).status == 400


def test_billion_laughs_and_external_entities_are_400_quickly(wechat):
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{"&lol{};".format(i - 1 if i else "") * 10}">'
                  for i in range(1, 10))
        + ']><xml><Content>&lol9;</Content></xml>'
    )
    started = time.perf_counter()
    assert wechat.post(laughs, encrypted=False).status == 400
    assert wechat.post(laughs).status == 400
    xxe = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           "<xml><Content>&e;</Content></xml>")
    assert wechat.post(xxe, encrypted=False).status == 400
    assert time.perf_counter() - started < 2


def test_non_utf8_is_400(wechat, clock):
    body = text_xml(OPENID, "gh", "你好", 4, int(clock.now())).encode("gbk")
    assert wechat.post(body, encrypted=False).status == 400


def test_undecryptable_is_400(wechat, clock):
    from urllib.parse import urlencode

    ts, nonce = str(int(clock.now())), "1"
    enc = "bm90IHJlYWxseSBlbmNyeXB0ZWQ="
    params = {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
              "signature": signature_of("demo-token", ts, nonce),
              "msg_signature": signature_of("demo-token", ts, nonce, enc)}
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
    status, _ = wechat.transport("POST", f"/wechat?{urlencode(params)}", body.encode())
    assert status == 400


def test_control_characters_are_stripped_and_answered(wechat, clock):
    xml = text_xml(OPENID, "gh", "hi\x01\x08there\x1f", 5, int(clock.now()))
    answer = wechat.post(xml)
    assert answer.status == 200 and answer.text


def test_media_kinds_get_friendly_text(wechat, clock):
    for kind, word in [("image", "图片"), ("video", "视频"), ("location", "位置"),
                       ("link", "链接"), ("file", "文件"), ("shortvideo", "小视频")]:
        xml = (f"<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName>"
               f"<CreateTime>{int(clock.now())}</CreateTime><MsgType>{kind}</MsgType>"
               f"<MsgId>{hash(kind) % 10**9}</MsgId></xml>")
        answer = wechat.post(xml)
        assert answer.status == 200 and word in answer.text, kind


def test_voice_with_recognition_is_handled_as_text(wechat, clock):
    xml = (f"<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName>"
           f"<CreateTime>{int(clock.now())}</CreateTime><MsgType>voice</MsgType>"
           "<MediaId>m</MediaId><Format>amr</Format><Recognition>你好</Recognition>"
           "<MsgId>777</MsgId></xml>")
    voice = wechat.post(xml)
    typed = wechat.send_text(OPENID, "你好")
    assert voice.text == typed.text
    unrecognised = xml.replace("<Recognition>你好</Recognition>", "").replace("777", "778")
    assert "语音" in wechat.post(unrecognised).text


def test_subscribe_welcomes_and_asks_consent_unsubscribe_is_silent(wechat, r):
    welcome = wechat.event(OPENID, "subscribe")
    assert "欢迎" in welcome.text and "通知您吗" in welcome.text
    assert r.hget(f"prefs:{OPENID}", "consent") == "asked"
    assert r.hget(f"user:{OPENID}", "following") == "1"
    bye = wechat.event(OPENID, "unsubscribe")
    assert bye.status == 200 and bye.body == b"success"
    assert r.hget(f"user:{OPENID}", "following") == "0"


def test_recorded_events_and_unknown_types(wechat, r, app):
    for event in ("SCAN", "VIEW", "LOCATION", "TEMPLATESENDJOBFINISH"):
        answer = wechat.event(OPENID, event, key=f"k-{event}")
        assert answer.body == b"success", event
    events = [e["event"] for e in app.extensions["bot"].users.events(OPENID)]
    assert set(events) == {"scan", "view", "location", "templatesendjobfinish"}
    weird = wechat.event(OPENID, "some_future_event")
    assert weird.status == 200 and weird.body == b"success"
    unknown_kind = wechat.post(
        f"<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>hologram</MsgType>"
        "<MsgId>77</MsgId></xml>"
    )
    assert unknown_kind.status == 200 and unknown_kind.body == b"success"


def test_click_menu_key_routes_to_handler(wechat):
    answer = wechat.event(OPENID, "CLICK", key="MENU_HELP")
    assert "转人工" in answer.text


def test_official_sample_decrypts(make_app, clock):
    """WeChat's published WXBizMsgCrypt sample opens through our envelope."""
    from pathlib import Path

    from bot.platform.config import Config
    from bot.wechat.envelope import Envelope

    sample = {}
    path = Path(__file__).resolve().parents[1] / "data" / "official_sample.txt"
    for line in path.read_text().splitlines():
        if ": " in line and not line.startswith("#"):
            k, v = line.split(": ", 1)
            sample[k] = v
    config = Config.from_mapping({
        "wechat_token": sample["token"], "wechat_appid": sample["appid"], "wechat_secret": "x",
        "wechat_aes_key": sample["encoding_aes_key"], "secret_key": "k",
    })
    envelope = Envelope(config)
    args = {"timestamp": sample["timestamp"], "nonce": sample["nonce"],
            "msg_signature": sample["msg_signature"], "encrypt_type": "aes"}
    body = f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{sample['encrypt']}]]></Encrypt></xml>"  # noqa: E501
    opened = envelope.open(args, body.encode(), now=int(sample["timestamp"]))
    assert opened.message.content == "abcdteT"
    assert opened.message.source == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert str(opened.message.id) == "6054768590064713728"
    forged = dict(args, msg_signature="5d197aaffba7e9b25a30732f161a50dee96bd5fb")
    try:
        envelope.open(forged, body.encode(), now=int(sample["timestamp"]))
    except Exception as exc:
        assert getattr(exc, "status", None) == 403
    else:
        raise AssertionError("a forged msg_signature was accepted")


def test_previous_aes_key_still_opens_during_rotation(make_app, clock):
    old_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    new_key = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"
    # Not the demo: BOT_DEMO=1 refuses any key but its own.
    app = make_app(wechat_aes_key=new_key, wechat_aes_key_previous=old_key, bot_demo=False,
                   wechat_token="demo-token", wechat_appid="wxdemo0000000000",
                   wechat_secret="s", secret_key="k")
    from bot.local.simulator import WeChatSimulator, flask_transport

    old_sender = WeChatSimulator(flask_transport(app.test_client()), "demo-token",
                                 "wxdemo0000000000", aes_key=old_key, now=clock.now)
    answer = old_sender.send_text(OPENID, "hello")
    assert answer.status == 200 and answer.text  # decrypted with the old key it was sent with


def test_event_xml_helper_escapes():
    assert "&amp;" in event_xml("o", "gh", "CLICK", "a&b", 1)


def test_transfer_to_a_human_is_read_as_its_message_type(wechat):
    answer = wechat.send_text(OPENID, "转人工")  # the test clock is inside service hours
    assert answer.status == 200 and answer.text is None
    assert answer.msg_type == "transfer_customer_service"
