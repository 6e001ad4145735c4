"""Who changed what, when: every change made in the console, newest first, shown to admins."""

from __future__ import annotations

import json
from typing import Any

import redis

LOG = "console:audit"
KEPT = 20_000


class AuditLog:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def record(self, who: str, action: str, at: float, **detail: Any) -> None:
        entry = json.dumps({"at": int(at), "who": who, "action": action, "detail": detail},
                           ensure_ascii=False, default=str)
        pipe = self.redis.pipeline(transaction=False)
        pipe.lpush(LOG, entry)
        pipe.ltrim(LOG, 0, KEPT - 1)
        pipe.execute()

    def latest(self, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
        return [json.loads(e) for e in self.redis.lrange(LOG, offset, offset + limit - 1)]
