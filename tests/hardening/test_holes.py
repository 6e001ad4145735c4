"""Holes closed: the demo's public secrets stay off production, the shop API call is
authenticated and pinned, and log lines carry no full openid, phone or secret."""

from __future__ import annotations

import re

import pytest

from bot.orders.shop_api import OrderAPI, OrderAPIUnavailable
from bot.platform.config import Config, ConfigError
from bot.platform.masking import Redactor, mask_id
from tests.fixtures.pushes import GATEWAY_SECRET


@pytest.mark.parametrize("settings", [
    {"WECHAT_TOKEN": "real-token-1234"},
    {"WECHAT_APPID": "wx1234567890abcdef"},
    {"WECHAT_SECRET": "0123456789abcdef0123456789abcdef"},
    {"WECHAT_AES_KEY": "z" * 43},
    {"REDIS_URL": "redis://10.0.0.5:6379/0"},
    {"REDIS_URL": "redis://redis.internal:6379/0"},
])
def test_demo_refuses_production_settings(settings):
    with pytest.raises(ConfigError, match="BOT_DEMO"):
        Config.from_env({"BOT_DEMO": "1", **settings})


@pytest.mark.parametrize("url", ["", "redis://127.0.0.1:6379/3", "redis://localhost/0",
                                 "redis://[::1]:6379", "unix:///tmp/redis.sock"])
def test_demo_starts_on_loopback_redis_and_demo_values(url):
    config = Config.from_env({"BOT_DEMO": "1", "REDIS_URL": url,
                              "WECHAT_TOKEN": "demo-token"})
    assert config.wechat_token == "demo-token"


@pytest.mark.parametrize(("url", "ok"), [
    ("https://shop.example.com/api/orders", True),
    ("http://127.0.0.1:8080/orders", True),
    ("http://localhost:8080/orders", True),
    ("http://shop.example.com/api/orders", False),
    ("ftp://shop.example.com/orders", False),
])
def test_order_api_url_must_be_https_except_on_loopback(url, ok):
    env = {"BOT_DEMO": "1", "ORDER_API_URL": url}
    if ok:
        assert Config.from_env(env).order_api_url == url
    else:
        with pytest.raises(ConfigError, match="ORDER_API_URL"):
            Config.from_env(env)


def test_order_api_sends_the_bearer_token(shop_api):
    shop_api.orders["888888"] = {"order_id": "888888", "status": "paid"}
    api = OrderAPI(shop_api.url, 1.0, "Asia/Shanghai", token="tok-abc")
    assert api.fetch("888888").status == "paid"
    assert shop_api.auth == ["Bearer tok-abc"]
    OrderAPI(shop_api.url, 1.0, "Asia/Shanghai").fetch("888888")
    assert shop_api.auth[-1] is None


def test_order_api_follows_no_redirect(shop_api):
    from tests.fixtures.orders import ShopAPI

    elsewhere = ShopAPI().start()
    try:
        elsewhere.orders["888888"] = {"order_id": "888888", "status": "paid"}
        shop_api.redirect_to = f"{elsewhere.url}/888888"
        api = OrderAPI(shop_api.url, 1.0, "Asia/Shanghai", token="tok-abc")
        with pytest.raises(OrderAPIUnavailable):
            api.fetch("888888")
        assert elsewhere.hits == []            # the token never went to the other host
    finally:
        elsewhere.stop()


def test_redactor_masks_ids_phones_and_secrets():
    secret = "s3cr3t-webhook-value"
    redact = Redactor([secret, "tiny"])
    line = redact(f"m:42:oUserA000000000000000000001:1700 phone 13812345678 +8613800005678 "
                  f"key={secret} order 202611240001 tiny")
    assert "oUserA000000000000000000001" not in line and "oUser…01" in line
    assert "13812345678" not in line and "138****5678" in line
    assert "13800005678" not in line
    assert secret not in line and "[secret]" in line
    assert "202611240001" in line                # order numbers are no personal data
    assert "tiny" in line                        # too short to be a real secret
    assert mask_id("oUserA000000000000000000001") == "oUser…01"


# Claiming an order not owned by the openid, through the signed WeChat callback -------------

BOB, EVE = "oBobClaims000000000000000001", "oEveClaims000000000000000001"


def _shop(make_app, clock, **settings):
    from tests.conftest import simulator_for
    from tests.fixtures.orders import event, post_signed

    app = make_app(**settings)
    app.extensions["bot"].intents.seed_defaults()
    client = app.test_client()

    def order(order_id: str, phone: str = "13800005678") -> None:
        body = event(order_id, "in_transit", hours=-1, phone=phone)
        assert post_signed(client, body).status_code == 200

    return order, simulator_for(app, clock, client)


def _sms_settings(gateway) -> dict:
    return {"sms_provider": "webhook", "sms_webhook_url": gateway.url + "/",
            "sms_webhook_secret": GATEWAY_SECRET, "sms_sign_name": "好物小店"}


def test_with_sms_configured_a_claim_needs_the_code_texted_to_the_orders_phone(
        make_app, clock, gateway, r):
    order, chat = _shop(make_app, clock, **_sms_settings(gateway))
    order("300001")
    ask = chat.text(BOB, "查订单 300001")
    assert "138****5678" in ask and "6 位验证码" in ask
    (sms,) = gateway.messages
    assert sms["phone"] == "13800005678" and sms["kind"] == "claim_code"
    code = re.search(r"验证码(\d+)", sms["text"]).group(1)
    assert len(code) == 6 and sms["text"].startswith("【好物小店】")
    assert "回T退订" not in sms["text"]
    assert "验证成功" not in chat.text(BOB, "5678")      # the parcel's last four: no proof
    assert "验证成功" in chat.text(BOB, code)
    assert r.hget("orders:order:300001", "openid") == BOB


def test_with_sms_three_wrong_codes_spend_the_claim(make_app, clock, gateway, r):
    order, chat = _shop(make_app, clock, **_sms_settings(gateway))
    order("300002")
    chat.text(EVE, "300002")
    code = re.search(r"验证码(\d+)", gateway.messages[0]["text"]).group(1)
    wrong = "000000" if code != "000000" else "111111"
    assert "验证码不对" in chat.text(EVE, wrong)
    assert "验证码不对" in chat.text(EVE, wrong)
    assert "验证码不对" not in chat.text(EVE, wrong)    # the third: no more tries
    assert "验证成功" not in chat.text(EVE, code)       # the code is spent, the right one too
    assert r.hget("orders:order:300002", "openid") in ("", None)


def test_a_failed_code_sms_says_so_not_too_many_codes(make_app, clock, gateway):
    order, chat = _shop(make_app, clock, **_sms_settings(gateway))
    order("300003")
    gateway.fail(status=400, times=1)                  # the gateway refuses it
    answer = chat.text(BOB, "300003")
    assert "发不出去" in answer and "太频繁" not in answer and "6 位验证码" not in answer


def test_without_sms_a_claim_needs_the_full_phone_number(make_app, clock, r):
    order, chat = _shop(make_app, clock)
    order("300004")
    assert "完整手机号" in chat.text(BOB, "查订单 300004")
    assert "验证成功" not in chat.text(BOB, "5678")
    chat.text(BOB, "查订单 300004")
    assert "验证成功" in chat.text(BOB, "13800005678")
    assert r.hget("orders:order:300004", "openid") == BOB
