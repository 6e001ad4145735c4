"""Order and logistics answers end to end: signed WeChat messages through the real callback,
matcher, dialogue state and Redis."""

from __future__ import annotations

import pytest

from bot.local.chat import DEMO_OPENID
from bot.orders.masking import mask_address, mask_phone
from bot.orders.relative_time import describe
from bot.orders.wording import OrderWording
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
    assert "明天下午3点" in answer            # 2026-11-25 15:00 Shanghai, from 11-24 10:00
    assert '回复“物流”' in answer


def test_my_order_without_number_answers_the_only_one(orders, order_chat):
    orders.apply_payload(shipped())
    answer = order_chat.text(ALICE, "我的订单怎么样了")
    assert "202611240001" in answer and "已发货" in answer


def test_several_active_orders_are_listed_and_a_number_picks_one(orders, order_chat,
                                                                   seeded_app):
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
    state = seeded_app.extensions["bot"].dialogue.load(ALICE)
    assert state.pending is None and state.data["order_id"] == "100001"
    # "它到哪了" now means that order.
    where = order_chat.text(ALICE, "它到哪了")
    assert "SF0000000000011" in where and "/track/" in where


def test_a_spoken_choice_picks_from_the_list(orders, order_chat):
    orders.apply_payload(shipped("100001", tracking_no="SF0000000000011"))
    orders.apply_payload(event("100002", "processing", hours=-1, openid=ALICE))
    assert "回复序号" in order_chat.text(ALICE, "我的订单怎么样了")
    picked = order_chat.text(ALICE, "第二个")      # the list is newest first: 100002, 100001
    assert "100001" in picked and "已发货" in picked and "100002" not in picked


def test_out_of_range_choice_asks_again(orders, order_chat):
    orders.apply_payload(shipped("100001"))
    orders.apply_payload(event("100002", "paid", hours=-1, openid=ALICE))
    order_chat.text(ALICE, "查订单")
    assert "1-2" in order_chat.text(ALICE, "5")
    assert "100002" in order_chat.text(ALICE, "1")


def test_no_orders_asks_for_the_number_and_reads_the_next_message(orders, order_chat,
                                                                    seeded_app):
    ask = order_chat.text(BOB, "查订单")
    assert "请发订单号" in ask
    assert seeded_app.extensions["bot"].dialogue.load(BOB).pending == "order_status"
    orders.apply_payload(shipped("123456", openid=BOB))
    answer = order_chat.text(BOB, "123456")
    assert "123456" in answer and "已发货" in answer
    assert seeded_app.extensions["bot"].dialogue.load(BOB).pending is None


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
    assert "后天下午4点" in answer
    assert "http://127.0.0.1:8000/track/" in answer


def test_exception_gives_the_reason_and_new_time(orders, order_chat):
    orders.apply_payload(event("200002", "exception", hours=-1, openid=ALICE, carrier="YD",
                               tracking_no="4312345678901",
                               exception={"reason": "收件小区封闭,无法派送",
                                          "new_eta": at(32)}))
    status = order_chat.text(ALICE, "订单 200002")
    assert "物流异常" in status and "收件小区封闭，无法派送" in status
    assert "明天晚上6点" in status
    logistics = order_chat.text(ALICE, "物流")
    assert "韵达" in logistics and "收件小区封闭" in logistics and "明天晚上6点" in logistics


def test_logistics_lists_orders_with_the_carrier_and_a_number_picks_one(orders, order_chat):
    orders.apply_payload(shipped("200011", tracking_no="SF0000000000011"))
    orders.apply_payload(event("200012", "in_transit", hours=-1, openid=ALICE, carrier="ZTO",
                               tracking_no="78312345678901"))
    orders.apply_payload(event("200013", "paid", hours=-0.5, openid=ALICE))   # not shipped
    listing = order_chat.text(ALICE, "物流")
    assert "2 个订单正在配送中" in listing and "回复序号" in listing
    assert "200012" in listing and "200011" in listing and "200013" not in listing
    assert listing.index("200012") < listing.index("200011")        # newest first
    picked = order_chat.text(ALICE, "2")
    assert "顺丰 SF0000000000011" in picked and "/track/" in picked
    assert "78312345678901" not in picked


def test_not_yet_shipped_says_so(orders, order_chat):
    orders.apply_payload(event("200003", "paid", openid=ALICE))
    assert "还没有交给快递" in order_chat.text(ALICE, "200003 的物流")


@pytest.mark.parametrize(("status", "says"), [
    ("cancelled", "已取消，取消前已交给快递（顺丰 SF0000000000041）"),
    ("refunded", "已退款，退款前已交给快递（顺丰 SF0000000000041）"),
])
def test_cancelled_or_refunded_after_shipping_does_not_claim_it_never_shipped(
        orders, order_chat, status, says):
    orders.apply_payload(shipped("200041", tracking_no="SF0000000000041",
                                 tracking=[point(-3, "昆明", "顺丰已揽收")]))
    orders.apply_payload(event("200041", status, hours=-1))
    answer = order_chat.text(ALICE, "200041 的物流")
    assert says in answer
    assert "还没有交给快递" not in answer and "发货后" not in answer
    assert "顺丰已揽收" in answer and "/track/" in answer       # its last tracking stays


@pytest.mark.parametrize(("status", "says"), [
    ("cancelled", "已取消，没有发货"),
    ("refunded", "已退款，没有发货"),
])
def test_cancelled_or_refunded_before_shipping_says_it_never_shipped(orders, order_chat,
                                                                     status, says):
    orders.apply_payload(event("200042", "paid", hours=-3, openid=ALICE))
    orders.apply_payload(event("200042", status, hours=-1))
    answer = order_chat.text(ALICE, "200042 的物流")
    assert says in answer and "还没有交给快递" not in answer and "/track/" not in answer


def test_exception_without_a_new_time_never_offers_the_broken_eta(orders, order_chat):
    # The original ETA (07:00 today) has passed when the carrier reports the problem.
    orders.apply_payload(event("200005", "exception", hours=-1, openid=ALICE, carrier="YD",
                               tracking_no="4312345678905", eta=at(-3),
                               exception={"reason": "收件地址不详"}))
    status = order_chat.text(ALICE, "订单 200005")
    assert "收件地址不详" in status and "新的预计送达时间确认后通知您" in status
    assert "上午7点" not in status
    logistics = order_chat.text(ALICE, "物流")
    assert "新的预计送达时间确认后通知您" in logistics and "上午7点" not in logistics


def test_exception_whose_new_time_has_passed_is_being_confirmed(orders, order_chat):
    orders.apply_payload(event("200006", "exception", hours=-1, openid=ALICE, carrier="YD",
                               tracking_no="4312345678906", eta=at(-30),
                               exception={"reason": "天气原因", "new_eta": at(-2)}))
    status = order_chat.text(ALICE, "订单 200006")
    assert "新的预计送达时间确认后通知您" in status and "上午8点" not in status


def test_a_passed_eta_is_not_presented_as_upcoming(orders, order_chat):
    orders.apply_payload(shipped("200007", tracking_no="SF0000000000071", eta=at(-3)))
    status = order_chat.text(ALICE, "订单 200007")
    assert "原预计今天上午7点送达，已有延误" in status
    assert "，预计今天上午7点送达" not in status
    logistics = order_chat.text(ALICE, "物流")
    assert "原预计送达：今天上午7点（已有延误）" in logistics
    assert "\n预计送达" not in logistics


def test_every_carrier_the_matcher_knows_has_a_name(seeded_app, orders, order_chat):
    from bot.understanding.entities import _CARRIER_NAMES

    replies = seeded_app.extensions["bot"].replies
    for lang in ("zh-CN", "en"):
        missing = [code for code in _CARRIER_NAMES
                   if f"carrier_{code}" not in replies.templates[lang]]
        assert missing == [], lang
    orders.apply_payload(event("200008", "in_transit", hours=-1, openid=ALICE, carrier="BEST",
                               tracking_no="BEST0000012345"))
    assert "百世 BEST0000012345" in order_chat.text(ALICE, "订单 200008 物流")


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
    assert "has shipped" in answer and "SF Express" in answer and "tomorrow 3 pm" in answer


# Who sees what -------------------------------------------------------------------------------

def test_another_customers_order_gets_the_unknown_answer(orders, order_chat, r):
    orders.apply_payload(shipped("202611240001", openid=ALICE))
    theirs = order_chat.text(EVE, "查一下订单 202611240001")
    assert "202611240001" in theirs and "已发货" not in theirs and "SF" not in theirs
    r.delete("orders:order:202611240001")
    unknown = order_chat.text(BOB, "查一下订单 202611240001")
    assert theirs == unknown
    # A waybill number is called one ("快递单号"), never an order number.
    waybill = order_chat.text(EVE, "SF1402938475610")
    assert "快递单号 SF1402938475610" in waybill and "订单 SF" not in waybill


def test_phone_numbers_are_masked_and_phone_lookups_show_only_own_orders(orders, order_chat):
    orders.apply_payload(shipped(address="浙江省杭州市西湖区文三路100号"))
    mine = order_chat.text(ALICE, "用手机号 13812345678 查订单")
    assert "202611240001" in mine and "13812345678" not in mine
    theirs = order_chat.text(EVE, "13812345678")
    assert "138****5678" in theirs and "202611240001" not in theirs
    assert order_chat.text(EVE, "13812345678") == order_chat.text(EVE, "13812345678")
    assert mask_phone("13812345678") == "138****5678"
    assert mask_address("浙江省杭州市西湖区文三路100号") == "浙江省杭州市****"


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "138****5678"),      # a mainland mobile, as customers know it
    ("1234567", "****567"),              # short: never more than half shown
    ("12345", "***45"),
    ("02112345678", "*******5678"),      # 11 digits but not a mobile: no prefix shown
    ("123456789012345", "***********2345"),
    ("", ""),
])
def test_mask_phone_shows_at_most_four_digits_and_at_most_half(phone, masked):
    assert mask_phone(phone) == masked
    shown = sum(c.isdigit() for c in masked)
    assert shown <= 4 or (len(phone) == 11 and shown == 7)


@pytest.mark.parametrize(("address", "masked"), [
    ("浙江省杭州市西湖区文三路100号", "浙江省杭州市****"),
    ("北京市朝阳区建国路 8 号", "北京市****"),
    ("广西壮族自治区南宁市青秀区民族大道 1 号", "广西壮族自治区南宁市****"),
    ("西湖区文三路100号", "****"),
    ("100 Main Street", "****"),
    ("100 Main St, Springfield, IL 62704", "****, Springfield, IL *****"),
    ("Flat 5, 100 Main St, Springfield", "****, *** Main St, Springfield"),
])
def test_mask_address_keeps_only_the_region_and_no_house_number(address, masked):
    assert mask_address(address) == masked


def test_phone_only_order_is_bound_after_the_full_phone_number(orders, order_chat, r):
    orders.apply_payload(event("123456", "in_transit", hours=-1, phone="13800005678",
                               carrier="YTO", tracking_no="YT9876543210987"))
    assert "请发订单号" in order_chat.text(BOB, "查订单")
    ask = order_chat.text(BOB, "123456")
    assert "完整手机号" in ask and "5678" not in ask
    answer = order_chat.text(BOB, "13800005678")
    assert "验证成功" in answer and "运输中" in answer and "圆通" in answer
    assert orders.get("123456").openid == BOB
    assert r.zrange(f"orders:openid:{BOB}", 0, -1) == ["123456"]
    # Bound: the next question needs no digits, and "物流" refers to it.
    assert "运输中" in order_chat.text(BOB, "123456")
    assert "YT9876543210987" in order_chat.text(BOB, "物流")
    # Someone else asking now gets the unknown answer, not a digits question.
    assert "完整手机号" not in order_chat.text(EVE, "123456")


def test_wrong_digits_hide_the_order_like_an_unknown_one(orders, order_chat, seeded_app):
    orders.apply_payload(event("654321", "paid", phone="13800005678"))
    unknown = order_chat.text(EVE, "999999")
    order_chat.text(BOB, "654321")
    wrong = order_chat.text(BOB, "13800001234")
    assert wrong == unknown.replace("999999", "654321")
    assert orders.get("654321").openid == ""
    # Asked once only: the same number again is "not found", not another question.
    assert order_chat.text(BOB, "654321") == wrong
    assert seeded_app.extensions["bot"].dialogue.load(BOB).pending is None


@pytest.mark.parametrize("hesitation", ["我找一下", "稍等", "不记得了"])
def test_a_reply_without_digits_is_asked_once_more_and_not_counted(orders, order_chat, r,
                                                                   hesitation):
    orders.apply_payload(event("654322", "in_transit", hours=-1, phone="13800005678"))
    assert "完整手机号" in order_chat.text(BOB, "654322")
    again = order_chat.text(BOB, hesitation)
    assert "快递单上" in again and "没有查到" not in again
    assert r.get(f"orders:miss:{BOB}") == "1"               # being asked, nothing more
    assert not r.exists(f"orders:verify_failed:{BOB}:654322")
    assert "验证成功" in order_chat.text(BOB, "13800005678")


def test_no_digits_twice_drops_the_question_without_locking_out(orders, order_chat, r,
                                                                  seeded_app):
    orders.apply_payload(event("654323", "in_transit", hours=-1, phone="13800005678"))
    order_chat.text(BOB, "654323")
    order_chat.text(BOB, "我找一下")
    moved_on = order_chat.text(BOB, "稍等")
    assert "没有查到" not in moved_on and "快递单上" not in moved_on
    assert not r.exists(f"orders:verify_failed:{BOB}:654323")
    # Asking again later asks for the digits again, and the right ones work.
    assert "完整手机号" in order_chat.text(BOB, "654323")
    assert "验证成功" in order_chat.text(BOB, "13800005678")


def test_wrong_length_digits_are_asked_once_more_then_count(orders, order_chat, r):
    orders.apply_payload(event("654324", "in_transit", hours=-1, phone="13800005678"))
    order_chat.text(BOB, "654324")
    assert "快递单上" in order_chat.text(BOB, "5678")      # the last four prove nothing
    assert not r.exists(f"orders:verify_failed:{BOB}:654324")
    assert "没有查到订单 654324" in order_chat.text(BOB, "56781")
    assert r.exists(f"orders:verify_failed:{BOB}:654324")


@pytest.mark.parametrize(("message", "expected"), [
    ("查订单", "请发订单号"),        # a new request for orders: answered as one
    ("怎么退货", "退货"),            # another intent altogether
])
def test_moving_on_from_the_digits_question_is_not_a_wrong_answer(orders, order_chat, r,
                                                                  message, expected):
    orders.apply_payload(event("654325", "in_transit", hours=-1, phone="13800005678"))
    order_chat.text(BOB, "654325")
    answer = order_chat.text(BOB, message)
    assert expected in answer and "没有查到" not in answer and "快递单上" not in answer
    assert r.get(f"orders:miss:{BOB}") == "1"
    assert not r.exists(f"orders:verify_failed:{BOB}:654325")


@pytest.mark.parametrize("digits", ["١٣٨٠٠٠٠٥٦٧٨", "１３８００００５６７８", "138 0000 5678",
                                    "手机号 13800005678", "+86 138-0000-5678"])
def test_digits_in_any_script_or_form_are_read(orders, order_chat, digits):
    orders.apply_payload(event("654326", "in_transit", hours=-1, phone="13800005678"))
    order_chat.text(BOB, "654326")
    assert "验证成功" in order_chat.text(BOB, digits)


def test_non_ascii_digits_fail_the_phone_check_without_crashing(orders):
    orders.apply_payload(event("654327", "in_transit", hours=-1, phone="13800005678"))
    assert orders.access.verify(BOB, "654327", "١٣٨٠٠٠٠٥٦٧٨").kind == "hidden"


def test_asking_for_the_digits_counts_toward_the_throttle(orders, order_chat):
    """Trying numbers must not tell, unthrottled, which phone-only orders exist."""
    for n in range(6):
        orders.apply_payload(event(f"80000{n}", "paid", phone=f"1380000{n:04d}"))
    for n in range(5):
        assert "完整手机号" in order_chat.text(EVE, f"订单 80000{n}")
    assert "查询太频繁" in order_chat.text(EVE, "订单 800005")


def test_repeated_misses_are_throttled(orders, order_chat, clock, seeded_app):
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
    later = simulator_for(seeded_app, clock)
    seeded_app.extensions["bot"].redis.delete(f"orders:miss:{EVE}")   # Redis' TTL, not ours
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

def test_demo_orders_are_idempotent_and_cover_the_cases(seeded_app, order_chat, r):
    from bot.local.demo_orders import PHONE_ONLY_ORDER, seed_demo_orders

    orders = seeded_app.extensions["bot"].orders
    ids = seed_demo_orders(orders, DEMO_OPENID)
    length = r.xlen("orders:changes")
    assert seed_demo_orders(orders, DEMO_OPENID) == ids and r.xlen("orders:changes") == length
    statuses = {orders.get(i).status for i in ids}
    assert {"shipped", "delivered", "exception", "processing", "out_for_delivery"} <= statuses
    assert orders.get(PHONE_ONLY_ORDER).openid == ""
    assert "回复序号" in order_chat.text(DEMO_OPENID, "我的订单怎么样了")


def test_demo_orders_are_seeded_afresh_after_a_restart(seeded_app, clock, r):
    from bot.local.demo_orders import PHONE_ONLY_ORDER, seed_demo_orders

    orders = seeded_app.extensions["bot"].orders
    seed_demo_orders(orders, DEMO_OPENID)
    first = orders.get("202611240001")
    assert orders.access.verify(DEMO_OPENID, PHONE_ONLY_ORDER, "13800005678").kind == "own"
    clock.advance(3 * 86_400)              # the demo is started again three days later
    seed_demo_orders(orders, DEMO_OPENID)
    again = orders.get("202611240001")
    assert again.eta > first.eta and again.occurred_at > first.occurred_at
    # Replaced, not merged: the old run's tracking points are gone and its ETA is ahead.
    assert len(again.tracking) == len(first.tracking)
    wording = OrderWording(seeded_app.extensions["bot"].replies, "zh-CN", clock.now(),
                           "Asia/Shanghai")
    assert "明天下午3点" in wording.status_answer(again)
    # The phone-only order can be claimed again.
    assert orders.get(PHONE_ONLY_ORDER).openid == ""


def test_relative_times(seeded_app):
    text = seeded_app.extensions["bot"].replies.text

    def words(iso: str, lang: str = "zh-CN") -> str:
        return describe(iso, START, "Asia/Shanghai", lambda name, **kw: text(name, lang, **kw))

    assert words("2026-11-24T15:00:00+08:00") == "今天下午3点"
    assert words("2026-11-25T07:00:00+00:00") == "明天下午3点"
    assert words("2026-11-26T20:30:00+08:00") == "后天晚上8点半"
    assert words("2026-11-23T09:05:00+08:00") == "昨天上午9点05分"
    assert words("2026-11-20T03:00:00+08:00") == "11月20日凌晨3点"
    assert words("2027-01-02T12:00:00+08:00") == "2027年1月2日中午12点"
    assert words("2026-11-25T07:00:00+00:00", "en") == "tomorrow 3 pm"


# Claims: proof by SMS code, the log, revoking ----------------------------------------------

class Texts:
    """A CodeSender that keeps what it would text (the SMS providers implement the same)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, int]] = []
        self.failing = False

    def send_code(self, phone: str, code: str, minutes: int) -> None:
        if self.failing:
            raise RuntimeError("provider down")
        self.sent.append((phone, code, minutes))


@pytest.fixture
def sms_chat(make_app, clock):
    from bot.orders.claims import ClaimCodes

    app = make_app()
    app.extensions["bot"].intents.seed_defaults()
    texts = Texts()
    access = app.extensions["bot"].orders.access
    access.codes = ClaimCodes(app.extensions["bot"].redis, texts)
    return app.extensions["bot"].orders, simulator_for(app, clock), texts


def test_sms_code_claims_a_phone_only_order_and_is_logged(sms_chat, r, caplog):
    orders, chat, texts = sms_chat
    orders.apply_payload(event("123456", "in_transit", hours=-1, phone="13800005678"))
    ask = chat.text(BOB, "查订单 123456")
    assert "138****5678" in ask and "6 位验证码" in ask
    (phone, code, minutes), = texts.sent
    assert phone == "13800005678" and len(code) == 6 and code.isdigit() and minutes == 5
    # The last four digits are no proof any more.
    assert "验证成功" not in chat.text(BOB, "5678")
    with caplog.at_level("INFO"):
        answer = chat.text(BOB, code)
    assert "验证成功" in answer and orders.get("123456").openid == BOB
    assert any("claimed" in rec.getMessage() for rec in caplog.records)
    assert BOB not in caplog.text            # masked in the log line
    listing = chat.text(BOB, "关联记录")
    assert "123456" in listing and "短信验证码" in listing
    # The owner revokes: the order is phone-only again and gone from their orders.
    assert "已取消订单 123456" in chat.text(BOB, "解绑 123456")
    assert orders.get("123456").openid == "" and r.zrange(f"orders:openid:{BOB}", 0, -1) == []
    assert "没有通过验证关联" in chat.text(BOB, "关联记录")


def test_sms_code_three_wrong_tries_hide_the_order(sms_chat, r):
    orders, chat, texts = sms_chat
    orders.apply_payload(event("123457", "in_transit", hours=-1, phone="13800005678"))
    chat.text(BOB, "123457")
    code = texts.sent[0][1]
    wrong = "000000" if code != "000000" else "111111"
    assert "验证码不对" in chat.text(BOB, wrong)
    assert "验证码不对" in chat.text(BOB, wrong)
    assert "没有查到订单 123457" in chat.text(BOB, wrong)
    assert "验证成功" not in chat.text(BOB, code)            # spent: the right code too
    assert orders.get("123457").openid == ""
    assert r.exists(f"orders:verify_failed:{BOB}:123457")


def test_sms_code_expires_and_sending_is_throttled(sms_chat, r, clock):
    from bot.orders.claims import ClaimCodes

    orders, chat, texts = sms_chat
    orders.apply_payload(event("123458", "in_transit", hours=-1, phone="13800005678"))
    chat.text(BOB, "123458")
    # A second code for the same order within the minute is refused, for anyone.
    assert "验证码刚刚发过" in chat.text(EVE, "123458")
    assert len(texts.sent) == 1
    r.delete(ClaimCodes.key(BOB, "123458"))                 # as Redis expires it after 5 min
    assert "验证码已失效" in chat.text(BOB, texts.sent[0][1])
    assert orders.get("123458").openid == ""


def test_sms_failure_sends_no_code_and_says_so(sms_chat):
    orders, chat, texts = sms_chat
    texts.failing = True
    orders.apply_payload(event("123459", "in_transit", hours=-1, phone="13800005678"))
    answer = chat.text(BOB, "123459")
    # Said as it is: the text did not go out (not "too many codes", which it was not).
    assert "发不出去" in answer and "太频繁" not in answer


def test_codes_per_customer_are_limited(sms_chat, r):
    orders, chat, texts = sms_chat
    for n in range(7):
        orders.apply_payload(event(f"77770{n}", "paid", phone=f"1380000{n:04d}"))
    from bot.orders.claims import OPENID_CODES, ClaimCodes

    codes = ClaimCodes(r, texts)
    from bot.orders.claims import SendRefused

    for n in range(OPENID_CODES):
        codes.send(BOB, f"77770{n}", "13800000000")
    with pytest.raises(SendRefused):
        codes.send(BOB, "777706", "13800000006")
    assert len(texts.sent) == OPENID_CODES


def test_revoking_someone_elses_or_a_shop_given_order_does_nothing(orders, order_chat):
    orders.apply_payload(shipped("202611240001"))           # given to Alice by the shop
    assert "没有找到您关联的订单" in order_chat.text(ALICE, "解绑 202611240001")
    assert orders.get("202611240001").openid == ALICE
    assert "没有找到您关联的订单" in order_chat.text(EVE, "解绑 202611240001")
