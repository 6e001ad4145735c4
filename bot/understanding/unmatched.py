"""Queries the matcher could not place, kept for support staff and grouped with look-alikes.

A group is keyed by its first query's normalised text; a later query whose normalised text is
near-identical (rapidfuzz ratio ≥ GROUP_SIMILARITY) joins it, so "怎么改发票抬头" and
"怎么改发票抬头啊" are counted together.

`record` is on the path of every unmatched chat message, so it costs one Redis round trip:
each process keeps the groups' representative texts in memory (refreshed every CACHE_SECONDS)
and finds the group itself; one Lua script then writes the sample. Creating a group is
checked in the same script against a counter of groups created: if another process created
one since this process last looked, nothing is written and the script hands back the new
groups instead, which are compared and the write retried. Two near-identical first queries
arriving at once in two workers therefore still end up in one group.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from typing import Any

import redis
from rapidfuzz import fuzz, process

GROUPS = "unmatched:groups"          # zset: group id -> count
GROUP_REPS = "unmatched:reps"        # hash: group id -> normalised representative text
CREATED = "unmatched:created"        # counter: groups created so far
RECENT = "unmatched:recent"          # list, newest first: [counter, group id, representative]
GROUP_SIMILARITY = 88
SAMPLES_KEPT = 50
REP_SCAN_LIMIT = 5000                # the busiest groups a process compares against
RECENT_KEPT = 200
CACHE_SECONDS = 10.0
RETRIES = 3

# KEYS: groups, reps, created, recent, group hash and samples of ARGV[1] and of ARGV[2].
# ARGV: group id found by the caller, exact group id (hash of the text), normalised text,
#       the created-counter the caller knows ("" = create regardless), text, time, sample,
#       samples kept, recent kept.
# Returns {1, group id, counter} when written (counter: the group's number when this call
# created it, else 0), or {0, counter, recent entries} when groups were created that the
# caller has not compared against.
_RECORD = """
local gid, group, samples = ARGV[1], KEYS[5], KEYS[6]
local made = 0
if redis.call('HEXISTS', KEYS[2], gid) == 0 then
  gid, group, samples = ARGV[2], KEYS[7], KEYS[8]
  if redis.call('HEXISTS', KEYS[2], gid) == 0 then
    local created = tonumber(redis.call('GET', KEYS[3]) or '0')
    if ARGV[4] ~= '' and created ~= tonumber(ARGV[4]) then
      local missed = created - tonumber(ARGV[4])
      if missed < 0 or missed > tonumber(ARGV[9]) then missed = tonumber(ARGV[9]) end
      return {0, created, redis.call('LRANGE', KEYS[4], 0, missed - 1)}
    end
    made = redis.call('INCR', KEYS[3])
    redis.call('HSET', KEYS[2], gid, ARGV[3])
    redis.call('LPUSH', KEYS[4], cjson.encode({made, gid, ARGV[3]}))
    redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[9]) - 1)
  end
end
redis.call('ZINCRBY', KEYS[1], 1, gid)
redis.call('HSETNX', group, 'text', ARGV[5])
redis.call('HSETNX', group, 'first_at', ARGV[6])
redis.call('HSET', group, 'last_at', ARGV[6], 'candidates', ARGV[7])
redis.call('HINCRBY', group, 'count', 1)
redis.call('LPUSH', samples, ARGV[7])
redis.call('LTRIM', samples, 0, tonumber(ARGV[8]) - 1)
return {1, gid, made}
"""


class UnmatchedStore:
    """Record, group, list and resolve unmatched queries."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._script = client.register_script(_RECORD)
        self._lock = threading.Lock()
        self._by_rep: dict[str, str] = {}            # representative -> group id
        self._by_length: dict[int, list[str]] = {}   # representatives by length
        self._known = -1                     # CREATED as of the copy; -1: no copy yet
        self._loaded_at = 0.0

    @staticmethod
    def group_key(group_id: str) -> str:
        return f"unmatched:group:{group_id}"

    def record(
        self, text: str, normalised: str, openid: str, at: float,
        candidates: list[tuple[str, float]] | tuple = (),
    ) -> str:
        """Keep one unmatched query; returns the id of the group it joined."""
        normalised = normalised or text
        exact = hashlib.sha1(normalised.encode("utf-8")).hexdigest()[:12]
        sample = json.dumps(
            {"text": text, "openid": openid, "at": int(at),
             "candidates": [[c, s] for c, s in candidates]},
            ensure_ascii=False,
        )
        if time.monotonic() - self._loaded_at >= CACHE_SECONDS:
            self._load()
        for attempt in range(RETRIES):
            group_id, known = self._group_for(normalised, exact)
            # The last try creates regardless: a group too many beats a query lost.
            check = "" if attempt == RETRIES - 1 else str(known)
            keys = [GROUPS, GROUP_REPS, CREATED, RECENT,
                    self.group_key(group_id), f"{self.group_key(group_id)}:samples",
                    self.group_key(exact), f"{self.group_key(exact)}:samples"]
            args = [group_id, exact, normalised, check, text, int(at), sample, SAMPLES_KEPT,
                    RECENT_KEPT]
            done, value, extra = self._script(keys=keys, args=args)
            if done:
                if extra:
                    self._created(int(extra), value, normalised)
                return value
            self._catch_up(int(value), [json.loads(e) for e in extra])
        raise AssertionError("unreachable: the last try always writes")

    def _group_for(self, normalised: str, exact: str) -> tuple[str, int]:
        """The group a query joins, as far as this process knows, and the counter it knew."""
        with self._lock:
            found = self._by_rep.get(normalised)
            if found is not None:
                return found, self._known
            # Only texts of about the same length can reach GROUP_SIMILARITY: the ratio is at
            # most 2·min(a, b)/(a + b).
            size = len(normalised)
            low = math.ceil(size * GROUP_SIMILARITY / (200 - GROUP_SIMILARITY))
            high = math.floor(size * (200 - GROUP_SIMILARITY) / GROUP_SIMILARITY)
            choices = [rep for n in range(low, high + 1) for rep in self._by_length.get(n, ())]
            best = process.extractOne(normalised, choices, scorer=fuzz.ratio,
                                      score_cutoff=GROUP_SIMILARITY)
            return (self._by_rep[best[0]] if best else exact), self._known

    def _load(self) -> None:
        """The busiest groups' representatives, and the counter they are current as of."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(CREATED)       # read first: a group created meanwhile is then seen as new
        pipe.zrevrange(GROUPS, 0, REP_SCAN_LIMIT - 1)
        created, top = pipe.execute()
        reps = self.redis.hmget(GROUP_REPS, top) if top else []
        with self._lock:
            self._by_rep, self._by_length = {}, {}
            for group_id, rep in zip(top, reps, strict=True):
                if rep:
                    self._add(group_id, rep)
            self._known = int(created or 0)
            self._loaded_at = time.monotonic()

    def _add(self, group_id: str, rep: str) -> None:
        # Called with the lock held.
        if rep not in self._by_rep:
            self._by_rep[rep] = group_id
            self._by_length.setdefault(len(rep), []).append(rep)

    def _created(self, number: int, group_id: str, rep: str) -> None:
        """This process created group `number`: add it to the copy."""
        with self._lock:
            self._add(group_id, rep)
            # The copy is current up to `number` only if it was current up to the one before.
            if number == self._known + 1:
                self._known = number

    def _catch_up(self, counter: int, entries: list[list[Any]]) -> None:
        """Groups other processes created since this copy was current (newest first)."""
        if counter < self._known or counter - self._known > RECENT_KEPT:
            self._load()   # counter reset, or more created than the list keeps: start over
            return
        with self._lock:
            for _, group_id, rep in entries:
                self._add(group_id, rep)
            self._known = max(self._known, counter)

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
        with self._lock:
            # Other processes notice within CACHE_SECONDS; meanwhile the script sees the group
            # is gone and starts a new one instead of reviving it.
            for rep, owner in list(self._by_rep.items()):
                if owner == group_id:
                    del self._by_rep[rep]
                    self._by_length[len(rep)].remove(rep)

    def total(self) -> int:
        return int(sum(score for _, score in self.redis.zrange(GROUPS, 0, -1, withscores=True)))
