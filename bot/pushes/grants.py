"""One-time subscribe grants, and channels WeChat told us to stop using for a user.

A grant comes from `subscribe_msg_popup_event` (the user ticked "accept" for a template) and is
spent by one send. A stop comes from an unfollow, 43004 (not following) or 43101 (the user
refused that message); a stop of the whole account (`wechat`) lapses when the user follows
again (their `subscribed_at` is later than the stop).
"""

from __future__ import annotations

import time

import redis

ALL_WECHAT = "wechat"   # every WeChat channel: the user does not follow the account
GRANT_TTL = 365 * 86_400

# Spend one grant only if there is one left.
_SPEND = """
local n = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if n <= 0 then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
return 1
"""


class Grants:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._spend = client.register_script(_SPEND)

    @staticmethod
    def grant_key(openid: str) -> str:
        return f"pushes:grant:{openid}"

    @staticmethod
    def stop_key(openid: str) -> str:
        return f"pushes:stop:{openid}"

    # Subscribe grants -----------------------------------------------------------------------

    def grant(self, openid: str, template_id: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hincrby(self.grant_key(openid), template_id, 1)
        pipe.expire(self.grant_key(openid), GRANT_TTL)
        pipe.execute()

    def revoke(self, openid: str, template_id: str) -> None:
        self.redis.hdel(self.grant_key(openid), template_id)

    def available(self, openid: str, template_id: str) -> int:
        return int(self.redis.hget(self.grant_key(openid), template_id) or 0)

    def spend(self, openid: str, template_id: str) -> bool:
        return bool(self._spend(keys=[self.grant_key(openid)], args=[template_id]))

    def refund(self, openid: str, template_id: str) -> None:
        """A send that WeChat refused before delivering gives the grant back."""
        self.redis.hincrby(self.grant_key(openid), template_id, 1)

    # Stops ----------------------------------------------------------------------------------

    def stop(self, openid: str, channel: str, code: str, at: float | None = None) -> None:
        self.redis.hset(self.stop_key(openid), channel, f"{at or time.time():.3f}|{code}")

    def stopped(self, openid: str, subscribed_at: float,
                raw_stops: dict[str, str] | None = None) -> dict[str, str]:
        """Channel → the code that stopped it, for stops newer than the latest follow
        (`raw_stops`: the stop hash when already read)."""
        out = {}
        if raw_stops is None:
            raw_stops = self.redis.hgetall(self.stop_key(openid))
        for channel, raw in raw_stops.items():
            at, _, code = raw.partition("|")
            if float(at) >= subscribed_at:
                out[channel] = code
        return out
