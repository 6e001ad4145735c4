"""One scan: bring the watch index up to date from the `orders:changes` stream, look at every
watched order, and enqueue what the scans find (stuck parcels also go on the follow-up list).

The index (`pushes:watch`, a sorted set: order id → when to look at it next) holds the orders
a scan may have something to say about: paid or being processed, with the carrier, or
delivered to a pickup point. A scan loads only the orders due now, so its cost follows what
can happen, not how many orders are open: after a look, an order is next due when one of its
thresholds is reached (the stale time, the reminder, the last call, a day after payment), or
at once when the stream says it changed. The stream is read from a cursor the scan keeps
(`pushes:watch:cursor`), so no consumer group is needed and a second run reads nothing twice;
an order leaves the index once nothing can come of it (cancelled, refunded, collected,
delivered to the door).

Runs on the leader only, but is safe to run twice: each finding is claimed once
(`pushes:watch:found:{order}:{kind}:{version}`) and the push pipeline dedupes by the same
identity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from bot.orders.model import (
    DELIVERED,
    EXCEPTION,
    IN_TRANSIT,
    OUT_FOR_DELIVERY,
    PAID,
    PROCESSING,
    SHIPPED,
    Order,
)
from bot.orders.store import STREAM, OrderStore
from bot.pushes.hours import local_day
from bot.pushes.switches import Switches
from bot.pushes.watch.followup import FollowUpList
from bot.pushes.watch.scans import (
    HOUR,
    LAST_CALL,
    STUCK,
    Finding,
    collected,
    last_movement,
    not_shipped,
    pickup_of,
    pickup_reminder,
    status_since,
    stuck,
)

log = logging.getLogger(__name__)

INDEX = "pushes:watch"
CURSOR = "pushes:watch:cursor"
FOUND_TTL = 30 * 86_400
READ_BATCH = 1000
LOAD_BATCH = 500
# An order with nothing ahead is looked at again after this long anyway (a safety net for a
# change the stream trimmed away before the scan read it).
RECHECK = 86_400.0
# A paid order not shipped: once its first update is due, looked at hourly (one a day at most).
UNSHIPPED_RECHECK = 3600.0
WATCHED = frozenset({PAID, PROCESSING, SHIPPED, IN_TRANSIT, OUT_FOR_DELIVERY, EXCEPTION,
                     DELIVERED})

# (order, finding, due_at) → enqueued? The push pipeline's enqueue, adapted in the root.
Enqueue = Callable[[Order, Finding, float], object]
# (kind, openid, now) → when a push of that kind should go (best hour for non-urgent ones).
Placer = Callable[[str, str, float], float]


@dataclass(frozen=True)
class ScanSettings:
    tz: str
    stale_hours: float
    pickup_hours: float
    unshipped_hours: float
    collected_words: tuple[str, ...] = ()


@dataclass
class ScanReport:
    read: int = 0
    watched: int = 0
    dropped: int = 0
    found: list[Finding] = field(default_factory=list)
    switched_off: int = 0


class WatchScanner:
    def __init__(self, client: redis.Redis, store: OrderStore, settings: ScanSettings,
                 enqueue: Enqueue, followups: FollowUpList, switches: Switches,
                 place: Placer | None = None) -> None:
        self.redis = client
        self.store = store
        self.settings = settings
        self.enqueue = enqueue
        self.followups = followups
        self.switches = switches
        self.place = place or (lambda kind, openid, now: now)

    def run(self, now: float) -> ScanReport:
        report = ScanReport()
        report.read = self.catch_up()
        ids = self.redis.zrangebyscore(INDEX, "-inf", now)
        report.watched = len(ids)
        for start in range(0, len(ids), LOAD_BATCH):
            batch = ids[start:start + LOAD_BATCH]
            orders = {o.order_id: o for o in self.store.get_many(batch)}
            gone = [i for i in batch
                    if i not in orders or not self._worth_watching(orders[i], now)]
            if gone:
                self.redis.zrem(INDEX, *gone)
                report.dropped += len(gone)
            later: dict[str, float] = {}
            for order in orders.values():
                if order.order_id in gone:
                    continue
                for finding, due in self.findings(order, now):
                    if not self.switches.is_on(finding.kind):
                        report.switched_off += 1
                        continue
                    if self._claim_and_enqueue(order, finding, due, now):
                        report.found.append(finding)
                later[order.order_id] = self.next_check(order, now)
            if later:
                # XX: only orders still watched (one dropped above stays dropped).
                self.redis.zadd(INDEX, later, xx=True)
        return report

    def next_check(self, order: Order, now: float) -> float:
        """When something about `order` may next be found without a new event."""
        s = self.settings
        ahead: list[float] = []
        moved = last_movement(order)
        if order.status in (SHIPPED, IN_TRANSIT) and moved is not None:
            ahead.append(moved + s.stale_hours * HOUR)
        pickup = pickup_of(order)
        if pickup is not None:
            ahead.append(pickup.delivered_at + s.pickup_hours * HOUR)
            if pickup.until is not None:
                ahead += [pickup.until - LAST_CALL, pickup.until]
        if order.status in (PAID, PROCESSING):
            paid_at = status_since(order, PAID) or status_since(order, PROCESSING) or now
            first = paid_at + s.unshipped_hours * HOUR
            ahead.append(first if first > now else now + UNSHIPPED_RECHECK)
        upcoming = [t for t in ahead if t > now]
        return min([*upcoming, now + RECHECK])

    def catch_up(self) -> int:
        """Add the orders of stream entries since the cursor to the index; how many read."""
        cursor = self.redis.get(CURSOR) or "0"
        read = 0
        while True:
            entries = self.redis.xrange(STREAM, min=f"({cursor}" if cursor != "0" else "-",
                                        count=READ_BATCH)
            if not entries:
                return read
            ids = {fields.get("order_id") for _, fields in entries
                   if fields.get("new_status") in WATCHED}
            ids.discard(None)
            pipe = self.redis.pipeline(transaction=False)
            if ids:
                pipe.zadd(INDEX, dict.fromkeys(ids, 0))    # changed: look at it next scan
            cursor = entries[-1][0]
            pipe.set(CURSOR, cursor)
            pipe.execute()
            read += len(entries)

    def findings(self, order: Order, now: float) -> list[tuple[Finding, float]]:
        """What the scans find about `order` now, each with when its push should go."""
        s = self.settings
        found: list[tuple[Finding, float]] = []
        stalled = stuck(order, now, s.stale_hours)
        if stalled:
            found.append((stalled, now))
        pickup = pickup_reminder(order, now, s.pickup_hours, s.collected_words)
        if pickup:
            found.append((pickup, now))
        if order.status in (PAID, PROCESSING):
            due = self.place("order_not_shipped", order.openid, now)
            late = not_shipped(order, now, s.unshipped_hours, int(local_day(due, s.tz)))
            if late:
                found.append((late, due))
        return found

    def _worth_watching(self, order: Order, now: float) -> bool:
        if order.status not in WATCHED:
            return False
        if order.status == DELIVERED:
            # Only a parcel still waiting at a pickup point can call for a reminder.
            pickup = pickup_of(order)
            if pickup is None or collected(order, pickup, self.settings.collected_words):
                return False
            if pickup.until is not None:
                return now < pickup.until
            return now - pickup.delivered_at < (self.settings.pickup_hours + 24) * HOUR
        return True

    def _claim_and_enqueue(self, order: Order, finding: Finding, due: float,
                           now: float) -> bool:
        claim = f"pushes:watch:found:{finding.order_id}:{finding.kind}:{finding.version}"
        if not self.redis.set(claim, str(int(now)), nx=True, ex=FOUND_TTL):
            return False
        try:
            self.enqueue(order, finding, due)
        except Exception:
            # Not claimed after all: the next scan tries again.
            self.redis.delete(claim)
            raise
        if finding.kind == STUCK:
            self.followups.add(order.order_id, "stuck", now, since=finding.data["since"],
                               carrier=order.carrier, tracking_no=order.tracking_no,
                               status=order.status)
        log.info("scan: %s for order %s (version %s)", finding.kind, order.order_id,
                 finding.version)
        return True
