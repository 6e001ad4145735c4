"""Each user's notification preferences, set by chat ("关闭物流推送", "只要重要通知")."""

from __future__ import annotations

from dataclasses import dataclass

import redis

ALL = "all"
IMPORTANT = "important"

# Consent to order notifications: asked on follow, answered by chat ("好的", "开启通知",
# "关闭通知"). Pushes go only to users who gave it; "unknown" is a follower from before the bot.
CONSENT_UNKNOWN = "unknown"
CONSENT_ASKED = "asked"
CONSENT_GIVEN = "given"
CONSENT_REFUSED = "refused"


@dataclass(frozen=True)
class Preferences:
    """`notify` is the master switch; `logistics` covers in-transit updates; `level` =
    important keeps only what needs the user (exceptions, delivery, payment); `consent` says
    whether the user agreed to notifications at all."""

    notify: bool = True
    logistics: bool = True
    level: str = ALL
    consent: str = CONSENT_UNKNOWN

    @property
    def may_push(self) -> bool:
        """Whether order notifications may be sent at all (the level and logistics switch
        then say which)."""
        return self.consent == CONSENT_GIVEN and self.notify


class PreferenceStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def key(openid: str) -> str:
        return f"prefs:{openid}"

    def get(self, openid: str) -> Preferences:
        return self.from_hash(self.redis.hgetall(self.key(openid)))

    @staticmethod
    def from_hash(raw: dict[str, str]) -> Preferences:
        """The preferences from their stored hash (read in a pipeline with other things)."""
        return Preferences(
            notify=raw.get("notify", "on") == "on",
            logistics=raw.get("logistics", "on") == "on",
            level=raw.get("level", ALL),
            consent=raw.get("consent", CONSENT_UNKNOWN),
        )

    def set(
        self, openid: str, *, notify: bool | None = None, logistics: bool | None = None,
        level: str | None = None, consent: str | None = None, at: float | None = None,
    ) -> Preferences:
        values: dict[str, str] = {}
        if consent is not None:
            values["consent"] = consent
            if at is not None:
                values["consent_at"] = str(int(at))
        if notify is not None:
            values["notify"] = "on" if notify else "off"
        if logistics is not None:
            values["logistics"] = "on" if logistics else "off"
        if level is not None:
            values["level"] = level
        if at is not None:
            values["updated_at"] = str(int(at))
        if values:
            self.redis.hset(self.key(openid), mapping=values)
        return self.get(openid)

    def ask_consent(self, openid: str, at: float) -> bool:
        """Note that the welcome asked; True unless the user already answered (a returning
        follower keeps the choice they made)."""
        current = self.get(openid).consent
        if current in (CONSENT_GIVEN, CONSENT_REFUSED):
            return False
        self.set(openid, consent=CONSENT_ASKED, at=at)
        return True
