"""SMS sending: texts, the two providers against loopback fakes (the Alibaba Cloud one through
the official SDK), opt-out, night hours, the daily cap and idempotent retries."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.conversation.replies import Replies
from bot.local.fake_sms import FakeAliyunSms
from bot.platform.config import ROOT_DIR, ConfigError
from bot.pushes.settings import PushSettings
from bot.pushes.settings_store import PushSettingsStore
from bot.pushes.sms.provider import SmsError
from bot.pushes.sms.sender import FAILED, HELD, SENT, SUPPRESSED, SmsRequest
from bot.pushes.sms.text import SmsFields, compose
from tests.pushes.sms_fixtures import (
    AK_ID,
    AK_SECRET,
    PHONE,
    aliyun_kit,
    sms_config,
    webhook_kit,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHIPPED = SmsFields(order_id="202611240001", carrier="SF", tracking_no="SF1402938475610",
                    eta="2026-11-25T07:00:00.000+00:00")


def req(key: str = "k1", kind: str = "order_shipped", phone: str = PHONE,
        fields: SmsFields = SHIPPED) -> SmsRequest:
    return SmsRequest(phone=phone, kind=kind, fields=fields, idempotency_key=key)


def at_local(clock, hour: int, minute: int = 0, day: int = 24) -> None:
    clock.t = datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).timestamp()


@pytest.fixture
def aliyun():
    server = FakeAliyunSms(AK_ID, AK_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def templates(tmp_path):
    path = tmp_path / "push_templates.yaml"
    path.write_text(
        "order_shipped:\n"
        "  template_id: tmpl-shipped\n"
        "  sms: {template_code: SMS_100001, params: {'no': order_id, co: carrier, eta: eta}}\n"
        "order_exception:\n"
        "  sms: {template_code: SMS_100002, params: {'no': order_id, why: reason}}\n",
        encoding="utf-8")
    return path


# Texts ------------------------------------------------------------------------------------

def test_texts_follow_the_rules_for_every_sms_kind():
    replies = Replies(ROOT_DIR / "replies")
    cases = {
        "order_shipped": SHIPPED,
        "order_out_for_delivery": SmsFields(order_id="202611240001",
                                            eta="2026-11-24T10:00:00.000+00:00"),
        "order_delivered": SmsFields(order_id="202611240001", place="文三路菜鸟驿站",
                                     code="8-2-1034", until="2026-11-27T10:00:00.000+00:00"),
        "order_exception": SmsFields(order_id="202611240001", reason="收件地址不详",
                                     new_eta="2026-11-26T10:00:00.000+00:00",
                                     needs_action=True),
        "pickup_reminder": SmsFields(order_id="202611240001", place="丰巢柜(文三路店)",
                                     code="556677", until="2026-11-27T10:00:00.000+00:00"),
    }
    for kind, fields in cases.items():
        text = compose(replies, kind, fields, "好物小店", "Asia/Shanghai")
        assert text.startswith("【好物小店】"), text
        assert text.endswith("回T退订"), text
        assert len(text) <= 70, (kind, len(text), text)
        assert fields.order_id[-4:] in text
    shipped = compose(replies, "order_shipped", SHIPPED, "好物小店", "Asia/Shanghai")
    # The key time is absolute, in the shop's zone (07:00 UTC = 15:00 Shanghai).
    assert "11月25日15:00" in shipped and "顺丰" in shipped and "SF1402938475610" in shipped
    pickup = compose(replies, "order_delivered", cases["order_delivered"], "好物小店",
                     "Asia/Shanghai")
    assert "8-2-1034" in pickup and "11月27日18:00" in pickup


def test_full_text_when_it_fits_short_text_when_not():
    replies = Replies(ROOT_DIR / "replies")
    short_order = SmsFields(order_id="A1", eta="2026-11-24T10:00:00.000+00:00")
    text = compose(replies, "order_out_for_delivery", short_order, "店", "Asia/Shanghai")
    assert "您的订单A1" in text     # the full version fits
    long_sign = compose(replies, "order_shipped", SHIPPED, "好物小店官方旗舰店", "Asia/Shanghai")
    assert "尾号0001" in long_sign and len(long_sign) <= 70


# Providers ---------------------------------------------------------------------------------

def test_webhook_provider_posts_signed_json_once_per_key(r, clock, gateway):
    kit = webhook_kit(r, clock, gateway)
    outcome = kit.sender.send(req())
    assert outcome.status == SENT
    [message] = gateway.messages
    assert message["phone"] == PHONE and message["kind"] == "order_shipped"
    assert message["order_id"] == "202611240001" and message["idempotency_key"] == "k1"
    assert message["text"].startswith("【好物小店】") and message["text"].endswith("回T退订")
    # The job runs again (at-least-once): nothing more reaches the gateway.
    again = kit.sender.send(req())
    assert again.status == SENT and again.reason == "duplicate"
    assert len(gateway.received) == 1


def test_webhook_retry_after_a_failure_reuses_the_key(r, clock, gateway):
    kit = webhook_kit(r, clock, gateway)
    gateway.fail(503)
    with pytest.raises(SmsError) as failed:
        kit.sender.send(req())
    assert failed.value.retry
    assert kit.sender.send(req()).status == SENT
    assert [m["idempotency_key"] for m in gateway.messages] == ["k1"]
    # The failed try did not use up a second place in the day's count.
    assert r.scard(f"sms:day:{PHONE}:20261124") == 1


def test_webhook_permanent_rejection_is_failed_not_retried(r, clock, gateway):
    kit = webhook_kit(r, clock, gateway)
    gateway.fail(400)
    outcome = kit.sender.send(req())
    assert outcome.status == FAILED and outcome.reason == "http:400"
    assert kit.sender.send(req()).status == FAILED       # a rerun does not resend
    assert gateway.messages == [] and r.scard(f"sms:day:{PHONE}:20261124") == 0


def test_webhook_crash_mid_send_resends_with_the_same_key(r, clock, gateway):
    kit = webhook_kit(r, clock, gateway)
    # A worker killed after the gateway took the message but before it recorded "sent".
    kit.sender.send(req())
    r.hset("sms:msg:k1", "state", "sending")
    assert kit.sender.send(req()).status == SENT
    assert len(gateway.received) == 2 and len(gateway.messages) == 1   # the gateway dedupes


def test_aliyun_through_the_official_sdk(r, clock, aliyun, templates):
    kit = aliyun_kit(r, clock, aliyun, templates)
    outcome = kit.sender.send(req())
    assert outcome.status == SENT and outcome.provider_id.endswith("^0")
    [message] = aliyun.messages
    assert message["template_code"] == "SMS_100001" and message["sign_name"] == "好物小店"
    assert message["params"] == {"no": "202611240001", "co": "顺丰", "eta": "11月25日15:00"}
    assert message["out_id"] == "k1" and aliyun.state.rejected == 0
    assert kit.sender.send(req()).reason == "duplicate"
    assert message["times"] == 1 and len(aliyun.received) == 1


def test_aliyun_transient_and_permanent_errors(r, clock, aliyun, templates):
    kit = aliyun_kit(r, clock, aliyun, templates)
    aliyun.fail(503)
    with pytest.raises(SmsError) as failed:
        kit.sender.send(req("k-busy"))
    assert failed.value.retry
    assert kit.sender.send(req("k-busy")).status == SENT
    aliyun.fail(code="isv.MOBILE_NUMBER_ILLEGAL")
    outcome = kit.sender.send(req("k-bad"))
    assert outcome.status == FAILED and outcome.reason == "aliyun:isv.MOBILE_NUMBER_ILLEGAL"
    # A kind with no Alibaba Cloud template is not sent that way.
    no_template = kit.sender.send(req("k-ofd", kind="order_out_for_delivery"))
    assert no_template.status == FAILED and no_template.reason == "no_template"
    assert [m["out_id"] for m in aliyun.messages] == ["k-busy"]


def test_aliyun_wrong_secret_is_refused_by_the_fake(r, clock, aliyun, templates):
    kit = aliyun_kit(r, clock, aliyun, templates, aliyun_access_key_secret="wrong")
    outcome = kit.sender.send(req())
    assert outcome.status == FAILED and "SignatureDoesNotMatch" in outcome.reason
    assert aliyun.state.rejected == 1 and aliyun.messages == []


# Rules -------------------------------------------------------------------------------------

def test_only_important_kinds_and_mobiles_go_by_sms(r, clock, gateway):
    kit = webhook_kit(r, clock, gateway)
    assert kit.sender.send(req("a", kind="order_in_transit")).reason == "not_sms_kind"
    assert kit.sender.send(req("b", kind="order_paid")).reason == "not_sms_kind"
    assert kit.sender.send(req("c", phone="02161234567")).reason == "no_mobile"
    assert gateway.messages == []


def test_no_provider_no_sms(r, clock):
    from bot.pushes.sms.kit import build_sms

    kit = build_sms(sms_config(), r, clock, Replies(ROOT_DIR / "replies"))
    outcome = kit.sender.send(req())
    assert outcome.status == SUPPRESSED and outcome.reason == "sms_off"


def test_night_holds_until_eight_except_exceptions_needing_action(r, clock, gateway):
    kit = webhook_kit(r, clock, gateway)
    at_local(clock, 23, 30)
    outcome = kit.sender.send(req())
    assert outcome.status == HELD and outcome.reason == "night"
    assert outcome.until == datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI).timestamp()
    urgent = SmsFields(order_id="202611240001", reason="收件地址不详,请确认地址",
                       needs_action=True)
    assert kit.sender.send(req("x", kind="order_exception", fields=urgent)).status == SENT
    routine = SmsFields(order_id="202611240001", reason="天气原因航班延误")
    assert kit.sender.send(req("y", kind="order_exception", fields=routine)).status == HELD
    at_local(clock, 8, 0, day=25)
    assert kit.sender.send(req()).status == SENT
    assert [m["idempotency_key"] for m in gateway.messages] == ["x", "k1"]
    assert kit.needs_action("收件地址不详,请确认地址") and not kit.needs_action("天气原因航班延误")


def test_at_most_five_per_phone_per_day(r, clock, gateway):
    kit = webhook_kit(r, clock, gateway)
    outcomes = [kit.sender.send(req(f"k{i}")).status for i in range(7)]
    assert outcomes == [SENT] * 5 + [SUPPRESSED] * 2
    assert kit.sender.send(req("k9")).reason == "daily_cap"
    # Another phone has its own count; the next day starts afresh.
    assert kit.sender.send(req("other", phone="13900001111")).status == SENT
    at_local(clock, 10, 0, day=25)
    assert kit.sender.send(req("k10")).status == SENT
    assert len(gateway.messages) == 7


class Ticks:
    """The monotonic clock of the kit's settings reader, moved by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def merchant(r, kit) -> PushSettingsStore:
    """The console's writer in another process: its own store on the same Redis."""
    return PushSettingsStore(r, PushSettings.from_config(kit.config))


def test_a_new_sms_night_is_in_force_after_the_readers_refresh(r, clock, gateway):
    ticks = Ticks()
    kit = webhook_kit(r, clock, gateway, monotonic=ticks)
    at_local(clock, 23, 30)
    assert kit.sender.send(req("a")).status == HELD               # SMS_QUIET_HOURS 22-08
    merchant(r, kit).change(sms_quiet_hours="00:30-07:00")
    ticks.t += 0.1
    assert kit.sender.send(req("b")).status == HELD               # its last read, 0.1 s ago
    ticks.t += 0.4
    assert kit.sender.send(req("c")).status == SENT               # 23:30 is day now
    at_local(clock, 0, 45, day=25)
    outcome = kit.sender.send(req("d"))
    assert (outcome.status, outcome.reason) == (HELD, "night")
    assert outcome.until == datetime(2026, 11, 25, 7, 0, tzinfo=SHANGHAI).timestamp()
    urgent = SmsFields(order_id="202611240001", reason="收件地址不详,请确认地址",
                       needs_action=True)
    assert kit.sender.send(req("e", kind="order_exception", fields=urgent)).status == SENT
    merchant(r, kit).change(sms_quiet_hours="default")
    ticks.t += 0.5
    at_local(clock, 7, 30, day=25)                 # after the merchant's night, inside 22-08
    assert kit.sender.send(req("f")).status == HELD
    assert [m["idempotency_key"] for m in gateway.messages] == ["c", "e"]


def test_a_new_sms_cap_applies_to_the_next_send(r, clock, gateway):
    ticks = Ticks()
    kit = webhook_kit(r, clock, gateway, monotonic=ticks, sms_daily_cap=5)
    assert [kit.sender.send(req(f"k{i}")).status for i in range(2)] == [SENT, SENT]
    merchant(r, kit).change(sms_daily_cap="2")
    ticks.t += 0.5
    outcome = kit.sender.send(req("k2"))
    assert (outcome.status, outcome.reason) == (SUPPRESSED, "daily_cap")
    merchant(r, kit).change(sms_daily_cap="3")
    ticks.t += 0.5
    assert kit.sender.send(req("k3")).status == SENT
    assert kit.sender.send(req("k4")).reason == "daily_cap"
    assert len(gateway.messages) == 3


def test_opted_out_phone_gets_nothing_and_it_is_logged(r, clock, gateway):
    kit = webhook_kit(r, clock, gateway)
    kit.optouts.opt_out(PHONE, at=clock.now(), how="sms_reply:webhook", text="T",
                        provider="webhook")
    outcome = kit.sender.send(req())
    assert outcome.status == SUPPRESSED and outcome.reason == "opted_out"
    assert gateway.messages == []
    [entry] = kit.sender.log_entries()
    assert entry["status"] == SUPPRESSED and entry["reason"] == "opted_out"
    assert entry["order_id"] == "202611240001"


def test_config_fails_fast_on_a_half_configured_provider():
    with pytest.raises(ConfigError, match="SMS_WEBHOOK_URL"):
        sms_config(sms_provider="webhook", sms_webhook_secret="x")
    with pytest.raises(ConfigError, match="SMS_PROVIDER"):
        sms_config(sms_provider="twilio")
    with pytest.raises(ConfigError, match="SMS_QUIET_HOURS"):
        sms_config(sms_quiet_hours="late")
    with pytest.raises(ConfigError, match="BEST_HOURS_DEFAULT"):
        sms_config(best_hours_default="10:00-11:00,evening")
    with pytest.raises(ConfigError, match="STALE_TRACKING_HOURS"):
        sms_config(stale_tracking_hours=0.0)
