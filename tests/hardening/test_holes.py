"""Holes closed: the demo's public secrets stay off production, the shop API call is
authenticated and pinned, and log lines carry no full openid, phone or secret."""

from __future__ import annotations

import pytest

from bot.orders.shop_api import OrderAPI, OrderAPIUnavailable
from bot.platform.config import Config, ConfigError
from bot.platform.masking import Redactor, mask_id


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
