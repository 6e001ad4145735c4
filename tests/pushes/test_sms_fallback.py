"""The SMS fallback inside the push pipeline, with a real Dramatiq worker, the fake WeChat API
and the local SMS gateway: which pushes go by SMS, and which do not."""

from __future__ import annotations

import json

import pytest

from bot.pushes.preferences import CONSENT_GIVEN, CONSENT_REFUSED
from bot.pushes.sms.signing import sign
from tests.fixtures.orders import event, post_signed
from tests.fixtures.pushes import GATEWAY_SECRET
from tests.fixtures.wechat_api import wait_for

SECRET = GATEWAY_SECRET
PHONE = "13812345678"


@pytest.fixture
def app(make_app, fake_wechat, gateway):
    return make_app(wechat_api_base_url=fake_wechat.url, push_merge_delay=0.0,
                    sms_provider="webhook", sms_sign_name="好物小店",
                    sms_webhook_url=gateway.url + "/", sms_webhook_secret=SECRET)


@pytest.fixture
def shop(app, worker):
    """Post order events and run the pipeline on each change, with a worker sending."""
    rt = worker(app)
    client = app.test_client()
    seen: set[str] = set()

    def post(body: dict) -> None:
        assert post_signed(client, body).status_code == 200
        for entry_id, fields in rt.services.orders.store.changes(count=1000):
            if entry_id not in seen:
                seen.add(entry_id)
                rt.pushes.handle_change(fields)

    post.rt = rt
    post.client = client
    return post


def log_of(rt, order_id: str) -> list[dict]:
    return rt.pushes.log.for_order(order_id)


def sms_log(rt, order_id: str) -> list[tuple[str, str, str]]:
    return [(e["kind"], e["status"], e["reason"]) for e in log_of(rt, order_id)
            if e["channel"] == "sms"]


def test_order_without_openid_gets_its_important_pushes_by_sms(shop, gateway):
    shop(event("700001", "paid", hours=-3, phone=PHONE))
    shop(event("700001", "shipped", hours=-2, phone=PHONE, carrier="SF",
               tracking_no="SF100200300", eta="2026-11-25T15:00:00+08:00"))
    assert wait_for(lambda: len(gateway.messages) == 1)
    [sms] = gateway.messages
    assert sms["kind"] == "order_shipped" and sms["order_id"] == "700001"
    assert sms["text"].startswith("【好物小店】") and "SF100200300" in sms["text"]
    assert sms["idempotency_key"].startswith("700001:order_shipped:")
    assert wait_for(lambda: ("order_shipped", "sent", "") in sms_log(shop.rt, "700001"))
    # In transit is not an SMS kind; an exception is.
    shop(event("700001", "in_transit", hours=-1, phone=PHONE,
               tracking=[{"time": "2026-11-24T09:00:00+08:00", "location": "杭州",
                          "description": "到达"}]))
    shop(event("700001", "exception", hours=-0.5, phone=PHONE,
               exception={"reason": "收件地址不详,请确认地址",
                          "new_eta": "2026-11-26T18:00:00+08:00"}))
    assert wait_for(lambda: len(gateway.messages) == 2)
    assert [m["kind"] for m in gateway.messages] == ["order_shipped", "order_exception"]


def test_user_without_consent_gets_sms_not_wechat(shop, gateway, fake_wechat):
    shop(event("700002", "shipped", hours=-1, openid="oNoConsent", phone=PHONE,
               carrier="SF", tracking_no="SF1"))
    assert wait_for(lambda: len(gateway.messages) == 1)
    entries = log_of(shop.rt, "700002")
    assert any(e["status"] == "suppressed" and e["reason"] == "consent" for e in entries)
    assert wait_for(lambda: ("order_shipped", "sent", "") in sms_log(shop.rt, "700002"))
    assert fake_wechat.calls(openid="oNoConsent") == []


def test_a_user_who_refused_notifications_gets_no_sms_either(shop, gateway):
    shop.rt.services.prefs.set("oRefused", consent=CONSENT_REFUSED, at=0)
    shop(event("700003", "shipped", hours=-1, openid="oRefused", phone=PHONE,
               carrier="SF", tracking_no="SF1"))
    assert wait_for(lambda: any(e["reason"] == "consent"
                                for e in log_of(shop.rt, "700003")))
    shop(event("700003b", "shipped", hours=-1, phone=PHONE, carrier="SF"))
    assert wait_for(lambda: len(gateway.messages) == 1)   # the order with no openid only
    assert gateway.messages[0]["order_id"] == "700003b"


def test_outside_the_window_with_no_template_goes_by_sms(shop, gateway, fake_wechat, clock):
    rt = shop.rt
    rt.services.prefs.set("oAway", consent=CONSENT_GIVEN, at=clock.now())
    rt.services.users.seen("oAway", clock.now() - 3 * 86_400)   # window long closed
    shop(event("700004", "out_for_delivery", hours=-1, openid="oAway", phone=PHONE,
               eta="2026-11-24T18:00:00+08:00"))
    assert wait_for(lambda: len(gateway.messages) == 1)
    assert gateway.messages[0]["kind"] == "order_out_for_delivery"
    assert wait_for(lambda: any(e["channel"] == "sms" and e["status"] == "sent"
                                for e in log_of(rt, "700004")))
    assert fake_wechat.calls(openid="oAway") == []


def test_inside_the_window_wechat_carries_it_and_no_sms(shop, gateway, fake_wechat, clock):
    rt = shop.rt
    rt.services.prefs.set("oHere", consent=CONSENT_GIVEN, at=clock.now())
    rt.services.users.seen("oHere", clock.now() - 600)
    shop(event("700005", "shipped", hours=-1, openid="oHere", phone=PHONE, carrier="SF",
               tracking_no="SF1"))
    assert wait_for(lambda: any(e["status"] == "sent" for e in log_of(rt, "700005")))
    assert [e["channel"] for e in log_of(rt, "700005") if e["status"] == "sent"] == ["kf"]
    assert fake_wechat.calls(path="message/custom/send", openid="oHere")
    assert gateway.messages == []


def test_opt_out_reply_then_later_pushes_are_suppressed_and_logged(shop, gateway):
    shop(event("700006", "shipped", hours=-2, phone=PHONE, carrier="SF", tracking_no="SF1"))
    assert wait_for(lambda: len(gateway.messages) == 1)
    body = json.dumps({"phone": PHONE, "text": "TD", "received_at": ""}).encode()
    answer = shop.client.post("/hooks/sms", data=body, content_type="application/json",
                              headers={"X-Signature": sign(SECRET, body)})
    assert answer.json == {"result": "opted_out"}
    shop(event("700006", "out_for_delivery", hours=-1, phone=PHONE))
    assert wait_for(lambda: ("order_out_for_delivery", "suppressed", "opted_out")
                    in sms_log(shop.rt, "700006"))
    assert len(gateway.messages) == 1


def test_the_same_change_twice_sends_one_sms(shop, gateway):
    shop(event("700007", "shipped", hours=-1, phone=PHONE, carrier="SF"))
    rt = shop.rt
    for _, fields in rt.services.orders.store.changes(count=100):
        rt.pushes.handle_change(fields)     # a redelivered stream entry
    assert wait_for(lambda: len(gateway.messages) == 1)
    assert wait_for(lambda: len([e for e in sms_log(rt, "700007") if e[1] == "sent"]) == 1)
    assert len(gateway.received) == 1


def test_switched_off_kind_goes_by_no_channel(shop, gateway):
    from bot.pushes.switches import Switches

    Switches(shop.rt.services.redis).set("logistics", on=False)
    shop(event("700008", "shipped", hours=-1, phone=PHONE, carrier="SF"))
    assert wait_for(lambda: ("order_shipped", "suppressed", "switched_off")
                    in sms_log(shop.rt, "700008"))
    assert gateway.messages == []


def test_night_defers_the_channel_sms_to_the_morning(make_app, fake_wechat, gateway, worker,
                                                     clock):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    # WeChat's quiet hours off: only the SMS night rule holds this one back.
    app = make_app(wechat_api_base_url=fake_wechat.url, push_merge_delay=0.0,
                   quiet_hours="off", sms_provider="webhook", sms_sign_name="好物小店",
                   sms_webhook_url=gateway.url + "/", sms_webhook_secret=SECRET)
    rt = worker(app)
    clock.t = datetime(2026, 11, 24, 23, 30, tzinfo=shanghai).timestamp()
    rt.services.prefs.set("oNight", consent=CONSENT_GIVEN, at=clock.now())
    rt.services.users.seen("oNight", clock.now() - 3 * 86_400)
    body = event("700010", "out_for_delivery", hours=13, openid="oNight", phone=PHONE)
    assert post_signed(app.test_client(), body).status_code == 200
    for _, fields in rt.services.orders.store.changes(count=10):
        rt.pushes.handle_change(fields)
    morning = datetime(2026, 11, 25, 8, 0, tzinfo=shanghai).timestamp()
    assert wait_for(lambda: any(e["status"] == "held" and e.get("until") == morning
                                for e in log_of(rt, "700010")))
    assert gateway.messages == []
    clock.t = morning + 1
    # The job the sweep hands it to when due (the sweep's own timing is tested with it).
    [pid] = {e["push_id"] for e in log_of(rt, "700010")}
    assert rt.pushes.deliver(pid) == "sent"
    assert len(gateway.messages) == 1
    assert gateway.messages[0]["kind"] == "order_out_for_delivery"


def test_a_push_held_for_the_night_does_not_hold_an_urgent_one_back(make_app, fake_wechat,
                                                                     gateway, worker, clock):
    """The SMS night holds each routine push until morning; it is no shop-wide quota: an
    exception that needs the customer's action, coming after, still goes by SMS at night."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    app = make_app(wechat_api_base_url=fake_wechat.url, push_merge_delay=0.0,
                   quiet_hours="off", sms_provider="webhook", sms_sign_name="好物小店",
                   sms_webhook_url=gateway.url + "/", sms_webhook_secret=SECRET)
    rt = worker(app)
    clock.t = datetime(2026, 11, 24, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    client = app.test_client()
    seen: set[str] = set()
    for openid, body in (
            ("oRoutine", event("700020", "out_for_delivery", hours=13, openid="oRoutine",
                               phone=PHONE)),
            ("oUrgent", event("700021", "exception", hours=13, openid="oUrgent",
                              phone="13900001111",
                              exception={"reason": "收件地址不详,请确认地址"}))):
        rt.services.prefs.set(openid, consent=CONSENT_GIVEN, at=clock.now())
        rt.services.users.seen(openid, clock.now() - 3 * 86_400)   # WeChat's window closed
        assert post_signed(client, body).status_code == 200
        for entry_id, fields in rt.services.orders.store.changes(count=100):
            if entry_id not in seen:
                seen.add(entry_id)
                rt.pushes.handle_change(fields)
        if openid == "oRoutine":
            assert wait_for(lambda: any(e["status"] == "held"
                                        for e in log_of(rt, "700020")))
    assert wait_for(lambda: [m["phone"] for m in gateway.messages] == ["13900001111"])
    assert not any(e["status"] == "sent" for e in log_of(rt, "700020"))


def test_fallback_through_alibaba_cloud(make_app, fake_wechat, worker, tmp_path):
    from bot.local.fake_sms import FakeAliyunSms

    aliyun = FakeAliyunSms("LTAI-test", "test-secret").start()
    try:
        templates = tmp_path / "push_templates.yaml"
        templates.write_text(
            "order_shipped:\n  sms:\n    template_code: SMS_1001\n"
            "    params: {order: order_id, co: carrier, eta: eta}\n", encoding="utf-8")
        app = make_app(wechat_api_base_url=fake_wechat.url, push_merge_delay=0.0,
                       push_templates=str(templates), sms_provider="aliyun",
                       sms_sign_name="好物小店", aliyun_access_key_id="LTAI-test",
                       aliyun_access_key_secret="test-secret", aliyun_sms_endpoint=aliyun.url)
        rt = worker(app)
        body = event("700011", "shipped", hours=-1, phone=PHONE, carrier="SF",
                     eta="2026-11-25T15:00:00+08:00")
        assert post_signed(app.test_client(), body).status_code == 200
        for _, fields in rt.services.orders.store.changes(count=10):
            rt.pushes.handle_change(fields)
            rt.pushes.handle_change(fields)      # twice: one SMS
        assert wait_for(lambda: len(aliyun.messages) == 1)
        [sms] = aliyun.messages
        assert sms["template_code"] == "SMS_1001" and sms["sign_name"] == "好物小店"
        assert sms["params"] == {"order": "700011", "co": "顺丰", "eta": "11月25日15:00"}
        assert sms["out_id"].startswith("700011:order_shipped:") and sms["times"] == 1
        assert wait_for(lambda: ("order_shipped", "sent", "") in sms_log(rt, "700011"))
    finally:
        aliyun.stop()


def test_gateway_down_then_back_retries_the_job_with_the_same_key(shop, gateway):
    gateway.fail(503, times=1)
    shop(event("700012", "shipped", hours=-1, phone=PHONE, carrier="SF"))
    assert wait_for(lambda: len(gateway.messages) == 1, 30)
    assert wait_for(lambda: [s for _, s, _ in sms_log(shop.rt, "700012")]
                    == ["retrying", "sent"])
    assert len(gateway.received) == 1      # the failed try never reached it
    assert gateway.messages[0]["idempotency_key"].startswith("700012:order_shipped:")


def test_a_new_sms_night_and_cap_reach_the_channel_without_a_restart(make_app, fake_wechat,
                                                                      gateway, worker, clock, r):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.pushes.settings_store import SMS_NIGHT_MARK, PushSettingsStore, release_held

    shanghai = ZoneInfo("Asia/Shanghai")
    app = make_app(wechat_api_base_url=fake_wechat.url, push_merge_delay=0.0,
                   quiet_hours="off", sms_provider="webhook", sms_sign_name="好物小店",
                   sms_webhook_url=gateway.url + "/", sms_webhook_secret=SECRET)
    rt = worker(app)
    # One reader of the run-time rules per process: the SMS sender reads the pushes' own.
    assert rt.sms.sender.in_force == rt.pushes.rules.current
    clock.t = datetime(2026, 11, 24, 23, 30, tzinfo=shanghai).timestamp()

    def out_for_delivery(order_id: str, openid: str) -> None:
        rt.services.prefs.set(openid, consent=CONSENT_GIVEN, at=clock.now())
        rt.services.users.seen(openid, clock.now() - 3 * 86_400)   # no 48 h window, no template
        body = event(order_id, "out_for_delivery", hours=13, openid=openid, phone=PHONE)
        assert post_signed(app.test_client(), body).status_code == 200
        for _, fields in rt.services.orders.store.changes(count=100):
            if fields.get("order_id") == order_id:
                rt.pushes.handle_change(fields)

    def merchant_sets(**values: str) -> None:
        """The console in the web process; the worker's reader re-reads on every call here,
        as it does 0.5 s later in production."""
        changes = PushSettingsStore(r, rt.pushes.settings).change(**values)
        release_held(changes, rt.pushes.store, clock.now())
        rt.pushes.rules.max_age = 0

    out_for_delivery("700051", "oLate1")                 # SMS_QUIET_HOURS 22:00-08:00
    assert wait_for(lambda: any(e["status"] == "held" for e in log_of(rt, "700051")))
    assert r.exists(SMS_NIGHT_MARK) and gateway.messages == []
    merchant_sets(sms_quiet_hours="00:30-07:00")
    assert not r.exists(SMS_NIGHT_MARK)
    out_for_delivery("700052", "oLate2")
    assert wait_for(lambda: len(gateway.messages) == 1)
    assert gateway.messages[0]["order_id"] == "700052"
    # One SMS to this phone today; the merchant's cap of 1 stops the next.
    merchant_sets(sms_daily_cap="1")
    out_for_delivery("700053", "oLate3")
    assert wait_for(lambda: any("daily_cap" in json.dumps(e) for e in log_of(rt, "700053")))
    assert len(gateway.messages) == 1
