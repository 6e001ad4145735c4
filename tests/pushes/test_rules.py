"""The push rules, in-process on real Redis and the fake WeChat API with an injected clock:
rhythm, staleness, duplicates, preferences, consent, follows, quiet hours, caps, merging."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.pushes.delivery import RetryLater
from bot.pushes.preferences import CONSENT_ASKED, IMPORTANT
from tests.fixtures.orders import event, point

ETA = "2026-11-25T15:00:00+08:00"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def shipped(order_id: str, openid: str, hours: float = 0.0, **kw) -> dict:
    return event(order_id, "shipped", hours=hours, openid=openid, carrier="SF",
                 tracking_no=f"SF{order_id}", eta=ETA,
                 tracking=[point(hours, "昆明转运中心", "已揽收")], **kw)


def texts(env, openid):
    return [c["body"]["text"]["content"] for c in env.sent(openid)
            if c["path"] == "message/custom/send"]


def test_paid_and_shipped_go_at_once_with_the_three_elements(push_env):
    env = push_env()
    env.user("oA")
    assert env.flow(event("200001", "paid", hours=-0.1, openid="oA")) == ["sent"]
    assert env.flow(shipped("200001", "oA")) == ["sent"]
    paid, ship = texts(env, "oA")
    assert "200001" in paid and "已付款" in paid and "发货后" in paid
    # fact (carrier, waybill), expected time, next action (the tracking link)
    assert "顺丰 SF200001" in ship and "预计明天下午3点送达" in ship and "/track/" in ship
    assert env.statuses("200001") == [("order_paid", "queued"), ("order_paid", "sent"),
                                      ("order_shipped", "queued"), ("order_shipped", "sent")]
    entry = env.log("200001")[-1]
    assert entry["channel"] == "kf" and entry["at"] == env.clock.now()


def test_same_event_twice_redelivered_entry_and_job_twice_give_one_push(push_env, r):
    env = push_env()
    env.user("oB")
    body = shipped("200002", "oB")
    env.post(body)
    env.post(body)                          # the shop retries: a duplicate, no stream entry
    entries = r.xrange("orders:changes")
    assert len(entries) == 1
    env.consume()
    env.pushes.handle_change(entries[0][1])  # the stream entry handled again (redelivery)
    pid = env.queued[0]
    env.queued.append(pid)                  # the job enqueued twice
    env.run_jobs()
    assert env.pushes.deliver(pid) == "sent"   # and run once more afterwards
    assert len(env.sent("oB")) == 1


def test_never_in_transit_after_delivered(push_env):
    env = push_env()
    env.user("oC")
    env.flow(shipped("200003", "oC", hours=-3))
    env.clock.advance(3600)
    # In transit, then delivered before the in-transit job ran.
    env.post(event("200003", "in_transit", hours=-1, openid="oC",
                   tracking=[point(-1, "杭州转运中心", "到达")]))
    env.post(event("200003", "delivered", hours=0, openid="oC",
                   tracking=[point(0, "杭州西湖区", "本人签收")]))
    env.consume()
    env.run_jobs()
    # An older event arriving late changes nothing and pushes nothing.
    env.flow(event("200003", "in_transit", hours=-2, openid="oC",
                   tracking=[point(-2, "上海", "运输中")]))
    sent = texts(env, "oC")
    assert len(sent) == 2 and "已签收" in sent[1] and "运输中" not in sent[1]
    log = env.statuses("200003")
    assert ("order_in_transit", "suppressed") in log
    assert log[-1] == ("order_delivered", "sent")
    stale = [e for e in env.log("200003") if e["status"] == "suppressed"]
    assert stale[0]["reason"] == "stale"


def test_in_transit_at_most_one_per_interval_with_the_latest_point(push_env):
    env = push_env(push_transit_interval=4 * 3600)
    env.user("oD")
    env.flow(shipped("200004", "oD"))                     # counts as the last transit push
    env.clock.advance(3600)
    env.flow(event("200004", "in_transit", hours=1, openid="oD",
                   tracking=[point(1, "长沙转运中心", "到达")]))
    env.clock.advance(3600)
    env.flow(event("200004", "in_transit", hours=2, openid="oD",
                   tracking=[point(2, "武汉转运中心", "到达")]))
    assert len(env.sent("oD")) == 1                       # both held by the rhythm
    held = [e for e in env.log("200004") if e["status"] == "held"]
    assert {e["reason"] for e in held} == {"transit_interval"}
    assert held[0]["until"] == env.clock.now() - 2 * 3600 + 4 * 3600
    env.clock.advance(2 * 3600)                           # 4 h after the shipped push
    env.run_jobs()
    sent = texts(env, "oD")
    assert len(sent) == 2 and "武汉转运中心" in sent[1] and "长沙" not in sent[1]
    assert ("order_in_transit", "merged") in env.statuses("200004")
    # Nothing new happened (an event with no new point): nothing is pushed.
    env.clock.advance(5 * 3600)
    env.flow(event("200004", "in_transit", hours=9, openid="oD",
                   tracking=[point(2, "武汉转运中心", "到达")]))
    assert len(env.sent("oD")) == 2


def test_exception_says_reason_and_new_eta_once_per_problem(push_env):
    env = push_env()
    env.user("oE")
    env.flow(shipped("200005", "oE", hours=-2))
    problem = {"reason": "收件小区封闭", "new_eta": "2026-11-26T18:00:00+08:00"}
    env.flow(event("200005", "exception", hours=-1, openid="oE", exception=problem))
    env.flow(event("200005", "exception", hours=-0.5, openid="oE", exception=problem,
                   tracking=[point(-0.5, "杭州", "等待派送")]))
    sent = texts(env, "oE")
    assert len(sent) == 2
    assert "收件小区封闭" in sent[1] and "后天晚上6点" in sent[1] and "处理中" not in sent[1]
    env.flow(event("200005", "exception", hours=0, openid="oE",
                   exception={"reason": "暴雪停运", "new_eta": ""}))
    sent = texts(env, "oE")
    assert len(sent) == 3 and "暴雪停运" in sent[2] and "确认后通知您" in sent[2]


def test_preferences_decide(push_env):
    env = push_env()
    env.user("oImp", level=IMPORTANT)
    env.user("oNoLog", logistics=False)
    env.user("oOff", notify=False)
    env.user("oAsked", consent=CONSENT_ASKED)
    for n, openid in enumerate(("oImp", "oNoLog", "oOff", "oAsked")):
        order_id = f"30000{n}"
        env.flow(shipped(order_id, openid, hours=-5))
        env.clock.advance(5 * 3600)
        env.flow(event(order_id, "in_transit", hours=0, openid=openid,
                       tracking=[point(0, "杭州", "到达")]))
        env.clock.advance(-5 * 3600)
    kinds = {openid: [e for e in env.log(f"30000{n}") if e["status"] != "queued"]
             for n, openid in enumerate(("oImp", "oNoLog", "oOff", "oAsked"))}
    assert [(e["kind"], e["status"], e["reason"]) for e in kinds["oImp"]] == [
        ("order_shipped", "sent", ""), ("order_in_transit", "suppressed", "preference")]
    assert [e["status"] for e in kinds["oNoLog"]] == ["sent", "suppressed"]
    assert [(e["status"], e["reason"]) for e in kinds["oOff"]] == [
        ("suppressed", "preference"), ("suppressed", "preference")]
    assert {e["reason"] for e in kinds["oAsked"]} == {"consent"}
    assert env.sent("oOff") == [] and env.sent("oAsked") == []


def test_unfollowed_user_gets_nothing(push_env):
    env = push_env()
    env.user("oGone")
    env.services.users.unsubscribed("oGone", env.clock.now())
    env.flow(shipped("200006", "oGone"))
    assert env.sent("oGone") == []
    assert env.log("200006")[-1]["reason"] == "unfollowed"


def test_a_followed_order_gets_every_update(push_env):
    env = push_env()
    env.user("oF", level=IMPORTANT)
    env.pushes.follows.follow("oF", "200007")
    env.flow(shipped("200007", "oF"))
    for hour in (1, 2):
        env.clock.advance(3600)
        env.flow(event("200007", "in_transit", hours=hour, openid="oF",
                       tracking=[point(hour, f"站点{hour}", "到达")]))
    assert len(env.sent("oF")) == 3


def test_daily_cap_spares_payment_exceptions_and_delivery(push_env):
    env = push_env(push_daily_cap=2)
    env.user("oCap")
    for n in range(3):
        env.flow(shipped(f"40000{n}", "oCap", hours=-1 + n * 0.1))
    env.flow(event("400000", "delivered", hours=0, openid="oCap"))
    env.flow(event("400009", "paid", hours=0, openid="oCap"))
    shipped_outcomes = [[(e["status"], e["reason"]) for e in env.log(f"40000{n}")
                         if e["kind"] == "order_shipped" and e["status"] != "queued"]
                        for n in range(3)]
    assert shipped_outcomes == [[("sent", "")], [("sent", "")], [("suppressed", "cap")]]
    assert env.log("400002")[-1]["reason"] == "cap"
    assert env.log("400000")[-1]["status"] == "sent"      # delivery, beyond the cap
    assert env.log("400009")[-1]["status"] == "sent"      # payment, beyond the cap


def test_several_orders_changing_together_are_one_message(push_env):
    env = push_env()
    env.user("oM")
    for n in range(3):
        env.post(shipped(f"50000{n}", "oM"))
    env.consume()
    env.run_jobs()
    sent = texts(env, "oM")
    assert len(sent) == 1
    assert "3 个订单" in sent[0] and all(f"50000{n}" in sent[0] for n in range(3))
    for n in range(3):
        statuses = [e["status"] for e in env.log(f"50000{n}")]
        assert statuses == ["queued", "merged", "sent"]


def test_english_user_gets_english(push_env):
    env = push_env()
    env.user("oEn", lang="en")
    env.flow(shipped("200008", "oEn"))
    (text,) = texts(env, "oEn")
    assert text.startswith("Order 200008") and "has shipped" in text and "/track/" in text


def test_delivered_with_pickup_code_and_place(push_env):
    env = push_env()
    env.user("oP")
    env.flow(event("200009", "delivered", hours=0, openid="oP",
                   tracking=[point(0, "菜鸟驿站(文三路店)", "已签收,取件码 8-2-1024")]))
    (text,) = texts(env, "oP")
    assert "已放在菜鸟驿站（文三路店），取件码 8-2-1024" in text


def test_an_order_moved_to_another_customer_is_not_pushed_to_the_first(push_env):
    env = push_env()
    env.user("oX")
    env.user("oY")
    env.post(shipped("200010", "oX", hours=-1))
    env.post(event("200010", "in_transit", hours=0, openid="oY",
                   tracking=[point(0, "杭州", "到达")]))
    env.consume()
    env.run_jobs()
    assert env.sent("oX") == []
    first = [e for e in env.log("200010") if e["kind"] == "order_shipped"]
    assert [(e["status"], e["reason"]) for e in first] == [("queued", ""),
                                                            ("suppressed", "stale")]
    assert len(env.sent("oY")) == 1


def at_local(hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, 24, hour, minute, tzinfo=SHANGHAI).timestamp()


def test_quiet_hours_hold_then_release_the_latest_state(push_env):
    env = push_env(quiet_hours="22:00-08:00")
    env.user("oQ")
    env.clock.t = at_local(23)
    # Shipped late at night, then in transit: both held, released merged as the latest.
    env.flow(shipped("600001", "oQ", hours=13))
    env.clock.advance(1800)
    env.flow(event("600001", "in_transit", hours=13.5, openid="oQ",
                   tracking=[point(13.5, "杭州转运中心", "到达")]))
    assert env.sent("oQ") == []
    held = [e for e in env.log("600001") if e["status"] == "held"]
    release = datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI).timestamp()
    assert held and all(e["until"] == release and e["reason"] == "quiet_hours" for e in held)
    # The user's own payment, just now, is not held.
    env.flow(event("600002", "paid", hours=13.5, openid="oQ"))
    assert len(env.sent("oQ")) == 1
    env.clock.t = release + 1
    env.run_jobs()
    sent = texts(env, "oQ")
    assert len(sent) == 2 and "杭州转运中心" in sent[1]
    assert [s for _, s in env.statuses("600001")].count("sent") == 1


def test_a_payment_replayed_hours_late_is_held_at_night(push_env):
    env = push_env(quiet_hours="22:00-08:00")
    env.user("oQ2")
    env.clock.t = at_local(23)
    env.flow(event("600003", "paid", hours=10, openid="oQ2"))   # paid at 20:00
    assert env.sent("oQ2") == [] and env.log("600003")[-1]["status"] == "held"


def test_phone_only_orders_and_api_answers_push_nothing(push_env):
    env = push_env()
    env.flow(event("200011", "shipped", hours=0, phone="13800001111"))
    assert env.log("200011") == []


def test_following_an_order_is_consent_for_that_order_only(push_env):
    env = push_env()
    env.user("oAskedF", consent=CONSENT_ASKED)
    env.pushes.follows.follow("oAskedF", "200012")
    env.flow(shipped("200012", "oAskedF"))
    env.flow(shipped("200013", "oAskedF"))
    assert [e["status"] for e in env.log("200012")][-1] == "sent"
    assert env.log("200013")[-1]["reason"] == "consent"


def test_a_job_that_wakes_before_its_push_is_due_retries_shortly(push_env):
    env = push_env(push_merge_delay=2.0)
    env.user("oEarly")
    env.post(shipped("200014", "oEarly"))
    env.consume()
    pid = env.queued.pop()
    with pytest.raises(RetryLater):
        env.pushes.deliver(pid)
    env.clock.advance(2.0)
    assert env.pushes.deliver(pid) == "sent"
