"""Configuration: one typed object, read from the environment or handed in by tests."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

WECHAT_API_BASE_URL = "https://api.weixin.qq.com/cgi-bin/"
# Resolved once: handlers read the data folders on every message.
ROOT_DIR = Path(__file__).resolve().parents[2]


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot work; the message says what to set."""


# What BOT_DEMO=1 fills in for settings left empty (never used when they are set).
DEMO_DEFAULTS = {
    "wechat_token": "demo-token",
    "wechat_appid": "wxdemo0000000000",
    "wechat_secret": "demo-secret",
    "wechat_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "order_webhook_secret": "demo-webhook-secret",
    "secret_key": "demo-secret-key",
}


@dataclass(frozen=True)
class Config:
    """Every setting the bot reads. Field names map to upper-case environment variables."""

    wechat_token: str = ""
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_aes_key: str = ""
    wechat_aes_key_previous: str = ""
    wechat_api_base_url: str = WECHAT_API_BASE_URL
    redis_url: str = ""
    redis_sentinels: str = ""         # host:port,host:port: use Sentinel (REDIS_URL's db kept)
    redis_sentinel_master: str = "mymaster"
    # Replicas an order event must reach before the webhook says 200 (WAIT); -1: 1 with
    # Sentinel, else 0.
    redis_wait_replicas: int = -1
    redis_wait_ms: int = 500
    bot_data_dir: str = "data"
    order_webhook_secret: str = ""
    order_api_url: str = ""
    order_api_timeout: float = 1.5
    order_api_token: str = ""
    public_base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    bot_demo: bool = False
    # WeChat gives up after 5 s; answer before that and finish through 客服消息.
    reply_deadline: float = 4.5
    timestamp_tolerance: int = 300
    max_body_bytes: int = 64 * 1024
    flood_limit: int = 20
    flood_window: int = 60
    dialogue_ttl: int = 1800
    transcript_days: int = 30       # how long the console keeps conversations
    service_hours: str = "09:00-21:00"
    timezone: str = "Asia/Shanghai"
    default_lang: str = "zh-CN"
    log_format: str = "text"          # text, or json: one JSON object a line
    metrics_token: str = ""           # set: GET /metrics with "Authorization: Bearer <token>"
    # How long an explicit "English"/"中文" outweighs the language a message is written in.
    lang_choice_hold: int = 1800
    replies_dir: str = ""
    intents_dir: str = ""
    # Proactive order pushes (bot/pushes, docs/pushes.md).
    quiet_hours: str = "22:00-08:00"
    push_transit_interval: int = 4 * 3600
    push_daily_cap: int = 5
    push_templates: str = ""
    push_kf_quota: int = 5
    push_merge_delay: float = 0.5
    # SMS where WeChat cannot reach, and the scans for what no event says (docs/pushes.md).
    sms_provider: str = ""                 # "", "webhook" or "aliyun"
    sms_sign_name: str = ""
    sms_webhook_url: str = ""
    sms_webhook_secret: str = ""
    sms_hook_token: str = ""               # the secret in Aliyun's SmsUp push URL
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: str = ""
    aliyun_sms_endpoint: str = "dysmsapi.aliyuncs.com"
    sms_daily_cap: int = 5
    sms_quiet_hours: str = "22:00-08:00"
    stale_tracking_hours: float = 48.0
    pickup_reminder_hours: float = 24.0
    unshipped_hours: float = 24.0
    scan_interval: float = 600.0
    best_hours_default: str = "10:00-11:00,20:00-21:00"
    push_best_hour: bool = True            # non-urgent pushes wait for the user's best hour
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Build from environment variables (or a mapping of them), then validate."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.type, raw, f.name)
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Config:
        """Build from already-typed values (what tests use), filling demo defaults, validating."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        config = cls(**values)  # type: ignore[arg-type]
        if config.bot_demo:
            config._refuse_production_settings()
            config = config._with_demo_defaults()
        config._validate()
        return config

    def _with_demo_defaults(self) -> Config:
        # Demo values let a newcomer start with nothing set; production must set its own.
        return replace(self, **{
            name: getattr(self, name) or value for name, value in DEMO_DEFAULTS.items()
        })

    def _refuse_production_settings(self) -> None:
        # The demo's secrets are public: they must never sign a real account's replies, links
        # or webhooks, nor write into a production Redis.
        real = [name.upper() for name in ("wechat_token", "wechat_appid", "wechat_secret",
                                          "wechat_aes_key", "wechat_aes_key_previous")
                if getattr(self, name) and getattr(self, name) != DEMO_DEFAULTS.get(name)]
        if real:
            raise ConfigError("BOT_DEMO=1 refuses real WeChat credentials (" + ", ".join(real)
                              + " set): unset BOT_DEMO for a real account")
        sentinel_hosts = [h for h in self.redis_sentinels.split(",") if h.strip()]
        if any(not is_loopback_url(f"redis://{h.strip()}") for h in sentinel_hosts):
            raise ConfigError("BOT_DEMO=1 refuses REDIS_SENTINELS off this machine: "
                              "unset BOT_DEMO for a real deployment")
        if self.redis_url and not is_loopback_url(self.redis_url):
            raise ConfigError("BOT_DEMO=1 refuses a REDIS_URL that is not on this machine: "
                              "unset BOT_DEMO for a real deployment")

    def _validate(self) -> None:
        missing = [
            name.upper()
            for name in ("wechat_token", "wechat_appid", "wechat_secret")
            if not getattr(self, name)
        ]
        if missing:
            raise ConfigError(
                "missing required setting(s): " + ", ".join(missing)
                + " (or set BOT_DEMO=1 to start on demo defaults)"
            )
        for name in ("wechat_aes_key", "wechat_aes_key_previous"):
            key = getattr(self, name)
            if key and len(key) != 43:
                raise ConfigError(f"{name.upper()} must be the 43-character EncodingAESKey")
        if not self.secret_key:
            # Signed tracking links must survive restarts and agree across workers.
            raise ConfigError("missing required setting: SECRET_KEY")
        if self.log_format not in ("text", "json"):
            raise ConfigError("LOG_FORMAT must be text or json")
        if self.order_api_url:
            scheme = urlsplit(self.order_api_url).scheme
            if scheme not in ("http", "https") or (
                    scheme == "http" and not is_loopback_url(self.order_api_url)):
                # The token and customers' orders cross the network: plain HTTP only on loopback.
                raise ConfigError("ORDER_API_URL must be https:// (http:// only on loopback)")
        _check_hours("QUIET_HOURS", self.quiet_hours, allow_empty=True)
        if self.push_transit_interval < 0 or self.push_daily_cap < 0 or self.push_kf_quota < 0:
            raise ConfigError(
                "PUSH_TRANSIT_INTERVAL, PUSH_DAILY_CAP and PUSH_KF_QUOTA must be >= 0")
        if self.push_templates and not Path(self.push_templates).is_file():
            raise ConfigError(f"PUSH_TEMPLATES={self.push_templates!r} is not a file")
        if self.sms_provider not in ("", "webhook", "aliyun"):
            raise ConfigError("SMS_PROVIDER must be webhook, aliyun or unset")
        sms_needs = {
            "webhook": ("sms_sign_name", "sms_webhook_url", "sms_webhook_secret"),
            "aliyun": ("sms_sign_name", "aliyun_access_key_id", "aliyun_access_key_secret"),
        }.get(self.sms_provider, ())
        _check_hours("SMS_QUIET_HOURS", self.sms_quiet_hours)
        for spec in self.best_hours_default.split(","):
            _check_hours("BEST_HOURS_DEFAULT", spec)
        if min(self.stale_tracking_hours, self.pickup_reminder_hours, self.unshipped_hours) <= 0:
            raise ConfigError(
                "STALE_TRACKING_HOURS, PICKUP_REMINDER_HOURS and UNSHIPPED_HOURS must be > 0")
        if self.sms_daily_cap < 0 or self.scan_interval < 0:
            raise ConfigError("SMS_DAILY_CAP and SCAN_INTERVAL must be >= 0")
        sms_missing = [name.upper() for name in sms_needs if not getattr(self, name)]
        if sms_missing:
            raise ConfigError(f"SMS_PROVIDER={self.sms_provider} needs " + ", ".join(sms_missing))
        if not self.wechat_api_base_url.endswith("/"):
            object.__setattr__(self, "wechat_api_base_url", self.wechat_api_base_url + "/")

    @property
    def wait_replicas(self) -> int:
        """Replicas a webhook write must reach before it is acknowledged."""
        if self.redis_wait_replicas >= 0:
            return self.redis_wait_replicas
        return 1 if self.redis_sentinels else 0

    @property
    def data_dir(self) -> Path:
        return Path(self.bot_data_dir).resolve()

    @property
    def safe_mode(self) -> bool:
        return bool(self.wechat_aes_key)

    @property
    def root_dir(self) -> Path:
        return ROOT_DIR

    @property
    def replies_path(self) -> Path:
        return Path(self.replies_dir) if self.replies_dir else self.root_dir / "replies"

    @cached_property   # read on every message (the word lists are cached by this path)
    def intents_path(self) -> Path:
        return Path(self.intents_dir) if self.intents_dir else self.root_dir / "intents"


def is_loopback_url(url: str) -> bool:
    """A unix socket, or a host on this machine (127.0.0.0/8, ::1, localhost)."""
    parts = urlsplit(url)
    if parts.scheme in ("unix", "file"):
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_hours(name: str, spec: str, allow_empty: bool = False) -> None:
    """A daily window "HH:MM-HH:MM" (may run past midnight)."""
    if allow_empty and spec.strip().lower() in ("", "off", "none"):
        return
    if not re.fullmatch(r"\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*", spec):
        raise ConfigError(f"{name}={spec!r} is not a window like 22:00-08:00")
    for part in spec.split("-"):
        hours, minutes = (int(x) for x in part.strip().split(":"))
        if hours > 23 or minutes > 59:
            raise ConfigError(f"{name}={spec!r} is not a window like 22:00-08:00")


def new_secret() -> str:
    """A fresh random secret, for `python -m bot` to suggest when one is missing."""
    return secrets.token_urlsafe(32)


def _parse(kind: object, raw: str, name: str) -> object:
    kind = str(kind)
    try:
        if kind == "bool":
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name.upper()}={raw!r} is not a valid {kind}") from exc
    return raw
