"""Conversations customers actually have, end to end: orders fed through the signed webhook,
then several turns through the signed, encrypted WeChat callback. Each test is one pattern:
an order named by what is in it, follow-ups about the order in focus, picks from the last
list, 催件, complaints with a hand-off, shop questions, stickers and photos, the language of
the reply, Chinese typography."""

from __future__ import annotations

import json
import re

import pytest

from bot.conversation.handoffs import HandoffBook
from bot.orders.hurry import HurryRequests
from tests.conftest import simulator_for
from tests.fixtures.orders import at, event, point

ANNA = "oTalkAnna0000000000000000001"
LEO = "oTalkLeo00000000000000000001"
LAMP, SOCKS_A, SOCKS_B, ORANGES, BOOTS = ("510000000001", "510000000002", "510000000003",
                                          "510000000004", "510000000005")
# ASCII punctuation beside Chinese: never in a Chinese reply (links aside).
ASCII_BY_CJK = re.compile(r"[\u4e00-\u9fff][,:;!?]|[,;!?][\u4e00-\u9fff]")


class Chat:
    """The simulator, checking every Chinese reply's typography on the way."""

    def __init__(self, sim, r) -> None:  # noqa: ANN001
        self.sim = sim
        self.r = r

    def say(self, who: str, text: str) -> str:
        reply = self.sim.text(who, text) or ""
        if re.search(r"[\u4e00-\u9fff]", text):
            bare = re.sub(r"https?://\S+", "", reply)
            assert not ASCII_BY_CJK.search(bare), reply
        return reply

    def handler(self, who: str) -> str:
        """Which handler answered the user's last message (the transcript keeps it)."""
        return json.loads(self.r.lrange(f"chat:{who}:turns", 0, 0)[0])["handler"]


@pytest.fixture
def chat(seeded_app, clock, r):
    return Chat(simulator_for(seeded_app, clock), r)


@pytest.fixture
def shop(hook):
    """Anna's orders, as the shop's webhook sends them."""
    bodies = [
        event(LAMP, "in_transit", hours=-1, openid=ANNA, carrier="JD",
              tracking_no="JDV000000510001", eta=at(48),
              items=[{"name": "护眼台灯 LED", "category": "electronics"}],
              tracking=[point(-20, "北京", "京东已揽收"), point(-1, "杭州分拣中心", "已到达")]),
        event(SOCKS_A, "shipped", hours=-2, openid=ANNA, carrier="ZTO",
              tracking_no="75100000000002", eta=at(30), items=[{"name": "运动袜 5双装"}]),
        event(SOCKS_B, "delivered", hours=-30, openid=ANNA, carrier="ZTO",
              tracking_no="75100000000003", items=[{"name": "羊毛袜"}],
              tracking=[point(-30, "杭州", "本人签收")]),
        event(ORANGES, "exception", hours=-3, openid=ANNA, carrier="SF",
              tracking_no="SF1510000000004", eta=at(-5),
              items=[{"name": "赣南脐橙 5斤", "category": "fresh"}],
              exception={"reason": "收件人电话无人接听", "new_eta": at(26)}),
        event(BOOTS, "shipped", hours=-4, openid=ANNA, carrier="YD",
              tracking_no="43510000000005", eta=at(-6), items=[{"name": "防水登山靴"}]),
    ]
    for body in bodies:
        assert hook(body).status_code == 200


# An order named by what is in it -----------------------------------------------------------

def test_one_order_named_by_its_item_is_answered(shop, chat):
    reply = chat.say(ANNA, "台灯寄出来了没")
    assert LAMP in reply and "京东" in reply
    assert not any(o in reply for o in (SOCKS_A, SOCKS_B, ORANGES, BOOTS))
    assert chat.handler(ANNA) == "order_focus"


def test_several_orders_with_the_item_are_listed_and_only_those(shop, chat):
    listing = chat.say(ANNA, "袜子到哪了")
    assert SOCKS_A in listing and SOCKS_B in listing and "回复序号" in listing
    assert LAMP not in listing and ORANGES not in listing and BOOTS not in listing
    first = listing.index(SOCKS_A) < listing.index(SOCKS_B)
    picked = chat.say(ANNA, "2")
    assert (SOCKS_B if first else SOCKS_A) in picked


def test_a_kind_of_goods_finds_the_order(shop, chat):
    assert BOOTS in chat.say(ANNA, "我的鞋子呢")              # 靴 is a kind of 鞋
    assert ORANGES in chat.say(ANNA, "水果有消息吗")          # 脐橙 is a fruit


def test_goods_no_order_has_are_said_so_with_the_recent_orders(shop, chat):
    reply = chat.say(ANNA, "那个电饭煲几时到")
    assert "没有找到" in reply and "电饭煲" in reply
    assert LAMP in reply and "回复序号" in reply
    assert LAMP in chat.say(ANNA, "1") or SOCKS_A in chat.say(ANNA, "1")


def test_another_customers_goods_are_not_found(shop, chat):
    reply = chat.say(LEO, "台灯寄出来了没")
    assert LAMP not in reply and "京东" not in reply


# Follow-ups about the order in focus ---------------------------------------------------------

def test_follow_ups_without_a_subject_are_about_the_order_shown(shop, chat):
    chat.say(ANNA, "台灯寄出来了没")
    eta = chat.say(ANNA, "大概哪天能到")
    assert LAMP in eta and "后天上午10点" in eta
    assert chat.handler(ANNA) == "order_focus"


def test_why_not_here_yet_for_a_late_order(shop, chat):
    chat.say(ANNA, "登山靴发了吗")
    late = chat.say(ANNA, "为什么还没送到")
    assert BOOTS in late and "晚了" in late and "催一下" in late


def test_goods_and_a_particle_are_about_that_order(shop, chat):
    chat.say(ANNA, "台灯寄出来了没")
    reply = chat.say(ANNA, "那脐橙呢")        # 脐橙 alone would read as the fresh-food FAQ
    assert ORANGES in reply and chat.handler(ANNA) == "order_focus"
    assert chat.handler(ANNA) == "order_focus"
    chat.say(ANNA, "脐橙坏了可以退货吗")      # says more than the goods: the FAQ's
    assert chat.handler(ANNA) == "faq"


def test_an_exception_is_explained_in_words(shop, chat):
    chat.say(ANNA, "脐橙怎么样了")
    explained = chat.say(ANNA, "这个异常什么意思")
    assert ORANGES in explained and "收件人电话无人接听" in explained
    assert "遇到了问题" in explained and "明天中午12点" in explained


def test_asking_about_the_exception_means_the_order_that_has_one(shop, chat):
    chat.say(ANNA, "台灯寄出来了没")               # in focus, but without a problem
    explained = chat.say(ANNA, "物流显示异常是怎么回事")
    assert ORANGES in explained and "收件人电话无人接听" in explained and LAMP not in explained


def test_picks_from_the_last_list_shown(shop, chat):
    listing = chat.say(ANNA, "我的订单")
    ids = re.findall(r"\d\. (\d{12})", listing)
    assert len(ids) >= 3
    assert ids[1] in chat.say(ANNA, "第二个呢")
    assert ids[-1] in chat.say(ANNA, "最后一个")
    # "另外那个" after a pick from a list of two: the one not picked.
    two = chat.say(ANNA, "袜子到哪了")
    pair = re.findall(r"\d\. (\d{12})", two)
    chat.say(ANNA, "1")
    assert pair[1] in chat.say(ANNA, "另外那个呢")


# 催件 -------------------------------------------------------------------------------------------

def test_hurry_is_acknowledged_recorded_and_counted(shop, chat, r):
    reply = chat.say(ANNA, "麻烦催催台灯，周末要用")
    assert chat.handler(ANNA) == "hurry"
    assert LAMP in reply and "后天上午10点" in reply and "登记" in reply
    record = HurryRequests(r).get(LAMP)
    assert record["count"] == "1" and record["openid"] == ANNA
    assert LAMP in HurryRequests(r).open_orders()
    again = chat.say(ANNA, "台灯再加急一下吧")
    assert "2 次" in again and HurryRequests(r).get(LAMP)["count"] == "2"


def test_the_same_message_counts_once(r):
    hurry = HurryRequests(r)
    for _ in range(2):      # a retried job runs the handler again with the same message
        count = hurry.record("1", "oX", "shipped", "快点", 100.0, "m:1:oX:100")
    assert count == 1


# Complaints -----------------------------------------------------------------------------------

def test_a_complaint_gets_an_apology_the_facts_and_a_hand_off_with_the_conversation(
        shop, chat, r):
    chat.say(ANNA, "登山靴发了吗")
    first = chat.say(ANNA, "说好昨天到的靴子到现在都没影 客服也不回 你们就是这么做生意的？？")
    assert chat.handler(ANNA) == "complaint"
    assert "抱歉" in first and BOOTS in first and "人工客服" in first
    book = HandoffBook(r)
    record = book.current(ANNA)
    assert record.reason == "complaint" and record.order_id == BOOTS
    said = [turn["in"] for turn in record.turns]
    assert "登山靴发了吗" in said and any("做生意" in s for s in said)
    assert record.id in book.open_ids()
    second = chat.say(ANNA, "投诉！！太差劲了")
    assert second.splitlines()[0] != first.splitlines()[0]
    assert book.current(ANNA).id == record.id and book.current(ANNA).count == 2


def test_a_complaint_about_lateness_is_about_the_late_orders(shop, chat, r):
    chat.say(ANNA, "台灯寄出来了没")               # in focus, on time
    reply = chat.say(ANNA, "都超时这么久了还没送到，太让人失望了，给个说法")
    # The late boots and the oranges held up by a problem; not the lamp, which is on time.
    assert BOOTS in reply and ORANGES in reply and LAMP not in reply
    assert set(HandoffBook(r).current(ANNA).order_id.split(",")) == {BOOTS, ORANGES}


def test_a_complaint_out_of_hours_says_when_staff_return(shop, seeded_app, clock, r):
    clock.advance(12 * 3600)        # 22:00
    chat = Chat(simulator_for(seeded_app, clock), r)
    reply = chat.say(ANNA, "我要投诉，东西一直不到")
    assert "09:00-21:00" in reply and not HandoffBook(r).current(ANNA).on_duty


def test_a_plain_question_is_not_a_complaint(shop, chat):
    chat.say(ANNA, "退款一般几天到账")
    assert chat.handler(ANNA) != "complaint"
    chat.say(ANNA, "靴子怎么还没送到")
    assert chat.handler(ANNA) == "order_focus"
    chat.say(ANNA, "靴子怎么还没送到！！")          # the same, with feeling
    assert chat.handler(ANNA) == "complaint"


# Photos and stickers ------------------------------------------------------------------------

def image(sim, who: str, clock, n: int):  # noqa: ANN001
    return sim.image(who, f"http://pic.invalid/{n}.jpg").text


def test_a_photo_after_a_complaint_joins_the_hand_off(shop, seeded_app, clock, r):
    sim = simulator_for(seeded_app, clock)
    sim.text(ANNA, "太过分了 脐橙到现在还没到 我要投诉")
    reply = image(sim, ANNA, clock, 1)
    assert "附在" in reply
    photos = HandoffBook(r).current(ANNA).photos
    assert [p["url"] for p in photos] == ["http://pic.invalid/1.jpg"]


def test_a_photo_after_mentioning_damage_opens_a_hand_off_with_it(shop, seeded_app, clock, r):
    sim = simulator_for(seeded_app, clock)
    sim.text(ANNA, "收到的台灯灯罩裂了")
    reply = image(sim, ANNA, clock, 2)
    assert "抱歉" in reply and "客服" in reply
    record = HandoffBook(r).current(ANNA)
    assert record.reason == "damage" and len(record.photos) == 1
    assert any("裂" in turn["in"] for turn in record.turns)


def test_a_photo_out_of_the_blue_is_not_a_hand_off(seeded_app, clock, r):
    sim = simulator_for(seeded_app, clock)
    assert "只能看懂文字" in image(sim, LEO, clock, 3)
    assert HandoffBook(r).current(LEO) is None


@pytest.mark.parametrize(("sticker", "says"), [
    ("👍👍", "很高兴"), ("[强]", "很高兴"), ("【收到不支持的消息类型，暂无法显示】", "表情"),
    ("[呲牙]", "表情"), ("???", "没说清楚"),
])
def test_stickers_and_emoji_get_a_light_reply(chat, sticker, says):
    reply = chat.say(LEO, sticker)
    assert says in reply and "抱歉" not in reply
    assert chat.handler(LEO) == "light_ack"


# Shop questions are not order look-ups -------------------------------------------------------

@pytest.mark.parametrize(("question", "says"), [
    ("你们客服电话是多少", "400"),
    ("能不能指定中通", "中通"),
    ("七天无理由退货运费谁承担", "运费险"),
])
def test_shop_questions_are_answered_from_the_faq_not_with_tracking(shop, chat, question,
                                                                     says):
    chat.say(ANNA, "台灯寄出来了没")               # an order in focus must not hijack them
    reply = chat.say(ANNA, question)
    assert says in reply and chat.handler(ANNA) == "faq"
    assert LAMP not in reply and "JDV" not in reply


def test_an_unknown_waybill_is_called_a_waybill(chat):
    reply = chat.say(LEO, "帮我查下这个单号 JT0012345678901")
    assert "快递单号 JT0012345678901" in reply and "订单 JT" not in reply


# Language -------------------------------------------------------------------------------------

def test_the_reply_follows_the_message_language_unless_the_choice_is_recent(
        shop, seeded_app, clock, r):
    chat = Chat(simulator_for(seeded_app, clock), r)
    assert "Hello" in chat.say(LEO, "hello, can you help me please")   # English message
    assert "您好" in chat.say(LEO, "你好")                               # Chinese message
    chat.say(LEO, "English")                                              # an explicit choice
    assert "Hello" in chat.say(LEO, "你好")                              # …holds for a while
    clock.advance(31 * 60)
    later = Chat(simulator_for(seeded_app, clock), r)
    assert "您好" in later.say(LEO, "你好")                              # …then the message wins
    assert "Hello" in later.say(LEO, "hi")    # no language in "hi": the stored one


def test_a_chinese_faq_answer_in_an_english_conversation_is_set_in_chinese_style(chat):
    chat.say(LEO, "English")
    reply = chat.say(LEO, "which courier do you ship with")
    assert "中通" in reply and not ASCII_BY_CJK.search(reply)


def test_english_replies_keep_english_style(shop, chat):
    chat.say(ANNA, "English")
    assert "JD Logistics" in chat.say(ANNA, f"where is order {LAMP}")
    reply = chat.say(ANNA, "when will it arrive")
    assert LAMP in reply and "10 am" in reply
    assert not re.search(r"[，。：；！？（）]", reply)


# Hand-off records ------------------------------------------------------------------------------

def test_hand_off_records_join_close_and_survive_a_stale_pointer(r):
    book = HandoffBook(r)
    first = book.open("oH", "asked", "转人工", 100.0, turns=[{"in": "转人工"}])
    again = book.open("oH", "complaint", "太差了", 110.0, turns=[{"in": "太差了"}],
                      order_id="123456")
    assert again.id == first.id and again.reason == "complaint" and again.count == 2
    assert again.order_id == "123456" and book.open_ids() == [first.id]
    book.close(first.id)
    assert book.current("oH") is None and book.open_ids() == []
    assert book.get(first.id).status == "closed"
    # A pointer to a case someone deleted by hand does not wedge the next one.
    second = book.open("oH", "asked", "人工", 120.0, turns=[])
    r.delete(book.key(second.id))
    third = book.open("oH", "damage", "碎了", 130.0, turns=[])
    assert third.id != second.id and book.current("oH").id == third.id
    assert book.attach_photo("oH", {"msg_id": "1", "url": "u"}).photos == [
        {"msg_id": "1", "url": "u"}]
    assert len(book.attach_photo("oH", {"msg_id": "1", "url": "u"}).photos) == 1
