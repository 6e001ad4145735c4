"""The staff follow-up list: orders a person should chase (a parcel that stopped moving).

Keys: `pushes:followup` sorted set order_id → when it was added; `pushes:followup:{order_id}`
hash with the reason, the details and who resolved it. Adding an order already on the list
keeps its first entry (the scan sees a stuck parcel every run). The console shows `open()`.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

OPEN = "pushes:followup"
DONE = "pushes:followup:done"
DONE_KEEP = 1000


def item_key(order_id: str) -> str:
    return f"pushes:followup:{order_id}"


@dataclass(frozen=True)
class FollowUp:
    order_id: str
    reason: str
    added_at: int
    detail: dict[str, str]
    resolved_at: int = 0
    resolved_by: str = ""
    note: str = ""


class FollowUpList:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def add(self, order_id: str, reason: str, at: float, **detail: str) -> bool:
        """Put `order_id` on the list; False if it is already on it."""
        if not self.redis.zadd(OPEN, {order_id: int(at)}, nx=True):
            return False
        fields = {"reason": reason, "added_at": str(int(at)),
                  **{f"d_{k}": str(v) for k, v in detail.items()}}
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(item_key(order_id))
        pipe.hset(item_key(order_id), mapping=fields)
        pipe.execute()
        return True

    def resolve(self, order_id: str, by: str, at: float, note: str = "") -> bool:
        """Take `order_id` off the open list (kept among the latest resolved)."""
        if not self.redis.zrem(OPEN, order_id):
            return False
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(item_key(order_id), mapping={"resolved_at": str(int(at)), "resolved_by": by,
                                               "note": note})
        pipe.zadd(DONE, {order_id: int(at)})
        pipe.zremrangebyrank(DONE, 0, -DONE_KEEP - 1)
        pipe.execute()
        return True

    def open(self, limit: int = 100) -> list[FollowUp]:
        """Open items, oldest first (the longest waiting on top)."""
        ids = self.redis.zrange(OPEN, 0, limit - 1)
        return [item for item in map(self.get, ids) if item is not None]

    def get(self, order_id: str) -> FollowUp | None:
        raw = self.redis.hgetall(item_key(order_id))
        if not raw:
            return None
        return FollowUp(
            order_id=order_id, reason=raw.get("reason", ""),
            added_at=int(raw.get("added_at", 0)),
            detail={k[2:]: v for k, v in raw.items() if k.startswith("d_")},
            resolved_at=int(raw.get("resolved_at") or 0),
            resolved_by=raw.get("resolved_by", ""), note=raw.get("note", ""),
        )

    def __len__(self) -> int:
        return int(self.redis.zcard(OPEN))
