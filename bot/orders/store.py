"""The one record per order in Redis, written only by one Lua script so every change is atomic.

Keys (all under `orders:`):
- `orders:order:{order_id}`      hash: the order's fields, `tracking` and `history` as JSON lists
- `orders:event:{event_id}`      the event was applied (expires after `event_ttl`)
- `orders:openid:{openid}`       sorted set of the customer's order ids by last update (ms)
- `orders:phone:{phone}`         sorted set of order ids placed with that phone
- `orders:tracking:{tracking_no}` the order id a waybill number belongs to
- `orders:changes`               stream of applied changes, for proactive pushes (docs/orders.md)

The script derives the index keys from the stored record (an order may move to another openid
or waybill), so it assumes one Redis, not a cluster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from bot.orders.model import LIFECYCLE_RANK, Order, iso_from_timestamp, timestamp_of
from bot.platform.outage import OutageLog

PREFIX = "orders:"
STREAM = PREFIX + "changes"
EVENT_TTL = 7 * 86_400
STREAM_MAXLEN = 100_000
MAX_POINTS = 100

# "Older" includes an event of the same time whose status is earlier in the order's life
# (bot.orders.model.LIFECYCLE_RANK).
APPLIED = "applied"      # the event was the newest: the record now says what it says
MERGED = "merged"        # an older event: only its tracking points or status history were new
STALE = "stale"          # an older event that brought nothing new
DUPLICATE = "duplicate"  # this event_id was applied before

# ARGV (positional, so the script decodes no JSON but the tracking points): see
# OrderStore.apply.
# Returns {outcome, old_status, status}.
_APPLY = """
local order_key, event_key, stream_key = KEYS[1], KEYS[2], KEYS[3]
local order_id, event_id, event_ttl, occurred_at, applied_at, score, source, maxlen,
      max_points, status, eta, exception_reason, exception_new_eta = unpack(ARGV, 1, 13)
max_points = tonumber(max_points)
local FILL = {'openid', 'phone', 'carrier', 'tracking_no', 'address', 'amount', 'items',
              'ship_by', 'pickup_code', 'pickup_place', 'pickup_until', 'pickup_collected_at'}
local fill = {}
for i, name in ipairs(FILL) do fill[name] = ARGV[13 + i] end
local new_points = ARGV[14 + #FILL]   -- JSON list, '' when the event has none
local p = '__PREFIX__'
if event_id ~= '' then
  if not redis.call('SET', event_key, applied_at, 'NX', 'EX', event_ttl) then
    local stored = redis.call('HGET', order_key, 'status') or ''
    return {'duplicate', stored, stored}
  end
end
local cur = redis.call('HMGET', order_key, 'status', 'occurred_at', 'openid', 'phone',
                       'tracking_no', 'tracking', 'history', 'eta', 'exception_reason',
                       'exception_new_eta')
local known = cur[1] and cur[1] ~= ''
local old_status = cur[1] or ''
local RANK = __RANKS__
local function rank(s) return RANK[s] or -1 end
local stored_at = cur[2] or ''
local newer
if not known or occurred_at ~= stored_at then
  newer = (not known) or occurred_at > stored_at
elseif occurred_at == '' then
  newer = true   -- two answers of the shop's API: the later fetch is its current state
else
  -- The same moment: the status further along wins, so a tie never rolls the order back.
  newer = rank(status) >= rank(old_status)
end

local function decode(raw)
  if not raw or raw == '' then return {} end
  local ok, value = pcall(cjson.decode, raw)
  if ok and type(value) == 'table' then return value end
  return {}
end
local function encode(list)
  if #list == 0 then return '[]' end
  return cjson.encode(list)
end
local function sort_by_time(list, key_of)
  table.sort(list, function(a, b)
    if a.time ~= b.time then return a.time < b.time end
    return key_of(a) < key_of(b)
  end)
end

-- Tracking points: union, deduplicated by time + description, oldest first, capped.
local function point_key(x) return x.time .. '\\n' .. x.description end
local points_added = 0
local tracking
if new_points ~= '' then
  tracking = decode(cur[6])
  local seen = {}
  for _, x in ipairs(tracking) do seen[point_key(x)] = true end
  for _, x in ipairs(decode(new_points)) do
    local k = point_key(x)
    if not seen[k] then
      seen[k] = true
      tracking[#tracking + 1] = x
      points_added = points_added + 1
    end
  end
  if points_added > 0 then
    sort_by_time(tracking, point_key)
    while #tracking > max_points do table.remove(tracking, 1) end
  end
end

-- Status history: a newer event adds its status when it changes; an older one fills a gap.
-- Changes of the same moment are listed in lifecycle order.
local function status_key(x) return rank(x.status) end
local history_added = 0
local history
if newer then
  if status ~= old_status then history_added = 1 end
else
  history = decode(cur[7])
  history_added = 1
  for _, h in ipairs(history) do
    if h.status == status then history_added = 0 end
  end
end
if history_added > 0 then
  history = history or decode(cur[7])
  history[#history + 1] = {status = status, time = occurred_at ~= '' and occurred_at or applied_at}
  sort_by_time(history, status_key)
end

if not newer and points_added == 0 and history_added == 0 then
  return {'stale', old_status, old_status}
end

local args = {'updated_at', applied_at}
if points_added > 0 then
  args[#args + 1] = 'tracking'; args[#args + 1] = encode(tracking)
end
if history_added > 0 then
  args[#args + 1] = 'history'; args[#args + 1] = encode(history)
end
if not known then
  args[#args + 1] = 'created_at'; args[#args + 1] = applied_at
end
local openid = cur[3] or ''
local now_eta, now_reason, now_new_eta = cur[8] or '', cur[9] or '', cur[10] or ''
local now_status = old_status
if newer then
  local set = {status = status, occurred_at = occurred_at, eta = eta,
               exception_reason = exception_reason, exception_new_eta = exception_new_eta,
               source = source}
  for k, v in pairs(set) do args[#args + 1] = k; args[#args + 1] = v end
  now_status, now_eta, now_reason, now_new_eta = status, eta, exception_reason,
                                                 exception_new_eta
  for _, k in ipairs(FILL) do
    if fill[k] ~= '' then args[#args + 1] = k; args[#args + 1] = fill[k] end
  end
  -- The shop may move an order to another customer, phone or waybill: re-index it.
  local old_phone, old_tracking = cur[4] or '', cur[5] or ''
  if fill.openid ~= '' then
    if openid ~= '' and openid ~= fill.openid then
      redis.call('ZREM', p .. 'openid:' .. openid, order_id)
    end
    openid = fill.openid
  end
  if fill.phone ~= '' and old_phone ~= '' and old_phone ~= fill.phone then
    redis.call('ZREM', p .. 'phone:' .. old_phone, order_id)
  end
  if fill.tracking_no ~= '' and old_tracking ~= '' and old_tracking ~= fill.tracking_no
     and redis.call('GET', p .. 'tracking:' .. old_tracking) == order_id then
    redis.call('DEL', p .. 'tracking:' .. old_tracking)
  end
  if openid ~= '' then
    redis.call('ZADD', p .. 'openid:' .. openid, 'GT', score, order_id)
  end
  local phone = fill.phone ~= '' and fill.phone or old_phone
  if phone ~= '' then
    redis.call('ZADD', p .. 'phone:' .. phone, 'GT', score, order_id)
  end
  -- An unchanged waybill is written again only if its index entry went missing.
  if fill.tracking_no ~= '' and (fill.tracking_no ~= old_tracking
     or redis.call('EXISTS', p .. 'tracking:' .. fill.tracking_no) == 0) then
    redis.call('SET', p .. 'tracking:' .. fill.tracking_no, order_id)
  end
end
redis.call('HSET', order_key, unpack(args))

redis.call('XADD', stream_key, 'MAXLEN', '~', maxlen, '*',
  'event_id', event_id, 'order_id', order_id, 'openid', openid,
  'old_status', old_status, 'new_status', now_status,
  'occurred_at', occurred_at, 'applied_at', applied_at,
  'eta', now_eta, 'exception_reason', now_reason, 'exception_new_eta', now_new_eta,
  'stale', newer and '0' or '1', 'tracking_added', tostring(points_added), 'source', source)
return {newer and 'applied' or 'merged', old_status, now_status}
"""

_APPLY = _APPLY.replace("__PREFIX__", PREFIX).replace("__RANKS__", "{" + ", ".join(
    f"{status} = {rank}" for status, rank in LIFECYCLE_RANK.items()) + "}")

# KEYS[1] order hash; ARGV: prefix, openid, the phone it was verified against, now (ISO),
# index score, order id.
_BIND = """
local cur = redis.call('HMGET', KEYS[1], 'status', 'openid', 'phone')
if not cur[1] then return 0 end
if cur[2] and cur[2] ~= '' then
  if cur[2] == ARGV[2] then return 1 end
  return 0
end
if (cur[3] or '') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'openid', ARGV[2], 'bound_at', ARGV[4])
redis.call('ZADD', ARGV[1] .. 'openid:' .. ARGV[2], 'GT', ARGV[5], ARGV[6])
return 1
"""

# KEYS[1] order hash; ARGV: prefix, openid, order id. Undoes a claim: only an order bound by a
# claim (bound_at set) to this openid goes back to phone-only.
_UNBIND = """
local cur = redis.call('HMGET', KEYS[1], 'openid', 'bound_at')
if cur[1] ~= ARGV[2] or not cur[2] or cur[2] == '' then return 0 end
redis.call('HSET', KEYS[1], 'openid', '')
redis.call('HDEL', KEYS[1], 'bound_at')
redis.call('ZREM', ARGV[1] .. 'openid:' .. ARGV[2], ARGV[3])
return 1
"""

# KEYS[1] order hash; ARGV: prefix, order id. Removes the record and its index entries.
_DELETE = """
local cur = redis.call('HMGET', KEYS[1], 'openid', 'phone', 'tracking_no')
if cur[1] and cur[1] ~= '' then redis.call('ZREM', ARGV[1] .. 'openid:' .. cur[1], ARGV[2]) end
if cur[2] and cur[2] ~= '' then redis.call('ZREM', ARGV[1] .. 'phone:' .. cur[2], ARGV[2]) end
if cur[3] and cur[3] ~= ''
   and redis.call('GET', ARGV[1] .. 'tracking:' .. cur[3]) == ARGV[2] then
  redis.call('DEL', ARGV[1] .. 'tracking:' .. cur[3])
end
return redis.call('DEL', KEYS[1])
"""


_SOLO = OutageLog("Redis replica")


class NotReplicated(redis.RedisError):
    """Stored on the master but not yet on a replica: a failover now could lose it, so the
    event is not acknowledged (the shop retries; the retry is a duplicate, applied once)."""


@dataclass(frozen=True)
class ApplyResult:
    outcome: str          # APPLIED, MERGED, STALE or DUPLICATE
    old_status: str
    status: str


def order_key(order_id: str) -> str:
    return f"{PREFIX}order:{order_id}"


class OrderStore:
    """Reads and atomically writes order records; one round trip per applied event."""

    def __init__(self, client: redis.Redis, event_ttl: int = EVENT_TTL,
                 stream_maxlen: int = STREAM_MAXLEN) -> None:
        self.redis = client
        self.event_ttl = event_ttl
        self.stream_maxlen = stream_maxlen
        # Registered once; redis-py sends EVALSHA and loads the script again only if Redis
        # lost it (restart, SCRIPT FLUSH).
        self._apply = client.register_script(_APPLY)
        self._bind = client.register_script(_BIND)
        self._delete = client.register_script(_DELETE)
        self._unbind = client.register_script(_UNBIND)

    def apply(self, order: Order, *, event_id: str, occurred_at: str, applied_at: float,
              source: str = "event", replicas: int = 0, wait_ms: int = 500) -> ApplyResult:
        """Apply one event's snapshot of `order` (tracking points in stored form, sorted).
        `occurred_at` "" (an API answer) loses to any event the shop sent. With `replicas`,
        raises NotReplicated unless that many replicas have the write within `wait_ms`."""
        applied_iso = iso_from_timestamp(applied_at)
        when = timestamp_of(occurred_at) if occurred_at else applied_at
        items = json.dumps(
            [{"name": i.name, "quantity": i.quantity, "category": i.category}
             for i in order.items], ensure_ascii=False) if order.items else ""
        tracking = json.dumps(
            [{"time": p.time, "location": p.location, "description": p.description}
             for p in order.tracking], ensure_ascii=False) if order.tracking else ""
        args = [order.order_id, event_id, self.event_ttl, occurred_at, applied_iso,
                int(when * 1000), source, self.stream_maxlen, MAX_POINTS,
                order.status, order.eta, order.exception_reason, order.exception_new_eta,
                # the fields an event fills in only when it carries them (script's FILL)
                order.openid, order.phone, order.carrier, order.tracking_no, order.address,
                order.amount, items, order.ship_by, order.pickup_code, order.pickup_place,
                order.pickup_until, order.pickup_collected_at, tracking]
        keys = [order_key(order.order_id), f"{PREFIX}event:{event_id}", STREAM]
        if not replicas:
            outcome, old_status, status = self._apply(keys=keys, args=args)
            return ApplyResult(outcome, old_status, status)
        # WAIT counts the writes of its own connection: one pipeline, one connection.
        pipe = self.redis.pipeline(transaction=False)
        self._apply(keys=keys, args=args, client=pipe)
        pipe.wait(replicas, wait_ms)
        (outcome, old_status, status), acked = pipe.execute()
        if int(acked) < replicas and self._connected_replicas() >= replicas:
            raise NotReplicated(f"{acked} of {replicas} replica(s) acknowledged in {wait_ms} ms")
        if int(acked) < replicas:
            # No replica to wait for (after a failover the only one became the master):
            # refusing every event until one is back would stop the shop's updates instead.
            _SOLO.failed(NotReplicated(f"{acked} of {replicas} replica(s) connected; order "
                                       "events are acknowledged from the master alone"))
        return ApplyResult(outcome, old_status, status)

    def _connected_replicas(self) -> int:
        role = self.redis.execute_command("ROLE")
        return len(role[2]) if role and role[0] in ("master", b"master") else 0

    def get(self, order_id: str) -> Order | None:
        return Order.from_hash(order_id, self.redis.hgetall(order_key(order_id)))

    def get_many(self, order_ids: list[str]) -> list[Order]:
        if not order_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for order_id in order_ids:
            pipe.hgetall(order_key(order_id))
        found = (Order.from_hash(i, raw) for i, raw in zip(order_ids, pipe.execute(), strict=True))
        return [order for order in found if order is not None]

    def ids_for_openid(self, openid: str, limit: int = 20) -> list[str]:
        return self.redis.zrevrange(f"{PREFIX}openid:{openid}", 0, limit - 1)

    def ids_for_phone(self, phone: str, limit: int = 20) -> list[str]:
        return self.redis.zrevrange(f"{PREFIX}phone:{phone}", 0, limit - 1)

    def id_for_tracking(self, tracking_no: str) -> str | None:
        return self.redis.get(f"{PREFIX}tracking:{tracking_no.upper()}")

    def bind(self, order_id: str, openid: str, phone: str, at: float) -> bool:
        """Give a phone-only order to `openid`, if it still has no owner and that phone."""
        done = self._bind(
            keys=[order_key(order_id)],
            args=[PREFIX, openid, phone, iso_from_timestamp(at), str(int(at * 1000)), order_id],
        )
        return bool(done)

    def unbind(self, order_id: str, openid: str) -> bool:
        """Undo a claim of `order_id` by `openid` (an order the shop gave them stays theirs)."""
        return bool(self._unbind(keys=[order_key(order_id)], args=[PREFIX, openid, order_id]))

    def delete(self, order_id: str) -> bool:
        """Remove an order and its index entries. The shop never deletes orders; the demo does,
        to seed its orders afresh (bot/demo_orders.py)."""
        return bool(self._delete(keys=[order_key(order_id)], args=[PREFIX, order_id]))

    def changes(self, count: int = 100, after: str = "-") -> list[tuple[str, dict[str, str]]]:
        """Entries of the change stream (oldest first), for consumers and tests."""
        return self.redis.xrange(STREAM, min=after, count=count)
