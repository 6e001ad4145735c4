"""Queries the matcher could not place, kept for support staff and grouped with look-alikes.

A group is keyed by its first query's normalised text; a later query whose normalised text is
near-identical (rapidfuzz ratio ≥ GROUP_SIMILARITY) joins it, so "怎么改发票抬头" and
"怎么改发票抬头啊" are counted together.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import redis
from rapidfuzz import fuzz, process

GROUPS = "unmatched:groups"          # zset: group id -> count
GROUP_REPS = "unmatched:reps"        # hash: group id -> normalised representative text
GROUP_SIMILARITY = 88
SAMPLES_KEPT = 50
REP_SCAN_LIMIT = 5000


class UnmatchedStore:
    """Record, group, list and resolve unmatched queries."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def group_key(group_id: str) -> str:
        return f"unmatched:group:{group_id}"

    def record(
        self, text: str, normalised: str, openid: str, at: float,
        candidates: list[tuple[str, float]] | tuple = (),
    ) -> str:
        """Keep one unmatched query; returns the id of the group it joined."""
        group_id = self._group_for(normalised or text)
        sample = json.dumps(
            {"text": text, "openid": openid, "at": int(at),
             "candidates": [[c, s] for c, s in candidates]},
            ensure_ascii=False,
        )
        key = self.group_key(group_id)
        pipe = self.redis.pipeline()
        pipe.zincrby(GROUPS, 1, group_id)
        pipe.hsetnx(GROUP_REPS, group_id, normalised or text)
        pipe.hsetnx(key, "text", text)
        pipe.hsetnx(key, "first_at", int(at))
        pipe.hset(key, mapping={"last_at": int(at), "candidates": sample})
        pipe.hincrby(key, "count", 1)
        pipe.lpush(f"{key}:samples", sample)
        pipe.ltrim(f"{key}:samples", 0, SAMPLES_KEPT - 1)
        pipe.execute()
        return group_id

    def _group_for(self, normalised: str) -> str:
        exact = hashlib.sha1(normalised.encode("utf-8")).hexdigest()[:12]
        if self.redis.hexists(GROUP_REPS, exact):
            return exact
        # Only the busiest groups are compared, which keeps this bounded on a big backlog.
        top = self.redis.zrevrange(GROUPS, 0, REP_SCAN_LIMIT - 1)
        if top:
            reps = dict(zip(top, self.redis.hmget(GROUP_REPS, top), strict=True))
            reps = {gid: rep for gid, rep in reps.items() if rep}
            best = process.extractOne(
                normalised, reps, scorer=fuzz.ratio, score_cutoff=GROUP_SIMILARITY
            )
            if best:
                return best[2]
        return exact

    def groups(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """The most frequent groups first, each with its latest samples."""
        ids = self.redis.zrevrange(GROUPS, offset, offset + limit - 1, withscores=True)
        out = []
        for group_id, count in ids:
            info = self.redis.hgetall(self.group_key(group_id))
            latest = self.redis.lrange(f"{self.group_key(group_id)}:samples", 0, 9)
            samples = [json.loads(s) for s in latest]
            out.append({
                "id": group_id,
                "text": info.get("text", ""),
                "count": int(count),
                "first_at": int(info.get("first_at", 0)),
                "last_at": int(info.get("last_at", 0)),
                "samples": samples,
                "candidates": json.loads(info["candidates"])["candidates"]
                if info.get("candidates") else [],
            })
        return out

    def get(self, group_id: str) -> dict[str, Any] | None:
        info = self.redis.hgetall(self.group_key(group_id))
        if not info:
            return None
        samples = self.redis.lrange(f"{self.group_key(group_id)}:samples", 0, SAMPLES_KEPT - 1)
        return {"id": group_id, **info, "samples": [json.loads(s) for s in samples]}

    def resolve(self, group_id: str) -> None:
        """Drop a group once staff turned it into an example or an FAQ."""
        pipe = self.redis.pipeline()
        pipe.zrem(GROUPS, group_id)
        pipe.hdel(GROUP_REPS, group_id)
        pipe.delete(self.group_key(group_id), f"{self.group_key(group_id)}:samples")
        pipe.execute()

    def total(self) -> int:
        return int(sum(score for _, score in self.redis.zrange(GROUPS, 0, -1, withscores=True)))
