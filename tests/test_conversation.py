"""Understanding customers end to end: signed messages through the real callback and Redis."""

from __future__ import annotations

import time

import pytest

from bot.intent_store import IntentStore
from tests.conftest import simulator_for
from tests.fixtures.wechat_api import wait_for

USER = "oConversation000000000000001"


@pytest.fixture
def seeded_app(make_app):
    app = make_app()
    app.extensions["bot"].intents.seed_defaults()
    return app


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
    chat.text(USER, "只要重要通知")
    assert prefs.get(USER).level == "important"
    chat.text(USER, "关闭所有通知")
    assert prefs.get(USER).notify is False
    reply = chat.text(USER, "重新开启通知")
    assert prefs.get(USER).notify is True and "开启" in reply


def test_unmatched_is_kept_with_candidates_and_grouped(chat, seeded_app):
    fallback = chat.text(USER, "你们老板叫什么名字")
    assert "转人工" in fallback
    chat.text("oOther", "你们老板叫什么名字啊")
    groups = seeded_app.extensions["bot"].unmatched.groups()
    assert groups[0]["count"] == 2
    assert {s["openid"] for s in groups[0]["samples"]} == {USER, "oOther"}


def test_cancel_drops_a_pending_question(chat, seeded_app, r):
    services = seeded_app.extensions["bot"]
    state = services.dialogue.load(USER)
    state.expect("order_status")
    state.save()
    assert "已取消" in chat.text(USER, "算了")
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
    assert after == "支持花呗分期,结算时选择即可。" and before != after


def test_store_version_moves_on_every_edit(r, tmp_path):
    from pathlib import Path

    store = IntentStore(r, Path(__file__).resolve().parent.parent / "intents")
    v0 = store.version()
    store.upsert({"id": "faq_x", "question": "q", "answer": "a"})
    store.add_example("faq_x", "另一种问法")
    assert store.version() == v0 + 2
    assert store.get("faq_x")["examples"] == ["另一种问法"]
    assert store.delete("faq_x") and store.version() == v0 + 3
