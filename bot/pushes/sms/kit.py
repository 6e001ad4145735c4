"""Everything SMS, built once per process from the config (`build_sms`); the night hours and
daily cap are the merchant's run-time settings, read through `PushSettingsStore`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import redis
import yaml

from bot.conversation.replies import Replies
from bot.platform.clock import Clock
from bot.platform.config import Config
from bot.pushes.hours import Window
from bot.pushes.settings import PushSettings
from bot.pushes.settings_store import PushSettingsStore
from bot.pushes.sms.claim_codes import SmsCodeSender, code_sender
from bot.pushes.sms.optout import OptOutStore, OptOutWords
from bot.pushes.sms.provider import SmsProvider
from bot.pushes.sms.sender import SmsRules, SmsSender


@dataclass
class SmsKit:
    config: Config
    provider: SmsProvider | None
    sender: SmsSender
    optouts: OptOutStore
    words: OptOutWords
    needs_action_words: tuple[str, ...]
    words_data: dict

    code_sender: SmsCodeSender | None = None   # claims' one-time codes (None: no SMS)

    def needs_action(self, reason: str) -> bool:
        """Whether an exception's reason asks something of the customer (SMS even at night)."""
        lowered = reason.lower()
        return any(word in lowered for word in self.needs_action_words)


def aliyun_templates(path: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Per push kind, the `sms:` entry of the PUSH_TEMPLATES file:
    `order_shipped: {…, sms: {template_code: SMS_123, params: {no: order_id, eta: eta}}}`."""
    if not path or not Path(path).exists():
        return {}
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    kinds = data.get("kinds", data) if isinstance(data, dict) else {}
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for kind, entry in kinds.items():
        sms = entry.get("sms") if isinstance(entry, dict) else None
        if isinstance(sms, dict) and sms.get("template_code"):
            params = {str(k): str(v) for k, v in (sms.get("params") or {}).items()}
            found[str(kind)] = (str(sms["template_code"]), params)
    return found


def provider_from_config(config: Config) -> SmsProvider | None:
    """The configured provider, or None when SMS_PROVIDER is unset (no SMS at all)."""
    if config.sms_provider == "webhook":
        from bot.pushes.sms.webhook_provider import WebhookProvider

        return WebhookProvider(config.sms_webhook_url, config.sms_webhook_secret)
    if config.sms_provider == "aliyun":
        from bot.pushes.sms.aliyun import AliyunProvider

        return AliyunProvider(config.aliyun_access_key_id, config.aliyun_access_key_secret,
                              config.aliyun_sms_endpoint, config.sms_sign_name)
    return None


def build_sms(config: Config, client: redis.Redis, clock: Clock, replies: Replies,
              templates_path: str = "", provider: SmsProvider | None = None,
              settings: PushSettingsStore | None = None) -> SmsKit:
    """`settings`: the process's reader of the run-time rules (`extend_pipeline` hands the
    sender the push pipeline's afterwards, so one cache serves both)."""
    provider = provider or provider_from_config(config)
    settings = settings or PushSettingsStore(client, PushSettings.from_config(config))
    optouts = OptOutStore(client)
    rules = SmsRules(sign_name=config.sms_sign_name, tz=config.timezone,
                     night=Window.parse(config.sms_quiet_hours),
                     daily_cap=config.sms_daily_cap,
                     aliyun_templates=aliyun_templates(templates_path))
    data = yaml.safe_load((config.intents_path / "push_words.yaml").read_text(encoding="utf-8"))
    return SmsKit(
        config=config, provider=provider,
        sender=SmsSender(client, provider, rules, replies, optouts, clock, settings.current),
        optouts=optouts, words=OptOutWords.load(config.intents_path),
        needs_action_words=tuple(str(w).lower() for w in data.get("exception_needs_action", [])),
        words_data=data,
        code_sender=code_sender(provider, replies, config.sms_sign_name, rules.aliyun_templates),
    )
