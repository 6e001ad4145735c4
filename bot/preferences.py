"""Each user's notification preferences, set by chat ("关闭物流推送", "只要重要通知")."""

from __future__ import annotations

from dataclasses import dataclass

import redis

ALL = "all"
IMPORTANT = "important"


@dataclass(frozen=True)
class Preferences:
    """`notify` is the master switch (consent); `logistics` covers in-transit updates;
    `level` = important keeps only what needs the user (exceptions, delivery, payment)."""

    notify: bool = True
    logistics: bool = True
    level: str = ALL


class PreferenceStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def key(openid: str) -> str:
        return f"prefs:{openid}"

    def get(self, openid: str) -> Preferences:
        raw = self.redis.hgetall(self.key(openid))
        return Preferences(
            notify=raw.get("notify", "on") == "on",
            logistics=raw.get("logistics", "on") == "on",
            level=raw.get("level", ALL),
        )

    def set(
        self, openid: str, *, notify: bool | None = None, logistics: bool | None = None,
        level: str | None = None, at: float | None = None,
    ) -> Preferences:
        values: dict[str, str] = {}
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
