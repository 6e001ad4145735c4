"""Channels and WeChat's error codes, against the fake WeChat API: 客服消息 inside the 48 h
window and its quota, template messages, one-time subscribe notices, retries, stops, quotas,
token refresh, receipts."""

from __future__ import annotations

import pytest
import yaml

from bot.pushes.delivery import RetryLater
from tests.conftest import simulator_for
from tests.fixtures.orders import event, point

KF, TEMPLATE, SUBSCRIBE = "message/custom/send", "message/template/send", \
    "message/subscribe/bizsend"


@pytest.fixture
def templates_file(tmp_path):
    spec = {
        "order_shipped": {
            "template_id": "TPL_SHIP", "url": "{link}",
            "data": {"first": "{fact}", "keyword1": "{order_id}", "keyword2": "{expected}",
                     "remark": "{next}"},
            "subscribe": {"template_id": "SUB_SHIP",
                          "data": {"character_string1": "{order_id}", "thing2": "{item}"}},
        },
        "order_delivered": {"subscribe": {"template_id": "SUB_DONE",
                                          "data": {"thing1": "{fact}"}}},
    }
    path = tmp_path / "push_templates.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return str(path)


def shipped(order_id: str, openid: str, hours: float = 0.0) -> dict:
    return event(order_id, "shipped", hours=hours, openid=openid, carrier="SF",
                 tracking_no=f"SF{order_id}", eta="2026-11-25T15:00:00+08:00",
                 items=[{"name": "超长名字的进口有机冷压初榨橄榄油礼盒装 5L", "quantity": 1}])


def event_xml(openid: str, event: str, inner: str, at: float) -> str:
    """A WeChat event as posted to the callback, with event-specific elements `inner`."""
    head = (f"<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{int(at)}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>")
    return head + inner + "</xml>"


def paths(env, openid):
    return [c["path"] for c in env.sent(openid)]


def test_outside_the_window_a_template_message_with_values_cut_to_20(push_env,
                                                                       templates_file):
    env = push_env(push_templates=templates_file)
    env.user("oT", window=False)
    env.flow(shipped("700001", "oT"))
    (call,) = env.sent("oT")
    assert call["path"] == TEMPLATE
    body = call["body"]
    assert body["template_id"] == "TPL_SHIP" and "/track/" in body["url"]
    assert body["client_msg_id"]
    values = [v["value"] for v in body["data"].values()]
    assert all(len(v) <= 20 for v in values)
    assert body["data"]["first"]["value"].endswith("…")
    assert body["data"]["keyword1"]["value"] == "700001"
    assert env.log("700001")[-1]["channel"] == "template"


def test_a_kind_without_template_or_grant_fails_with_no_channel(push_env, templates_file):
    env = push_env(push_templates=templates_file)
    env.user("oN", window=False)
    env.flow(event("700002", "paid", hours=0, openid="oN"))
    assert env.sent("oN") == []
    last = env.log("700002")[-1]
    assert last["status"] == "failed" and last["code"] == "no_channel"
    assert "outside the 48 h window" in last["reason"]


def test_kf_quota_per_window_then_template(push_env, templates_file):
    env = push_env(push_templates=templates_file, push_kf_quota=2, push_merge_delay=0.0)
    env.user("oK")
    for n in range(3):
        env.flow(shipped(f"70001{n}", "oK", hours=-1 + n * 0.1))
    assert paths(env, "oK") == [KF, KF, TEMPLATE]
    # A new message from the user opens a new window and quota.
    env.services.users.seen("oK", env.clock.now() + 1)
    env.clock.advance(2)
    env.flow(shipped("700019", "oK"))
    assert paths(env, "oK")[-1] == KF


@pytest.mark.parametrize("code", [45015, 45047])
def test_window_errors_move_to_the_next_channel(push_env, templates_file, code):
    env = push_env(push_templates=templates_file)
    env.user("oW")
    env.fake.inject(KF, errcode=code)
    env.flow(shipped("700020", "oW"))
    assert paths(env, "oW") == [TEMPLATE]
    assert env.log("700020")[-1]["channel"] == "template"


def test_43004_stops_wechat_for_the_user_until_they_follow_again(push_env, templates_file):
    env = push_env(push_templates=templates_file)
    env.user("oS")
    env.fake.inject(KF, errcode=43004)
    env.flow(shipped("700030", "oS", hours=-1))
    assert env.sent("oS") == []
    assert env.log("700030")[-1]["status"] == "failed"
    assert env.log("700030")[-1]["code"] == "43004"
    env.flow(event("700030", "delivered", hours=0, openid="oS"))
    calls_before = len(env.fake.calls(openid="oS"))
    assert env.log("700030")[-1]["status"] == "failed"      # not even tried
    assert "stopped" in env.log("700030")[-1]["reason"]
    assert len(env.fake.calls(openid="oS")) == calls_before
    env.clock.advance(60)
    env.services.users.subscribed("oS", env.clock.now())      # follows again
    env.flow(event("700031", "delivered", hours=0, openid="oS"))
    assert paths(env, "oS") == [KF]


def test_43101_stops_the_subscribe_channel_and_spends_the_grant(push_env, templates_file):
    env = push_env(push_templates=templates_file)
    env.user("oR", window=False)
    env.pushes.grants.grant("oR", "SUB_DONE")
    env.fake.inject(SUBSCRIBE, errcode=43101)
    env.flow(event("700040", "delivered", hours=-1, openid="oR"))
    assert env.log("700040")[-1]["code"] == "43101"
    assert env.pushes.grants.available("oR", "SUB_DONE") == 0
    env.pushes.grants.grant("oR", "SUB_DONE")
    env.flow(event("700041", "delivered", hours=0, openid="oR"))
    assert env.sent("oR") == []                        # the channel stays stopped


def test_subscribe_grant_from_the_popup_event_is_spent_on_use(push_env, templates_file, clock):
    env = push_env(push_templates=templates_file)
    env.user("oG", window=False)
    sim = simulator_for(env.app, clock)
    xml = event_xml("oG", "subscribe_msg_popup_event", (
        "<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[SUB_DONE]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>"
        "<PopupScene>2</PopupScene></List></SubscribeMsgPopupEvent>"), clock.now())
    answer = sim.post(xml)
    assert answer.status == 200 and not answer.text
    assert env.pushes.grants.available("oG", "SUB_DONE") == 1
    env.flow(event("700050", "delivered", hours=-1, openid="oG"))
    env.flow(event("700051", "delivered", hours=0, openid="oG"))
    assert paths(env, "oG") == [SUBSCRIBE]
    assert env.log("700051")[-1]["code"] == "no_channel"


def test_minus_one_and_network_errors_retry_with_backoff_then_send(push_env):
    env = push_env()
    env.user("oM1")
    env.fake.inject(KF, errcode=-1)
    env.fake.inject(KF, http_status=502)
    outcomes = env.flow(shipped("700060", "oM1"))
    assert outcomes.count("retry") == 2 and outcomes[-1] == "sent"
    assert len(env.sent("oM1")) == 1
    log = [(e["status"], e.get("code")) for e in env.log("700060")]
    assert log == [("queued", None), ("retrying", "-1"), ("retrying", "network"),
                   ("sent", None)]


def test_retries_give_up_after_max_attempts(push_env):
    env = push_env()
    env.user("oM2")
    env.fake.inject(KF, errcode=-1, times=20)
    env.post(shipped("700061", "oM2"))
    env.consume()
    pid = env.queued[0]
    outcomes = []
    for _ in range(10):
        try:
            outcomes.append(env.pushes.deliver(pid))
        except RetryLater:
            outcomes.append("retry")
    assert outcomes[:6] == ["retry"] * 5 + ["failed"]
    assert env.log("700061")[-1]["status"] == "failed"
    assert env.sent("oM2") == []


def test_45009_holds_until_the_daily_quota_resets(push_env, templates_file):
    # No quiet hours here: midnight would otherwise hold them again until the morning.
    env = push_env(push_templates=templates_file, quiet_hours="")
    env.user("oQ")
    env.fake.inject(KF, errcode=45009)
    env.fake.inject(TEMPLATE, errcode=45009)
    env.flow(shipped("700070", "oQ"))
    held = env.log("700070")[-1]
    assert held["status"] == "held" and held["reason"] == "quota"
    midnight = env.pushes.settings.next_midnight(env.clock.now())
    assert held["until"] == midnight
    env.flow(shipped("700071", "oQ"))               # others wait too, without a request
    assert env.log("700071")[-1]["status"] == "held"
    env.clock.t = midnight + 1
    env.run_jobs()
    assert len(env.sent("oQ")) == 1 and "2 个订单" in env.sent("oQ")[0]["body"]["text"][
        "content"]


def test_an_expired_token_is_refreshed_and_the_push_sent(push_env):
    env = push_env()
    env.user("oTok")
    env.flow(shipped("700080", "oTok", hours=-1))
    env.fake.expire_tokens()
    env.flow(event("700080", "delivered", hours=0, openid="oTok"))
    assert len(env.sent("oTok")) == 2
    assert len(env.fake.issued) == 2


def test_template_receipt_marks_the_push_delivered(push_env, templates_file, clock):
    env = push_env(push_templates=templates_file)
    env.user("oRc", window=False)
    env.flow(shipped("700090", "oRc"))
    msgid = env.log("700090")[-1]["wechat_msgid"]
    sim = simulator_for(env.app, clock)
    xml = event_xml("oRc", "TEMPLATESENDJOBFINISH", (
        f"<MsgID>{msgid}</MsgID><Status><![CDATA[failed:user block]]></Status>"), clock.now())
    assert sim.post(xml).status == 200
    last = env.log("700090")[-1]
    assert last["status"] == "delivery_failed" and last["reason"] == "failed:user block"
    env.flow(event("700091", "paid", hours=0, openid="oRc"))
    assert env.pushes.grants.stopped("oRc", 0).get("template") == "user block"


def test_subscribe_sent_event_marks_delivered(push_env, templates_file, clock):
    env = push_env(push_templates=templates_file)
    env.user("oSs", window=False)
    env.pushes.grants.grant("oSs", "SUB_DONE")
    env.flow(event("700095", "delivered", hours=0, openid="oSs"))
    msgid = env.log("700095")[-1]["wechat_msgid"]
    xml = event_xml("oSs", "subscribe_msg_sent_event", (
        "<SubscribeMsgSentEvent><List><TemplateId><![CDATA[SUB_DONE]]></TemplateId>"
        f"<MsgID>{msgid}</MsgID><ErrorCode>0</ErrorCode>"
        "<ErrorStatus><![CDATA[success]]></ErrorStatus></List></SubscribeMsgSentEvent>"),
        clock.now())
    assert simulator_for(env.app, clock).post(xml).status == 200
    assert env.log("700095")[-1]["status"] == "delivered"


def test_tracking_points_only_do_not_reach_a_phone_only_order(push_env):
    env = push_env()
    env.flow(event("700099", "in_transit", hours=0, phone="13800002222",
                   tracking=[point(0, "杭州", "到达")]))
    assert env.log("700099") == []
