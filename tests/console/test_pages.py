"""The console's pages through Flask's test client: inbox, FAQs, hand-offs, overview, CLI."""

from __future__ import annotations

import io
import json
import re
import time

import pytest

from tests.conftest import START, simulator_for
from tests.console.conftest import ADMIN, ConsoleClient
from tests.fixtures.orders import event
from tests.fixtures.wechat_api import wait_for

USER = "oConsoleCustomer0000000001"
ORDER_ID = "202611240007"


def order_on_its_way() -> dict:
    return event(ORDER_ID, "in_transit", openid=USER, phone="13812345678", carrier="SF",
                 tracking_no="SF1234567890123", items=[{"name": "保温杯", "quantity": 1}])
QUERY = "你们周末上班吗"


def only_group(app) -> dict:
    groups = app.extensions["bot"].unmatched.groups()
    assert len(groups) == 1
    return groups[0]


def test_inbox_lists_groups_busiest_first_with_samples_and_candidates(console_app, agent, clock):
    chat = simulator_for(console_app, clock)
    chat.text(USER, "蓝色的收音机")
    for text in (QUERY, QUERY + "?", QUERY):
        chat.text(USER, text)
    html = agent.get("/console/inbox").get_data(as_text=True)
    assert html.index(QUERY) < html.index("蓝色的收音机")
    assert ">3<" in html                       # the busier group's count
    assert "怎么换货" in html                    # a candidate shown by its question


def test_add_as_example_answers_the_same_query_right_after(console_app, agent, clock, make_app):
    chat = simulator_for(console_app, clock)
    fallback = chat.text(USER, QUERY)
    group = only_group(console_app)
    # Another worker, with its own matcher already built, must follow within a second.
    other = make_app()
    other_chat = simulator_for(other, clock)
    assert other_chat.text(USER + "2", "怎么退货")   # builds its matcher now
    agent.get("/console/inbox")
    resp = agent.post(f"/console/inbox/{group['id']}/example", {"intent": "faq_ship_time"})
    assert resp.status_code == 302
    assert console_app.extensions["bot"].unmatched.groups() == []
    assert QUERY in console_app.extensions["bot"].intents.get("faq_ship_time")["examples"]
    started = time.monotonic()
    assert wait_for(lambda: "48小时内发货" in (other_chat.text(USER + "2", QUERY) or ""), 1.5)
    assert time.monotonic() - started < 1.5
    assert "48小时内发货" in chat.text(USER, QUERY) and fallback != chat.text(USER, QUERY)
    entry = console_app.extensions["console"].audit.latest(1)[0]
    assert entry["who"] == "sam" and entry["detail"]["intent"] == "faq_ship_time"


def test_add_as_example_of_an_unknown_intent_changes_nothing(console_app, agent, clock):
    simulator_for(console_app, clock).text(USER, QUERY)
    group = only_group(console_app)
    agent.get("/console/inbox")
    agent.post(f"/console/inbox/{group['id']}/example", {"intent": "no_such_intent"})
    assert only_group(console_app)["id"] == group["id"]


def test_dismiss_makes_the_query_a_negative_and_empties_the_inbox(console_app, agent,
                                                                       clock, r):
    simulator_for(console_app, clock).text(USER, "蓝色的收音机")
    group = only_group(console_app)
    agent.get("/console/inbox")
    agent.post(f"/console/inbox/{group['id']}/dismiss")
    assert console_app.extensions["bot"].unmatched.groups() == []
    assert "蓝色的收音机" in console_app.extensions["bot"].intents.negatives()
    # A second click (another agent, same group) is a clear 404, not a crash.
    assert agent.post(f"/console/inbox/{group['id']}/dismiss").status_code == 404


def faq_form(**values) -> dict:
    form = {"creating": "1", "id": "faq_gift", "question": "可以礼品包装吗",
            "answer": "可以,下单时备注“礼品包装”即可,免费。",
            "examples": "能帮我包装成礼物吗\n送人的能包好看点吗",
            "keywords": "", "terms": "", "threshold": "", "question_en": "", "group": ""}
    form.update(values)
    return form


def test_new_faq_from_an_unmatched_group_then_answered(console_app, admin, clock):
    chat = simulator_for(console_app, clock)
    chat.text(USER, "能帮我包装成礼物吗")
    group = only_group(console_app)
    page = admin.get(f"/console/faqs/new?group={group['id']}").get_data(as_text=True)
    assert "能帮我包装成礼物吗" in page
    resp = admin.post("/console/faqs/save", faq_form(group=group["id"], action="save"))
    assert resp.status_code == 302
    assert console_app.extensions["bot"].unmatched.groups() == []
    time.sleep(0.6)   # this process's matcher checks for edits every RELOAD_CHECK (0.5 s)
    assert "礼品包装" in chat.text(USER, "能帮我包装成礼物吗")


def test_try_shows_the_unsaved_edit_and_saves_nothing(console_app, admin):
    admin.get("/console/faqs/new")
    resp = admin.post("/console/faqs/save", faq_form(action="try",
                                                     try_question="能帮我包装成礼物吗"))
    html = resp.get_data(as_text=True)
    with_edit, saved = html.split("用这次修改")[1].split("用已保存的")
    assert "能回答" in with_edit and "faq_gift" in with_edit
    assert "回答不了" in saved
    # What the answer had to reach, beside its score (the bar moves with the message).
    score, needed = re.search(r"分数 ([\d.]+) · 需达到 ([\d.]+)", with_edit).groups()
    assert float(score) >= float(needed) > 0
    assert console_app.extensions["bot"].intents.get("faq_gift") is None
    # The form keeps the unsaved values.
    assert "送人的能包好看点吗" in html


def test_try_warns_when_a_new_example_is_closer_to_another_intent(console_app, admin):
    admin.get("/console/faqs/faq_invoice")
    doc = console_app.extensions["bot"].intents.get("faq_invoice")
    form = faq_form(creating="0", id="faq_invoice", question=doc["question"],
                    answer=doc["answer"],
                    examples="\n".join([*doc["examples"], "退款多久到账"]),
                    keywords=", ".join(doc.get("keywords", [])), action="try")
    html = admin.post("/console/faqs/save", form).get_data(as_text=True)
    assert "退款多久到账" in html and "faq_refund" in html and 'class="flash warn"' in html
    clean = admin.post("/console/faqs/save", {**form, "examples": "\n".join(
        [*doc["examples"], "开个发票给我"])}).get_data(as_text=True)
    assert "新说法没有和其他问题冲突" in clean


def test_trial_leaves_the_live_matcher_and_segmenter_alone(console_app, admin, clock):
    chat = simulator_for(console_app, clock)
    before = chat.text(USER, "人工泪液怎么用")
    admin.get("/console/faqs/new")
    admin.post("/console/faqs/save", faq_form(terms="人工泪液", examples="人工泪液一天滴几次",
                                              action="try", try_question="人工泪液怎么用"))
    assert chat.text(USER, "人工泪液怎么用") == before


def test_faq_edit_validation_delete_and_search(console_app, admin):
    admin.get("/console/faqs/new")
    bad = admin.post("/console/faqs/save", faq_form(answer="", action="save"))
    assert bad.status_code == 400 and "answer" in bad.get_data(as_text=True)
    clash = admin.post("/console/faqs/save", faq_form(id="handoff", action="save"))
    assert clash.status_code == 400 and "built-in" in clash.get_data(as_text=True)
    assert admin.post("/console/faqs/save", faq_form(action="save")).status_code == 302
    again = admin.post("/console/faqs/save", faq_form(action="save"))
    assert again.status_code == 400     # creating an id that exists
    assert "faq_gift" in admin.get("/console/faqs?q=礼品").get_data(as_text=True)
    assert "faq_gift" not in admin.get("/console/faqs?q=发票").get_data(as_text=True)
    admin.post("/console/faqs/save", faq_form(creating="0", answer="改了", action="save"))
    assert console_app.extensions["bot"].intents.get("faq_gift")["answer"] == "改了"
    assert admin.post("/console/faqs/faq_gift/delete").status_code == 302
    assert console_app.extensions["bot"].intents.get("faq_gift") is None
    assert admin.post("/console/faqs/handoff/delete").status_code == 404
    actions = [e["action"] for e in console_app.extensions["console"].audit.latest(10)]
    assert actions[:3] == ["faq_deleted", "faq_updated", "faq_created"]


def test_export_then_import_round_trip_and_a_bad_file_changes_nothing(console_app, admin):
    store = console_app.extensions["bot"].intents
    exported = admin.get("/console/faqs/export?fmt=json")
    assert exported.headers["Content-Disposition"].endswith("faq.json")
    docs = json.loads(exported.data)
    assert {d["id"] for d in docs} == {d["id"] for d in store.export()}
    docs[0]["answer"] = "新的答案"
    upload = {"file": (io.BytesIO(json.dumps(docs, ensure_ascii=False).encode()), "faq.json")}
    admin.get("/console/faqs")
    assert admin.post("/console/faqs/import", upload,
                      content_type="multipart/form-data").status_code == 302
    assert store.get(docs[0]["id"])["answer"] == "新的答案"
    before = store.export()
    broken = b"- id: faq_a\n  question: q\n  answer: a\n- id: faq_b\n  answer: no question\n"
    resp = admin.post("/console/faqs/import", {"file": (io.BytesIO(broken), "bad.yaml")},
                      content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "bad.yaml, line 4" in resp.get_data(as_text=True)
    assert store.export() == before


@pytest.fixture
def shop(make_app, fake_wechat):
    app = make_app(wechat_api_base_url=fake_wechat.url)
    app.extensions["bot"].intents.seed_defaults()
    console = app.extensions["console"]
    console.accounts.add("boss", "admin", ADMIN[1], START)
    return app


def test_handoff_queue_reply_reaches_wechat_and_leaves_the_queue(shop, fake_wechat, clock):
    shop.extensions["bot"].orders.apply_payload(order_on_its_way())
    chat = simulator_for(shop, clock)
    chat.text(USER, "我的快递 13812345678 还没到")
    clock.advance(60)
    chat.text(USER, "转人工")
    admin = ConsoleClient(shop)
    admin.login(*ADMIN)
    queue = admin.get("/console/handoffs").get_data(as_text=True)
    assert USER in queue and "转人工" in queue
    page = admin.get(f"/console/conversations/{USER}").get_data(as_text=True)
    assert "138****5678" in page and "13812345678" not in page
    assert ORDER_ID in page and "保温杯" in page
    resp = admin.post(f"/console/conversations/{USER}/reply", {"text": "您好,我是客服小王"})
    assert resp.status_code == 302
    sent = fake_wechat.calls("message/custom/send", openid=USER)
    assert sent and sent[-1]["body"]["text"]["content"] == "您好,我是客服小王"
    assert USER not in admin.get("/console/handoffs").get_data(as_text=True)
    transcript = admin.get(f"/console/conversations/{USER}").get_data(as_text=True)
    assert "您好,我是客服小王" in transcript and "boss" in transcript


def test_reply_after_the_48_hour_window_is_refused_clearly(shop, fake_wechat, clock):
    chat = simulator_for(shop, clock)
    chat.text(USER, "转人工")
    clock.advance(48 * 3600 + 1)
    admin = ConsoleClient(shop)
    admin.login(*ADMIN)
    page = admin.get(f"/console/conversations/{USER}").get_data(as_text=True)
    assert "48 小时回复窗口已关闭" in page and 'name="text"' not in page
    admin.post(f"/console/conversations/{USER}/reply", {"text": "还在吗"})
    assert fake_wechat.calls("message/custom/send") == []
    assert USER in admin.get("/console/handoffs").get_data(as_text=True)


def test_wechat_saying_the_window_is_closed_is_shown(shop, fake_wechat, clock):
    simulator_for(shop, clock).text(USER, "转人工")
    fake_wechat.inject("message/custom/send", errcode=45015)
    admin = ConsoleClient(shop)
    admin.login(*ADMIN)
    resp = admin.post(f"/console/conversations/{USER}/reply", {"text": "在的"},
                      follow_redirects=True)
    assert "48 小时回复窗口已关闭" in resp.get_data(as_text=True)
    assert USER in admin.get("/console/handoffs").get_data(as_text=True)


def test_close_takes_a_customer_off_the_queue(console_app, agent, clock):
    simulator_for(console_app, clock).text(USER, "转人工")
    agent.get("/console/handoffs")
    agent.post(f"/console/conversations/{USER}/close")
    assert console_app.extensions["console"].handoffs.open_ids() == []


def test_overview_plots_the_daily_counts(console_app, admin, clock):
    chat = simulator_for(console_app, clock)
    console_app.extensions["bot"].orders.apply_payload(order_on_its_way())
    chat.text(USER, "你好")
    chat.text(USER, "我的订单到哪了")
    chat.text(USER, "蓝色的收音机")
    chat.text(USER, "转人工")
    stats = console_app.extensions["console"].stats.days(clock.now(), 30)
    today = stats[-1][1]
    assert today["messages"] == 4 and today["unmatched"] == 1 and today["handoffs"] == 1
    assert today["answered"] == 2 and today["wismo"] == 1 and today["in_transit"] == 1
    html = admin.get("/console/overview").get_data(as_text=True)
    assert html.count("<svg") == 5
    assert "<desc>机器人回答的比例: 50%</desc>" in html
    assert "100 个运输中订单" in html


def test_transcripts_expire_after_transcript_days(make_app, clock, r):
    app = make_app(transcript_days=2)
    simulator_for(app, clock).text(USER, "你好")
    assert 0 < r.ttl(f"chat:{USER}:turns") <= 2 * 86400


def test_cli_add_user_reads_the_password_from_stdin(r, console_app):
    from bot.cli.console import run
    from bot.cli.main import build_parser

    console = console_app.extensions["console"]
    args = build_parser().parse_args(["console", "add-user", "clerk", "--role", "agent"])
    assert run(args, io.StringIO("clerk-password-1\n"), console.accounts, console.audit) == 0
    assert console.accounts.verify("clerk", "clerk-password-1").role == "agent"
    short = build_parser().parse_args(["console", "add-user", "x", "--role", "agent"])
    assert run(short, io.StringIO("short\n"), console.accounts, console.audit) == 1
    assert console.accounts.get("x") is None


def test_builtin_intents_can_be_tried_but_not_edited(console_app, admin):
    admin.get("/console/faqs/handoff")
    html = admin.post("/console/faqs/save", {
        "creating": "0", "id": "handoff", "question": "changed", "answer": "x",
        "action": "try", "try_question": "我要找人工"}).get_data(as_text=True)
    assert "能回答" in html and "handoff" in html and 'value="save"' not in html
    assert console_app.extensions["bot"].intents.get("handoff")["question"] != "changed"


def test_an_import_larger_than_a_callback_body_is_accepted(console_app, admin):
    docs = [{"id": f"faq_bulk_{i}", "question": f"批量问题{i}", "answer": "答" * 200}
            for i in range(300)]
    data = json.dumps(docs, ensure_ascii=False).encode()
    assert len(data) > console_app.config["MAX_CONTENT_LENGTH"]
    admin.get("/console/faqs")
    resp = admin.post("/console/faqs/import", {"file": (io.BytesIO(data), "bulk.json")},
                      content_type="multipart/form-data")
    assert resp.status_code == 302
    assert console_app.extensions["bot"].intents.get("faq_bulk_299") is not None


def test_redis_down_gives_a_clear_page_not_a_crash(make_app):
    import redis

    app = make_app(redis_client=redis.Redis(port=1, decode_responses=True,
                                            socket_connect_timeout=0.2))
    c = ConsoleClient(app)
    assert c.get("/console/login").status_code == 200
    resp = c.post("/console/login", {"name": "boss", "password": "whatever-123"})
    assert resp.status_code == 503 and "Redis" in resp.get_data(as_text=True)


def test_trying_more_questions_against_the_same_edit(console_app, admin):
    from bot.console import trial

    admin.get("/console/faqs/new")
    form = faq_form(action="try", terms="礼品包装", try_question="能帮我包装成礼物吗")
    first = admin.post("/console/faqs/save", form).get_data(as_text=True)
    built = next(iter(trial._last.values()))[0]
    second = admin.post("/console/faqs/save", {**form, "try_question": "运费多少"}
                        ).get_data(as_text=True)
    assert next(iter(trial._last.values()))[0] is built      # no second build
    assert "faq_gift" in first.split("用这次修改")[1].split("用已保存的")[0]
    assert "faq_shipping_fee" in second.split("用这次修改")[1].split("用已保存的")[0]


def test_phone_numbers_are_masked_on_every_page(console_app, agent, clock):
    chat = simulator_for(console_app, clock)
    chat.text(USER, "蓝色的收音机 13812345678")
    chat.text(USER, "转人工 我的手机 13912345678")
    for path in ("/console/inbox", "/console/handoffs", f"/console/conversations/{USER}"):
        html = agent.get(path).get_data(as_text=True)
        assert "13812345678" not in html and "13912345678" not in html, path
    assert "139****5678" in agent.get("/console/handoffs").get_data(as_text=True)


def test_push_pages_show_the_log_counts_and_export(console_app, admin, agent, clock):
    from bot.pushes.log import PushLog

    console_app.extensions["bot"].orders.apply_payload(order_on_its_way())
    log = PushLog(console_app.extensions["bot"].redis, "Asia/Shanghai")
    now = clock.now()
    log.record(ORDER_ID, push_id="p1", kind="order_in_transit", status="queued", at=now)
    log.record(ORDER_ID, push_id="p1", kind="order_in_transit", status="held", at=now,
               reason="quiet_hours", until=now + 3600)
    log.record(ORDER_ID, push_id="p1", kind="order_in_transit", status="sent", at=now + 3600,
               channel="kf")
    page = agent.get(f"/console/pushes/order/{ORDER_ID}").get_data(as_text=True)
    assert page.count("<tr>") == 4 and "免打扰时段" in page and "已发送" in page and "kf" in page
    assert "没有推送记录" in agent.get("/console/pushes/order/999999").get_data(as_text=True)
    overview = admin.get("/console/pushes?days=1").get_data(as_text=True)
    assert "PUSH_DAILY_CAP" in overview and "运输中" in overview
    export = admin.get("/console/pushes/export.csv").get_data(as_text=True).splitlines()
    assert export[0] == "day,kind,status,count"
    assert "2026-11-24,order_in_transit,sent,1" in export
    html = admin.get("/console/overview").get_data(as_text=True)
    assert "<desc>已发送: 1</desc>" in html and "<desc>已暂缓: 1</desc>" in html
