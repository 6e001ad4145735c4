"""Shared pieces of the SMS tests: a sender on the real test Redis with a real provider
pointed at a loopback fake (the shop's gateway, or Alibaba Cloud through its SDK)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.conversation.replies import Replies
from bot.platform.config import ROOT_DIR, Config
from bot.pushes.settings import PushSettings
from bot.pushes.settings_store import PushSettingsStore
from bot.pushes.sms.kit import SmsKit, build_sms
from tests.fixtures.pushes import GATEWAY_SECRET

AK_ID, AK_SECRET = "LTAI-test-key", "test-key-secret"
PHONE = "13812345678"


def sms_config(**values: object) -> Config:
    base = {"bot_demo": True, "sms_sign_name": "好物小店"}
    return Config.from_mapping({**base, **values})


def webhook_kit(r, clock, gateway, monotonic: Callable[[], float] | None = None,
                **values: object) -> SmsKit:
    """`monotonic`: the clock of the kit's reader of the run-time settings (a test moves it to
    pass the 0.5 s between reads)."""
    config = sms_config(**{"sms_provider": "webhook", "sms_webhook_url": gateway.url + "/",
                           "sms_webhook_secret": GATEWAY_SECRET, **values})
    settings = None
    if monotonic is not None:
        settings = PushSettingsStore(r, PushSettings.from_config(config), monotonic=monotonic)
    return build_sms(config, r, clock, Replies(ROOT_DIR / "replies"), settings=settings)


def aliyun_kit(r, clock, fake, templates: Path, **values: object) -> SmsKit:
    config = sms_config(**{"sms_provider": "aliyun", "aliyun_access_key_id": AK_ID,
                           "aliyun_access_key_secret": AK_SECRET,
                           "aliyun_sms_endpoint": fake.url, **values})
    return build_sms(config, r, clock, Replies(ROOT_DIR / "replies"),
                     templates_path=str(templates))
