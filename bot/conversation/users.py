"""What the bot knows of each follower: following or not, language, consent, recorded events."""

from __future__ import annotations

import json
from typing import Any

import redis

EVENT_LOG_MAX = 200


# How often an unknown user's profile may be asked of WeChat.
INFO_FETCH_TTL = 86_400
SEEN_KEEP = 50
SEEN_TTL = 90 * 86_400


class UserStore:
    """One hash per user (`user:{openid}`) and a capped list of their recorded events."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def key(openid: str) -> str:
        return f"user:{openid}"

    def get(self, openid: str) -> dict[str, str]:
        return self.redis.hgetall(self.key(openid))

    def update(self, openid: str, **fields: Any) -> None:
        values = {k: ("" if v is None else str(v)) for k, v in fields.items()}
        if values:
            self.redis.hset(self.key(openid), mapping=values)

    def lang(self, openid: str) -> str | None:
        return self.redis.hget(self.key(openid), "lang")

    @staticmethod
    def info_fetch_key(openid: str) -> str:
        return f"user:{openid}:info_fetch"

    def claim_info_fetch(self, openid: str) -> bool:
        """True once a day per user: whoever gets it asks WeChat for the user's info."""
        return bool(self.redis.set(self.info_fetch_key(openid), 1, nx=True, ex=INFO_FETCH_TTL))

    def seen(self, openid: str, at: float, pipe: Any = None) -> None:
        """The user wrote, clicked a menu, followed or scanned: WeChat's 48-hour window for
        客服消息 opens again from now (bot/pushes/channels.py counts from it)."""
        target = pipe if pipe is not None else self.redis.pipeline(transaction=False)
        target.hset(self.key(openid), "last_message_at", f"{at:.3f}")
        # The latest times, newest first: bot/pushes/best_hour.py learns the user's hour.
        target.lpush(self.seen_key(openid), int(at))
        target.ltrim(self.seen_key(openid), 0, SEEN_KEEP - 1)
        target.expire(self.seen_key(openid), SEEN_TTL)
        if pipe is None:
            target.execute()

    @staticmethod
    def seen_key(openid: str) -> str:
        return f"user:{openid}:seen"

    def subscribed(self, openid: str, at: float) -> None:
        self.update(openid, following=1, subscribed_at=int(at))

    def unsubscribed(self, openid: str, at: float) -> None:
        # Kept, not deleted: orders and consent history still refer to this user.
        self.update(openid, following=0, unsubscribed_at=int(at))

    def is_following(self, openid: str) -> bool:
        return self.redis.hget(self.key(openid), "following") != "0"

    def record_event(self, openid: str, event: str, at: float, **detail: Any) -> None:
        """Keep SCAN/VIEW/LOCATION/TEMPLATESENDJOBFINISH for support staff and pushes."""
        entry = json.dumps({"event": event, "at": int(at), **detail}, ensure_ascii=False)
        pipe = self.redis.pipeline(transaction=False)
        pipe.lpush(f"user:{openid}:events", entry)
        pipe.ltrim(f"user:{openid}:events", 0, EVENT_LOG_MAX - 1)
        pipe.execute()

    def events(self, openid: str, limit: int = 20) -> list[dict[str, Any]]:
        return [json.loads(e) for e in self.redis.lrange(f"user:{openid}:events", 0, limit - 1)]
