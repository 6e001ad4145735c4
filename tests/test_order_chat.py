"""Order and logistics answers end to end: signed WeChat messages through the real callback,
matcher, dialogue state and Redis."""

from __future__ import annotations

import pytest

from bot.chat import DEMO_OPENID
from bot.masking import mask_address, mask_phone
from bot.relative_time import describe
from tests.conftest import START, simulator_for
from tests.fixtures.orders import at, event, point

ALICE = "oAlice000000000000000000001"
BOB = "oBob00000000000000000000001"
EVE = "oEve00000000000000000000001"


def shipped(order_id="202611240001", openid=ALICE, **kw) -> dict:
    fields = dict(openid=openid, phone="13812345678", carrier="SF",
                  tracking_no="SF1402938475610", eta=at(29),
                  items=[{"name": "阳光玫瑰葡萄", "quantity": 1, "category": "general"}],
                  tracking=[point(-20, "云南昆明", "顺丰已揽收")])
    fields.update(kw)
    return event(order_id, "shipped", hours=-2, **fields)


# Asking about one order ----------------------------------------------------------------------

def test_own_order_by_number_states_fact_eta_and_next_step(orders, order_chat):
    orders.apply_payload(shipped())
    answer = order_chat.text(ALICE, "订单 202611240001 怎么样了")
    assert "202611240001" in answer and "已发货" in answer
    assert "顺丰 SF1402938475610" in answer
    assert "明天下午 15:00" in answer            # 2026-11-25 15:00 Shanghai, from 11-24 10:00
    assert '回复"物流"' in answer


def test_my_order_without_number_answers_the_only_one(orders, order_chat):
    orders.apply_payload(shipped())
    answer = order_chat.text(ALICE, "我的订单怎么样了")
    assert "202611240001" in answer and "已发货" in answer


def test_several_active_orders_are_listed_and_a_number_picks_one(orders, order_chat,
                                                                   order_app):
    orders.apply_payload(shipped("100001", tracking_no="SF0000000000011"))
    orders.apply_payload(event("100002", "processing", hours=-1, openid=ALICE))
    orders.apply_payload(event("100003", "delivered", hours=-0.5, openid=ALICE))  # not active
    listing = order_chat.text(ALICE, "我的订单怎么样了")
    assert "回复序号" in listing
    lines = [ln for ln in listing.splitlines() if ln[:2] in ("1.", "2.", "3.")]
    assert [ln.split()[0] for ln in lines] == ["1.", "2."]
    assert "100002" in lines[0] and "100001" in lines[1]      # newest first
    picked = order_chat.text(ALICE, "2")
    assert "100001" in picked and "已发货" in picked
    state = order_app.extensions["bot"].dialogue.load(ALICE)
    assert state.pending is None and state.data["order_id"] == "100001"
    # "它到哪了" now means that order.
    where = order_chat.text(ALICE, "它到哪了")
    assert "SF0000000000011" in where and "/track/" in where


def test_out_of_range_choice_asks_again(orders, order_chat):
    orders.apply_payload(shipped("100001"))
    orders.apply_payload(event("100002", "paid", hours=-1, openid=ALICE))
    order_chat.text(ALICE, "查订单")
    assert "1-2" in order_chat.text(ALICE, "5")
    assert "100002" in order_chat.text(ALICE, "1")


def test_no_orders_asks_for_the_number_and_reads_the_next_message(orders, order_chat,
                                                                    order_app):
    ask = order_chat.text(BOB, "查订单")
    assert "请发订单号" in ask
    assert order_app.extensions["bot"].dialogue.load(BOB).pending == "order_status"
    orders.apply_payload(shipped("123456", openid=BOB))
    answer = order_chat.text(BOB, "123456")
    assert "123456" in answer and "已发货" in answer
    assert order_app.extensions["bot"].dialogue.load(BOB).pending is None


def test_a_reply_without_a_number_to_the_question_says_what_a_number_looks_like(order_chat):
    order_chat.text(BOB, "查订单")
    assert "6-20 位数字" in order_chat.text(BOB, "嗯嗯")


def test_logistics_after_an_order_refers_to_it(orders, order_chat):
    orders.apply_payload(shipped("100001", tracking_no="SF0000000000011"))
    orders.apply_payload(shipped("100002", tracking_no="SF0000000000022"))
    order_chat.text(ALICE, "100001 发货了吗")
    answer = order_chat.text(ALICE, "物流")
    assert "SF0000000000011" in answer and "SF0000000000022" not in answer


def test_tracking_number_in_a_message_is_used(orders, order_chat):
    orders.apply_payload(shipped())
    answer = order_chat.text(ALICE, "SF1402938475610")
    assert "202611240001" in answer and "顺丰已揽收" in answer


def test_menu_buttons(orders, order_chat):
    orders.apply_payload(shipped())
    assert "已发货" in order_chat.event(ALICE, "CLICK", "MENU_ORDERS").text
    assert "/track/" in order_chat.event(ALICE, "CLICK", "MENU_LOGISTICS").text


# Logistics -----------------------------------------------------------------------------------

def test_logistics_shows_carrier_latest_three_points_eta_and_link(orders, order_chat):
    points = [point(-50 + 10 * i, f"站点{i}", f"第{i}站") for i in range(5)]
    orders.apply_payload(event("200001", "in_transit", hours=-1, openid=ALICE, carrier="ZTO",
                               tracking_no="78312345678901", eta=at(54), tracking=points))
    answer = order_chat.text(ALICE, "200001 物流")
    assert "中通 78312345678901" in answer
    assert "第4站" in answer and "第3站" in answer and "第2站" in answer
    assert "第1站" not in answer and "第0站" not in answer
    assert answer.index("第4站") < answer.index("第2站")        # newest first
    assert "后天下午 16:00" in answer
    assert "http://127.0.0.1:8000/track/" in answer


def test_exception_gives_the_reason_and_new_time(orders, order_chat):
    orders.apply_payload(event("200002", "exception", hours=-1, openid=ALICE, carrier="YD",
                               tracking_no="4312345678901",
                               exception={"reason": "收件小区封闭,无法派送",
                                          "new_eta": at(32)}))
    status = order_chat.text(ALICE, "订单 200002")
    assert "物流异常" in status and "收件小区封闭,无法派送" in status
    assert "明天晚上 18:00" in status
    logistics = order_chat.text(ALICE, "物流")
    assert "韵达" in logistics and "收件小区封闭" in logistics and "明天晚上 18:00" in logistics


def test_not_yet_shipped_says_so(orders, order_chat):
    orders.apply_payload(event("200003", "paid", openid=ALICE))
    assert "还没有交给快递" in order_chat.text(ALICE, "200003 的物流")


@pytest.mark.parametrize(("status", "category", "expected"), [
    ("shipped", "fresh", "冷链"),
    ("delivered", "fresh", "2 小时内"),
    ("in_transit", "luxury", "鉴定证书"),
    ("processing", "custom", "刻字完成"),
    ("out_for_delivery", "electronics", "当面开箱验机"),
])
def test_category_aware_wording(orders, order_chat, status, category, expected):
    orders.apply_payload(event(
        "300001", status, hours=-1, openid=ALICE, carrier="SF", tracking_no="SF0000000003001",
        items=[{"name": "商品", "category": category}],
        tracking=[point(-1, "工坊" if category == "custom" else "杭州", "刻字完成")],
    ))
    assert expected in order_chat.text(ALICE, "订单 300001")


def test_english_customers_get_english(orders, order_chat):
    orders.apply_payload(shipped())
    order_chat.text(ALICE, "English")
    answer = order_chat.text(ALICE, "where is my order")
    assert "has shipped" in answer and "SF Express" in answer and "tomorrow 15:00" in answer


# Who sees what -------------------------------------------------------------------------------

def test_another_customers_order_gets_the_unknown_answer(orders, order_chat, r):
    orders.apply_payload(shipped("202611240001", openid=ALICE))
    theirs = order_chat.text(EVE, "查一下订单 202611240001")
    assert "202611240001" in theirs and "已发货" not in theirs and "SF" not in theirs
    r.delete("orders:order:202611240001")
    unknown = order_chat.text(BOB, "查一下订单 202611240001")
    assert theirs == unknown
    assert order_chat.text(EVE, "SF1402938475610") == unknown.replace(
        "202611240001", "SF1402938475610")


def test_phone_numbers_are_masked_and_phone_lookups_show_only_own_orders(orders, order_chat):
    orders.apply_payload(shipped(address="浙江省杭州市西湖区文三路100号"))
    mine = order_chat.text(ALICE, "用手机号 13812345678 查订单")
    assert "202611240001" in mine and "13812345678" not in mine
    theirs = order_chat.text(EVE, "13812345678")
    assert "138****5678" in theirs and "202611240001" not in theirs
    assert order_chat.text(EVE, "13812345678") == order_chat.text(EVE, "13812345678")
    assert mask_phone("13812345678") == "138****5678"
    assert mask_address("浙江省杭州市西湖区文三路100号") == "浙江省杭州市****"


def test_phone_only_order_is_bound_after_the_last_four_digits(orders, order_chat, r):
    orders.apply_payload(event("123456", "in_transit", hours=-1, phone="13800005678",
                               carrier="YTO", tracking_no="YT9876543210987"))
    assert "请发订单号" in order_chat.text(BOB, "查订单")
    ask = order_chat.text(BOB, "123456")
    assert "后四位" in ask and "5678" not in ask
    answer = order_chat.text(BOB, "5678")
    assert "验证成功" in answer and "运输中" in answer and "圆通" in answer
    assert orders.get("123456").openid == BOB
    assert r.zrange(f"orders:openid:{BOB}", 0, -1) == ["123456"]
    # Bound: the next question needs no digits, and "物流" refers to it.
    assert "运输中" in order_chat.text(BOB, "123456")
    assert "YT9876543210987" in order_chat.text(BOB, "物流")
    # Someone else asking now gets the unknown answer, not a digits question.
    assert "后四位" not in order_chat.text(EVE, "123456")


def test_wrong_digits_hide_the_order_like_an_unknown_one(orders, order_chat, order_app):
    orders.apply_payload(event("654321", "paid", phone="13800005678"))
    unknown = order_chat.text(EVE, "999999")
    order_chat.text(BOB, "654321")
    wrong = order_chat.text(BOB, "1234")
    assert wrong == unknown.replace("999999", "654321")
    assert orders.get("654321").openid == ""
    # Asked once only: the same number again is "not found", not another question.
    assert order_chat.text(BOB, "654321") == wrong
    assert order_app.extensions["bot"].dialogue.load(BOB).pending is None


def test_repeated_misses_are_throttled(orders, order_chat, clock, order_app):
    orders.apply_payload(shipped("202611240001", openid=EVE))
    for n in range(5):
        assert "没有查到" in order_chat.text(EVE, f"订单 70000{n}")
    assert "查询太频繁" in order_chat.text(EVE, "订单 700009")
    # Even a real, own order number waits: the answer must not tell hits from misses.
    assert "查询太频繁" in order_chat.text(EVE, "订单 202611240001")
    # Others are not affected, and the customer's own orders without a number still work.
    assert "没有查到" in order_chat.text(BOB, "订单 700001")
    assert "已发货" in order_chat.text(EVE, "我的订单")
    clock.advance(601)
    later = simulator_for(order_app, clock)
    order_app.extensions["bot"].redis.delete(f"orders:miss:{EVE}")   # Redis' TTL, not ours
    assert "已发货" in later.text(EVE, "订单 202611240001")


# The shop's API for orders the bot has never seen -------------------------------------------

@pytest.fixture
def api_chat(make_app, shop_api, clock):
    app = make_app(order_api_url=shop_api.url, order_api_timeout=0.3)
    app.extensions["bot"].intents.seed_defaults()
    return simulator_for(app, clock)


def test_order_api_answers_for_unknown_orders(api_chat, shop_api):
    shop_api.orders["888888"] = {"order_id": "888888", "openid": ALICE, "status": "shipped",
                                 "carrier": "JD", "tracking_no": "JDV000123456789"}
    assert "京东 JDV000123456789" in api_chat.text(ALICE, "订单 888888")
    assert "京东" in api_chat.text(ALICE, "订单 888888")
    assert shop_api.hits == ["888888"]
    # The API's answer follows the same ownership rule.
    assert "没有查到" in api_chat.text(EVE, "订单 888888")


def test_order_api_down_means_cannot_check_now(api_chat, shop_api):
    shop_api.failing = True
    assert "暂时无法查询" in api_chat.text(ALICE, "订单 777777")
    shop_api.failing = False
    assert "没有查到订单 777777" in api_chat.text(ALICE, "订单 777777")


def test_order_api_unreachable_is_not_a_crash(make_app, clock):
    app = make_app(order_api_url="http://127.0.0.1:9/orders", order_api_timeout=0.3)
    app.extensions["bot"].intents.seed_defaults()
    assert "暂时无法查询" in simulator_for(app, clock).text(ALICE, "订单 777777")


# Demo data and time wording ------------------------------------------------------------------

def test_demo_orders_are_idempotent_and_cover_the_cases(order_app, order_chat, r):
    from bot.demo_orders import PHONE_ONLY_ORDER, seed_demo_orders

    orders = order_app.extensions["bot"].orders
    ids = seed_demo_orders(orders, DEMO_OPENID)
    length = r.xlen("orders:changes")
    assert seed_demo_orders(orders, DEMO_OPENID) == ids and r.xlen("orders:changes") == length
    statuses = {orders.get(i).status for i in ids}
    assert {"shipped", "delivered", "exception", "processing", "out_for_delivery"} <= statuses
    assert orders.get(PHONE_ONLY_ORDER).openid == ""
    assert "回复序号" in order_chat.text(DEMO_OPENID, "我的订单怎么样了")


def test_relative_times(order_app):
    text = order_app.extensions["bot"].replies.text

    def words(iso: str, lang: str = "zh-CN") -> str:
        return describe(iso, START, "Asia/Shanghai", lambda name, **kw: text(name, lang, **kw))

    assert words("2026-11-24T15:00:00+08:00") == "今天下午 15:00"
    assert words("2026-11-25T07:00:00+00:00") == "明天下午 15:00"
    assert words("2026-11-26T20:30:00+08:00") == "后天晚上 20:30"
    assert words("2026-11-23T09:05:00+08:00") == "昨天上午 09:05"
    assert words("2026-11-20T03:00:00+08:00") == "11月20日凌晨 03:00"
    assert words("2027-01-02T12:00:00+08:00") == "2027年1月2日下午 12:00"
    assert words("2026-11-25T07:00:00+00:00", "en") == "tomorrow 15:00"
