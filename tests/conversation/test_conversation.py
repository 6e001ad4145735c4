"""Understanding customers end to end: signed messages through the real callback and Redis."""

from __future__ import annotations

import time

import pytest

from bot.understanding.intent_store import IntentStore
from tests.conftest import simulator_for
from tests.fixtures.wechat_api import wait_for

USER = "oConversation000000000000001"


@pytest.fixture
def chat(seeded_app, clock):
    return simulator_for(seeded_app, clock)


def test_greeting_thanks_and_bye(chat):
    assert "您好" in chat.text(USER, "你好")
    assert "不客气" in chat.text(USER, "谢谢你")
    assert "再见" in chat.text(USER, "拜拜")


def test_faq_answer_comes_from_the_merchant_text(chat):
    assert "申请售后" in chat.text(USER, "我想退货怎么弄")


def test_handoff_in_service_hours_transfers(chat):
    answer = chat.send_text(USER, "转人工")
    assert answer.status == 200
    # The passive reply is WeChat's transfer message, not text.
    assert answer.text is None and answer.body


def test_handoff_in_service_hours_is_transfer_xml(seeded_app, clock):
    plain = simulator_for(seeded_app, clock, encrypted=False)
    answer = plain.send_text(USER, "我要找人工客服")
    assert b"transfer_customer_service" in answer.body


def test_handoff_outside_hours_gives_hours_and_keeps_request(seeded_app, clock, r):
    clock.advance(12 * 3600)  # 22:00 Shanghai
    chat = simulator_for(seeded_app, clock)
    text = chat.text(USER, "转人工")
    assert "09:00-21:00" in text
    assert r.llen("handoff:requests") == 1


def test_push_settings_by_chat(chat, seeded_app):
    prefs = seeded_app.extensions["bot"].prefs
    assert "已关闭物流推送" in chat.text(USER, "关闭物流推送")
    assert prefs.get(USER).logistics is False and prefs.get(USER).notify is True
    reply = chat.text(USER, "只要重要通知")
    assert prefs.get(USER).level == "important"
    # In-transit updates are not important ones, so the summary does not offer them.
    assert "只接收重要订单通知" in reply and "物流进度" not in reply
    current = chat.text(USER, "通知设置")
    assert current.count("当前") == 1 and "只接收重要订单通知" in current
    chat.text(USER, "关闭所有通知")
    assert prefs.get(USER).notify is False
    reply = chat.text(USER, "重新开启通知")
    assert prefs.get(USER).notify is True and "开启" in reply


@pytest.mark.parametrize("answer, consent, notify", [
    ("好的", "given", True), ("嗯嗯", "given", True), ("OK!", "given", True),
    ("不用了", "refused", False), ("不需要", "refused", False),
    ("只要重要通知", "given", True),
])
def test_welcome_asks_for_consent_and_the_next_message_answers(
        chat, seeded_app, answer, consent, notify):
    prefs = seeded_app.extensions["bot"].prefs
    welcome = chat.event(USER, "subscribe").text
    assert "通知您吗" in welcome
    assert prefs.get(USER).consent == "asked" and not prefs.get(USER).may_push
    chat.text(USER, answer)
    assert prefs.get(USER).consent == consent
    assert prefs.get(USER).may_push is notify


def test_consent_is_only_asked_once_and_a_bare_yes_means_nothing_later(chat, seeded_app,
                                                                       clock):
    prefs = seeded_app.extensions["bot"].prefs
    chat.event(USER, "subscribe")
    assert "通知您吗" not in chat.text(USER, "我的订单到哪了")  # moved on: no answer given
    assert prefs.get(USER).consent == "asked"
    chat.text(USER, "好的")  # not after the question any more: not consent
    assert prefs.get(USER).consent == "asked"
    chat.text(USER, "开启通知")
    assert prefs.get(USER).may_push
    chat.event(USER, "unsubscribe")
    clock.advance(60)
    again = chat.event(USER, "subscribe").text
    # A returning follower keeps the answer they gave, and is told what it is.
    assert "欢迎回来" in again and "接收全部订单通知" in again
    assert prefs.get(USER).consent == "given"


def test_another_question_after_the_welcome_is_not_taken_as_a_no(chat, seeded_app):
    prefs = seeded_app.extensions["bot"].prefs
    chat.event(USER, "subscribe")
    reply = chat.text(USER, "我要取消订单怎么弄")
    assert "通知" not in reply and prefs.get(USER).consent == "asked"


def test_an_unclear_answer_to_the_consent_question_guesses_neither_way(chat, seeded_app):
    prefs = seeded_app.extensions["bot"].prefs
    chat.event(USER, "subscribe")
    reply = chat.text(USER, "嗯?这是什么号")
    assert "开启通知" in reply and prefs.get(USER).consent == "asked"


def test_logistics_pushes_back_on_by_chat(chat, seeded_app):
    prefs = seeded_app.extensions["bot"].prefs
    chat.text(USER, "关闭物流推送")
    assert prefs.get(USER).logistics is False
    reply = chat.text(USER, "物流推送还是打开吧")
    assert "已开启物流推送" in reply
    assert prefs.get(USER).logistics is True and prefs.get(USER).notify is True


def test_unmatched_is_kept_with_candidates_and_grouped(chat, seeded_app, clock):
    services = seeded_app.extensions["bot"]
    fallback = chat.text(USER, "会员日是哪天")
    assert "转人工" in fallback
    chat.text("oOther", "会员日是哪天啊")
    groups = services.unmatched.groups()
    assert len(groups) == 1 and groups[0]["count"] == 2
    assert {s["openid"] for s in groups[0]["samples"]} == {USER, "oOther"}
    # What the matcher weighed, kept for staff: [[id, score], ...], best first, all too low.
    expected = [[intent, score] for intent, score in
                services.intents.matcher().match("会员日是哪天").candidates]
    first = next(s for s in groups[0]["samples"] if s["openid"] == USER)
    assert first["candidates"] == expected and expected
    assert first["text"] == "会员日是哪天" and first["at"] == int(clock.now())
    for intent, score in first["candidates"]:
        assert intent in services.intents.matcher().intents
        assert isinstance(score, float) and 0 < score < 50


@pytest.mark.parametrize("cancel", ["算了", "取消"])
def test_cancel_drops_the_question_for_an_order_number(chat, seeded_app, cancel):
    services = seeded_app.extensions["bot"]
    assert "请发订单号" in chat.text(USER, "查订单")
    assert services.dialogue.load(USER).pending == "order_status"
    assert "已取消" in chat.text(USER, cancel)
    assert services.dialogue.load(USER).pending is None
    # Nothing is pending any more: a second cancel has nothing to cancel.
    assert "已取消" not in chat.text(USER, cancel)


def test_moving_on_from_the_order_number_question(chat, seeded_app):
    """A clear question about something else is that question, however the matcher scores
    it, as long as it carries nothing that could be the order number."""
    services = seeded_app.extensions["bot"]
    for question, intent in [("我的快递怎么还没到啊", "logistics"), ("运费怎么算", None)]:
        assert "请发订单号" in chat.text(USER, "查订单")
        matched = services.intents.matcher().match(question)
        assert matched.outcome == "matched" and matched.intent != "order_status"
        answer = chat.text(USER, question)
        assert "没有看到订单号" not in answer
        if intent == "logistics":
            assert "快递单号" in answer     # the logistics question, asked afresh
            assert services.dialogue.load(USER).pending == "logistics"
        else:
            assert "满99元包邮" in answer
            assert services.dialogue.load(USER).pending is None


def test_a_number_still_answers_the_question(chat, seeded_app):
    services = seeded_app.extensions["bot"]
    chat.text(USER, "查订单")
    answer = chat.text(USER, "物流单号是 20261123008812")
    assert "请发订单号" not in answer and "没有看到订单号" not in answer
    assert services.dialogue.load(USER).pending is None


def test_language_switch_changes_templates(chat):
    chat.text(USER, "English")
    assert "Hello" in chat.text(USER, "hi")
    chat.text(USER, "中文")
    assert "您好" in chat.text(USER, "hi")


def test_language_comes_from_wechat_user_info_unless_the_user_chose(
    make_app, clock, fake_wechat, worker
):
    app = make_app(wechat_api_base_url=fake_wechat.url)
    app.extensions["bot"].intents.seed_defaults()
    worker(app)
    chat = simulator_for(app, clock)
    fake_wechat.set_user(USER, language="en", nickname="Amy")
    assert "您好" in chat.text(USER, "hi")  # unknown yet: the default language
    users = app.extensions["bot"].users
    assert wait_for(lambda: users.get(USER).get("lang") == "en")
    assert "Hello" in chat.text(USER, "hi")
    assert len(fake_wechat.calls("user/info")) == 1  # asked once, not on every message
    chat.text(USER, "中文")
    assert users.get(USER)["lang_source"] == "user"
    assert "您好" in chat.text(USER, "hi")


def test_pending_question_expires_with_the_dialogue_ttl(make_app, r):
    app = make_app(dialogue_ttl=60)
    app.extensions["bot"].intents.seed_defaults()
    state = app.extensions["bot"].dialogue.load(USER)
    state.expect("handoff", topic="refund")
    state.save()
    assert 0 < r.ttl(f"dlg:{USER}") <= 60
    r.delete(f"dlg:{USER}")  # what the TTL does after 60 s of silence
    assert app.extensions["bot"].dialogue.load(USER).pending is None


@pytest.fixture
def two_gift_card_faqs(seeded_app):
    seeded_app.extensions["bot"].intents.import_docs([
        {"id": "faq_a", "question": "礼品卡怎么用", "answer": "答案A",
         "examples": ["how do i use a gift card"]},
        {"id": "faq_b", "question": "礼品卡怎么买", "answer": "答案B"},
    ])
    time.sleep(0.6)


def test_the_second_option_answers_a_clarification(chat, two_gift_card_faqs):
    ask = chat.text(USER, "礼品卡")
    second = "答案B" if ask.index("礼品卡怎么用") < ask.index("礼品卡怎么买") else "答案A"
    assert chat.text(USER, "2") == second


def test_cancel_drops_a_clarification(chat, seeded_app, two_gift_card_faqs):
    assert "1." in chat.text(USER, "礼品卡")
    assert "已取消" in chat.text(USER, "取消")
    assert seeded_app.extensions["bot"].dialogue.load(USER).pending is None
    assert chat.text(USER, "1") not in ("答案A", "答案B")


def test_an_english_clarification_shows_english_questions(chat, seeded_app):
    services = seeded_app.extensions["bot"]
    # A merchant's FAQ written just like the built-in logistics intent: too close to pick.
    logistics = services.intents.get("logistics")
    services.intents.import_docs([{
        "id": "faq_track", "question": logistics["question"], "answer": "物流请看订单详情",
        "examples": logistics["examples"], "keywords": logistics["keywords"]}])
    time.sleep(0.6)
    assert services.intents.matcher().match("物流到哪了").outcome == "ambiguous"
    chat.text(USER, "English")
    ask = chat.text(USER, "物流到哪了")
    assert ask.startswith("Did you mean")
    # The built-in's English question; the FAQ has none, so its first English example.
    first_english = next(e for e in logistics["examples"] if e.isascii())
    assert "Track my parcel" in ask and first_english in ask
    assert not any("\u4e00" <= c <= "\u9fff" for c in ask)


def test_ambiguous_query_asks_and_number_answers(chat, seeded_app):
    services = seeded_app.extensions["bot"]
    # Two FAQs that both fit "礼品卡" equally well.
    services.intents.import_docs([
        {"id": "faq_a", "question": "礼品卡怎么用", "answer": "答案A"},
        {"id": "faq_b", "question": "礼品卡怎么买", "answer": "答案B"},
    ])
    time.sleep(0.6)
    ask = chat.text(USER, "礼品卡")
    assert "1." in ask and "2." in ask
    assert "礼品卡怎么用" in ask and "礼品卡怎么买" in ask
    first = "答案A" if ask.index("礼品卡怎么用") < ask.index("礼品卡怎么买") else "答案B"
    assert chat.text(USER, "1") == first
    assert chat.text(USER, "1") != first  # the clarification was used up


def test_merchant_edit_reaches_another_worker_within_a_second(make_app, clock, r):
    worker_a = make_app()
    worker_b = make_app()  # a second process's view: its own IntentStore and matcher cache
    worker_a.extensions["bot"].intents.seed_defaults()
    chat_b = simulator_for(worker_b, clock)
    before = chat_b.text(USER, "你们支持花呗吗")
    worker_a.extensions["bot"].intents.upsert({
        "id": "faq_huabei", "question": "支持花呗吗", "examples": ["能用花呗吗", "花呗分期"],
        "answer": "支持花呗分期,结算时选择即可。",
    })
    time.sleep(1.0)
    after = chat_b.text(USER, "你们支持花呗吗")
    # Chinese replies are set in Chinese typography, whatever punctuation the merchant typed.
    assert after == "支持花呗分期，结算时选择即可。" and before != after


def test_store_version_moves_on_every_edit(r, tmp_path):
    from pathlib import Path

    store = IntentStore(r, Path(__file__).resolve().parents[2] / "intents")
    v0 = store.version()
    store.upsert({"id": "faq_x", "question": "q", "answer": "a"})
    store.add_example("faq_x", "另一种问法")
    assert store.version() == v0 + 2
    assert store.get("faq_x")["examples"] == ["另一种问法"]
    assert store.delete("faq_x") and store.version() == v0 + 3
