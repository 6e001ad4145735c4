"""GET /track/<token>: signed, expiring, bound to one order and one customer; escaped HTML."""

from __future__ import annotations

import json
import re

import pytest

from bot.orders.links import LINK_MAX_AGE, TrackingLinks
from tests.fixtures.orders import at, down_redis, event, point

ALICE, BOB = "oAlice000000000000000000001", "oBob00000000000000000000001"


@pytest.fixture
def page(seeded_app, orders):
    orders.apply_payload(event(
        "202611240001", "in_transit", hours=-1, openid=ALICE, phone="13812345678",
        address="浙江省杭州市西湖区文三路100号", carrier="SF", tracking_no="SF1402938475610",
        eta=at(29), items=[{"name": "葡萄 <b>2kg</b>", "quantity": 2, "category": "fresh"}],
        tracking=[point(-20, "昆明", "已揽收"), point(-1, "杭州", "<script>alert(1)</script>")],
    ))
    orders.apply_payload(event("202611240002", "paid", openid=BOB))
    client = seeded_app.test_client()

    def get(token: str):
        return client.get(f"/track/{token}")

    return get


def token_of(orders, order_id="202611240001", openid=ALICE, lang="zh-CN") -> str:
    return orders.links.url(order_id, openid, lang).rsplit("/track/", 1)[1]


def test_link_shows_timeline_points_and_masked_contacts(page, orders):
    link = orders.link("202611240001", ALICE, "zh-CN")
    assert link.startswith("http://127.0.0.1:8000/track/")
    resp = page(token_of(orders))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert 'name="viewport"' in html
    assert "运输中" in html and "顺丰 SF1402938475610" in html
    assert "明天下午3点" in html                 # ETA relative to the clock
    assert html.index("杭州") < html.index("已揽收")  # newest point first
    assert "138****5678" in html and "13812345678" not in html
    assert "浙江省杭州市****" in html and "文三路" not in html


def test_everything_from_the_shop_is_escaped(page, orders):
    html = page(token_of(orders)).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>2kg</b>" not in html and "&lt;b&gt;2kg&lt;/b&gt;" in html


def test_english_link_renders_english(page, orders):
    html = page(token_of(orders, lang="en")).get_data(as_text=True)
    assert "in transit" in html and "tomorrow 3 pm" in html


@pytest.mark.parametrize("spoil", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),   # signature changed
    lambda t: "x" + t[1:],                                         # payload changed
    lambda t: "not-a-token",
    lambda t: t.rsplit(".", 2)[0],                                 # signature removed
    lambda t: "",                                                  # no token at all
])
def test_tampered_token_is_404_in_plain_words(page, orders, spoil):
    resp = page(spoil(token_of(orders)))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404 and "链接无效或已过期" in html
    assert "202611240001" not in html


def test_token_expires(page, orders, clock):
    token = token_of(orders)
    clock.advance(LINK_MAX_AGE - 60)
    assert page(token).status_code == 200
    clock.advance(120)
    assert page(token).status_code == 404


def test_token_is_bound_to_its_order_and_customer(page, orders, seeded_app):
    # A token for Bob's order made out to Alice does not open it.
    assert page(token_of(orders, "202611240002", ALICE)).status_code == 404
    # Swapping the order id inside a token breaks its signature.
    token = token_of(orders)
    other = token_of(orders, "202611240002", BOB)
    forged = ".".join([other.rsplit(".", 2)[0], *token.rsplit(".", 2)[1:]])
    assert page(forged).status_code == 404
    # A token signed with another secret is refused.
    stranger = TrackingLinks("another-secret", seeded_app.extensions["bot"].clock, "http://x")
    assert page(stranger.token("202611240001", ALICE, "zh-CN")).status_code == 404
    # The order moves to another customer: Alice's old link stops working.
    orders.apply_payload(event("202611240001", "in_transit", hours=0, openid=BOB))
    assert page(token).status_code == 404


def test_token_does_not_carry_the_openid(page, orders):
    """Signed is not secret: whoever holds a link can decode its payload."""
    token = token_of(orders)
    # What anyone can read, without the secret: the payload before timestamp and signature.
    readable = orders.links.serializer.load_payload(token.rsplit(".", 2)[0].encode())
    assert readable["o"] == "202611240001"
    assert ALICE not in json.dumps(readable) and ALICE not in token


def test_items_are_joined_in_the_page_language(seeded_app, orders):
    orders.apply_payload(event("202611240004", "paid", openid=ALICE,
                               items=[{"name": "Grapes", "quantity": 2},
                                      {"name": "Apples", "quantity": 1}]))
    client = seeded_app.test_client()
    en = client.get(f"/track/{token_of(orders, '202611240004', lang='en')}")
    assert "Grapes × 2, Apples × 1" in en.get_data(as_text=True)
    zh = client.get(f"/track/{token_of(orders, '202611240004')}")
    assert "Grapes × 2、Apples × 1" in zh.get_data(as_text=True)


def test_page_never_shows_a_passed_time_as_expected(seeded_app, orders):
    orders.apply_payload(event("202611240005", "exception", hours=-1, openid=ALICE,
                               carrier="SF", tracking_no="SF0000000000005", eta=at(-3),
                               exception={"reason": "地址不详"}))
    orders.apply_payload(event("202611240006", "in_transit", hours=-1, openid=ALICE,
                               carrier="SF", tracking_no="SF0000000000006", eta=at(-3)))
    client = seeded_app.test_client()
    problem = client.get(f"/track/{token_of(orders, '202611240005')}").get_data(as_text=True)
    assert "确认后通知您" in problem and "上午7点" not in problem
    late = client.get(f"/track/{token_of(orders, '202611240006')}").get_data(as_text=True)
    assert "原预计送达" in late and "今天上午7点(已有延误)" in late


def test_page_masks_a_latin_address_house_number(seeded_app, orders):
    orders.apply_payload(event("202611240007", "paid", openid=ALICE,
                               address="1428 Elm Street, Springwood, OH 43001"))
    html = seeded_app.test_client().get(
        f"/track/{token_of(orders, '202611240007')}").get_data(as_text=True)
    assert "Springwood" in html and "1428" not in html and "43001" not in html


def test_link_in_chat_opens_the_page(seeded_app, orders, order_chat):
    orders.apply_payload(event("202611240003", "shipped", openid=ALICE, carrier="ZTO",
                               tracking_no="78312345678901"))
    answer = order_chat.text(ALICE, "物流")
    token = re.search(r"/track/(\S+)", answer).group(1)
    resp = seeded_app.test_client().get(f"/track/{token}")
    assert resp.status_code == 200 and "78312345678901" in resp.get_data(as_text=True)


def test_redis_down_page_is_503(make_app):
    down = down_redis()
    app = make_app(redis_url="redis://127.0.0.1:1/0", redis_client=down)
    token = app.extensions["bot"].orders.links.token("1", ALICE, "zh-CN")
    resp = app.test_client().get(f"/track/{token}")
    assert resp.status_code == 503 and "系统繁忙" in resp.get_data(as_text=True)
