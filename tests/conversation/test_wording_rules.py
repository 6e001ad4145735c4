"""Rules every reply follows whoever wrote its words: Chinese typography, the reply language,
and which goods name which order."""

from __future__ import annotations

import pytest

from bot.conversation.language import StoredLang, message_lang, reply_lang
from bot.conversation.typography import full_width
from bot.orders.model import Item, Order
from intents.order_items import match_items
from intents.talk import _load


@pytest.mark.parametrize(("typed", "shown"), [
    ('订单 1(台灯)已发货,回复"物流"看轨迹!', "订单 1（台灯）已发货，回复“物流”看轨迹！"),
    ("预计今天 15:00 送达,金额 1,299.00 元", "预计今天 15:00 送达，金额 1,299.00 元"),
    ("完整轨迹:http://x.invalid/track/a?b=1,c", "完整轨迹：http://x.invalid/track/a?b=1,c"),
    ("请回复 1-5 之间的数字。", "请回复 1-5 之间的数字。"),
    ("Order 1 (lamp) shipped, thanks!", "Order 1 (lamp) shipped, thanks!"),
    ("收到~ 好的", "收到～好的"),
])
def test_chinese_typography_only_beside_chinese(typed, shown):
    assert full_width(typed) == shown


@pytest.mark.parametrize(("text", "lang"), [
    ("我的订单呢", "zh-CN"), ("where is my parcel", "en"), ("hi", None), ("OK", None),
    ("SF1234567890", None), ("👍", None), ("thanks a lot", "en"),
])
def test_the_language_a_message_is_written_in(text, lang):
    assert message_lang(text) == lang


def test_an_explicit_choice_holds_only_for_a_while():
    chose_en = StoredLang("en", "user", 1000.0)
    assert reply_lang(chose_en, "你好", 1000 + 60, 1800, "zh-CN") == "en"
    assert reply_lang(chose_en, "你好", 1000 + 1801, 1800, "zh-CN") == "zh-CN"
    profile_en = StoredLang("en", "wechat", 0.0)          # WeChat's profile: only a fallback
    assert reply_lang(profile_en, "你好", 5000, 1800, "zh-CN") == "zh-CN"
    assert reply_lang(profile_en, "12345678", 5000, 1800, "zh-CN") == "en"


def _order(order_id: str, *names: str, category: str = "general") -> Order:
    return Order(order_id=order_id, status="shipped",
                 items=tuple(Item(n, 1, category) for n in names))


@pytest.fixture
def words():
    from bot.platform.config import ROOT_DIR

    return _load(ROOT_DIR / "intents" / "conversation_words.yaml")


@pytest.mark.parametrize(("message", "expected"), [
    ("保温杯好了吗", ["1"]),          # part of a name
    ("跑鞋到了吗", ["2"]),            # characters in order
    ("鞋子呢", ["2"]),                # a kind word
    ("我的包呢", ["3"]),              # 手袋 is a bag; "抽纸 24 包" is not
    ("水果呢", ["4"]),                # a kind by its words
    ("生鲜呢", ["4"]),                # a vocabulary class by its own name
    ("电饭煲呢", []),                 # a product no order has, though 台灯 is also 电器
    ("雨靴到了没", ["7"]),            # a word jieba does not know, cut into characters
])
def test_goods_name_orders(words, message, expected):
    orders = [_order("1", "定制刻字保温杯"), _order("2", "跑步鞋"),
              _order("3", "经典款皮革手袋", "抽纸 24 包"), _order("4", "阳光玫瑰葡萄 2kg"),
              _order("5", "护眼台灯")]
    orders[2] = Order(order_id="3", status="shipped", items=(Item("经典款皮革手袋"),))
    orders.append(_order("6", "抽纸 24 包"))
    orders.append(_order("7", "儿童雨靴 28码"))
    found = match_items(words, message, orders)
    assert [o.order_id for o in found.orders] == expected
    if not expected:
        assert found.named
