"""Orders a user asked to follow ("这个订单有变化提醒我"): every update of that order is pushed,
whatever their level or logistics setting (quiet hours still apply)."""

from __future__ import annotations

import redis

FOLLOW_TTL = 90 * 86_400


class FollowStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def key(openid: str) -> str:
        return f"pushes:follow:{openid}"

    def follow(self, openid: str, order_id: str) -> bool:
        """True when newly followed."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.sadd(self.key(openid), order_id)
        pipe.expire(self.key(openid), FOLLOW_TTL)
        added, _ = pipe.execute()
        return bool(added)

    def unfollow_all(self, openid: str) -> None:
        self.redis.delete(self.key(openid))

    def follows(self, openid: str, order_id: str) -> bool:
        return bool(self.redis.sismember(self.key(openid), order_id))

    def orders(self, openid: str) -> list[str]:
        return sorted(self.redis.smembers(self.key(openid)))
