"""Login throttling per account name and per address, in Redis so every worker agrees.

Failures count in a fixed window; once a name or an address reaches its limit, further tries are
refused without checking the password until the window ends. Unknown names are counted the
same way as known ones, so the throttle says nothing about which names exist.
"""

from __future__ import annotations

import hashlib

import redis

WINDOW = 15 * 60
PER_NAME = 5
PER_ADDRESS = 20


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode("utf-8")).hexdigest()[:24]
    return f"console:login-fail:{kind}:{digest}"


class LoginThrottle:
    def __init__(self, client: redis.Redis, window: int = WINDOW,
                 per_name: int = PER_NAME, per_address: int = PER_ADDRESS) -> None:
        self.redis = client
        self.window, self.per_name, self.per_address = window, per_name, per_address

    def blocked(self, name: str, address: str) -> bool:
        by_name, by_address = self.redis.mget(_key("name", name), _key("addr", address))
        return int(by_name or 0) >= self.per_name or int(by_address or 0) >= self.per_address

    def failed(self, name: str, address: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for k in (_key("name", name), _key("addr", address)):
            pipe.incr(k)
            pipe.expire(k, self.window, nx=True)
        pipe.execute()

    def succeeded(self, name: str) -> None:
        self.redis.delete(_key("name", name))
