"""Asking where an order is twice within a day brings the offer "有新进展时提醒您?"; a yes
follows that order like "这个订单有变化提醒我"."""

from __future__ import annotations

from bot.pushes.follows import FollowStore
from bot.pushes.preferences import CONSENT_GIVEN, CONSENT_REFUSED
from tests.fixtures.orders import event, point

ALICE = "oAlice000000000000000000001"
OFFER = "有新进展时提醒您"


def shipped(order_id: str = "202611240001") -> dict:
    return event(order_id, "shipped", hours=-2, openid=ALICE, phone="13812345678",
                 carrier="SF", tracking_no="SF1402938475610",
                 tracking=[point(-20, "云南昆明", "顺丰已揽收")])


def test_second_ask_within_a_day_offers_and_yes_follows(orders, order_chat, seeded_app):
    orders.apply_payload(shipped())
    first = order_chat.text(ALICE, "订单 202611240001 到哪了")
    assert "202611240001" in first and OFFER not in first
    second = order_chat.text(ALICE, "202611240001 到哪了")
    assert OFFER in second
    done = order_chat.text(ALICE, "好")
    assert "202611240001" in done and "提醒" in done
    services = seeded_app.extensions["bot"]
    assert FollowStore(services.redis).follows(ALICE, "202611240001")
    assert services.prefs.get(ALICE).consent == CONSENT_GIVEN
    # Followed now: no offer again.
    assert OFFER not in order_chat.text(ALICE, "202611240001 到哪了")
    # Each message's time was kept for the best hour.
    assert len(services.redis.lrange(f"user:{ALICE}:seen", 0, -1)) == 4


def test_no_declines_and_nothing_is_followed(orders, order_chat, seeded_app):
    orders.apply_payload(shipped())
    order_chat.text(ALICE, "订单 202611240001 到哪了")
    assert OFFER in order_chat.text(ALICE, "订单 202611240001 怎么样了")
    assert "不打扰" in order_chat.text(ALICE, "不用了")
    assert not FollowStore(seeded_app.extensions["bot"].redis).follows(ALICE, "202611240001")
    # Asked once more the same day: offered once only.
    assert OFFER not in order_chat.text(ALICE, "202611240001 到哪了")


def test_a_day_apart_is_no_offer(orders, order_chat, clock):
    orders.apply_payload(shipped())
    order_chat.text(ALICE, "订单 202611240001 到哪了")
    clock.advance(86_400 + 60)
    assert OFFER not in order_chat.text(ALICE, "订单 202611240001 到哪了")
    # That ask started a new day: the next one within it brings the offer.
    clock.advance(3600)
    assert OFFER in order_chat.text(ALICE, "订单 202611240001 到哪了")


def test_no_offer_to_a_user_who_turned_notifications_off(orders, order_chat, seeded_app):
    seeded_app.extensions["bot"].prefs.set(ALICE, notify=False, consent=CONSENT_REFUSED)
    orders.apply_payload(shipped())
    order_chat.text(ALICE, "订单 202611240001 到哪了")
    assert OFFER not in order_chat.text(ALICE, "订单 202611240001 到哪了")


def test_another_question_after_the_offer_is_answered_as_itself(orders, order_chat):
    orders.apply_payload(shipped())
    order_chat.text(ALICE, "订单 202611240001 到哪了")
    assert OFFER in order_chat.text(ALICE, "202611240001 到哪了")
    answer = order_chat.text(ALICE, "怎么退货")
    assert "退" in answer and "提醒" not in answer
