"""What a scan finds about one order at one moment: pure functions, the clock handed in.

Each finding has a kind and a version; the (order, kind, version) identity makes it one push
however many scans see it: a stuck parcel once per stale period (the period starts at the
last movement, so new movement then a new stall is a new one), the pickup reminders once
each, the not-shipped-yet update once per day it is placed on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.orders.model import (
    DELIVERED,
    IN_TRANSIT,
    PAID,
    PROCESSING,
    SHIPPED,
    Order,
    TrackingPoint,
    timestamp_of,
)

STUCK = "order_stuck"
PICKUP = "pickup_reminder"
NOT_SHIPPED = "order_not_shipped"
# The last reminder goes this long before the pickup point sends the parcel back.
LAST_CALL = 12 * 3600
HOUR = 3600.0

# Carriers and lockers write the pickup code into the delivery's tracking point.
_PICKUP_CODE = re.compile(
    r"(?:取件码|提货码|取货码|取件号|pickup code)\s*[::为是]?\s*([A-Za-z0-9-]{3,12})",
    re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    order_id: str
    kind: str
    version: int
    data: dict[str, str] = field(default_factory=dict)   # template fields (stored forms)


@dataclass(frozen=True)
class Pickup:
    code: str
    place: str
    delivered_at: float
    until: float | None


def status_since(order: Order, status: str) -> float | None:
    """When the order last entered `status` (its history), or its latest event's time."""
    times = [timestamp_of(h.time) for h in order.history if h.status == status and h.time]
    if times:
        return max(times)
    if order.status == status and order.occurred_at:
        return timestamp_of(order.occurred_at)
    return None


def last_movement(order: Order) -> float | None:
    """The latest sign of life: a tracking point or a status change."""
    times = [timestamp_of(p.time) for p in order.tracking if p.time]
    times += [timestamp_of(h.time) for h in order.history if h.time]
    if order.occurred_at:
        times.append(timestamp_of(order.occurred_at))
    return max(times) if times else None


def stuck(order: Order, now: float, stale_hours: float) -> Finding | None:
    """Shipped or in transit, and nothing new for `stale_hours`."""
    if order.status not in (SHIPPED, IN_TRANSIT):
        return None
    moved = last_movement(order)
    if moved is None or now - moved < stale_hours * HOUR:
        return None
    return Finding(order.order_id, STUCK, int(moved * 1000),
                   {"since": _iso(moved), "hours": str(int((now - moved) // HOUR))})


def _delivery_point(order: Order, delivered_at: float) -> TrackingPoint | None:
    at_or_before = [p for p in order.tracking if p.time and timestamp_of(p.time) <= delivered_at]
    return at_or_before[-1] if at_or_before else (order.tracking[-1] if order.tracking else None)


def pickup_of(order: Order) -> Pickup | None:
    """The pickup point waiting for this delivered order, if it went to one."""
    if order.status != DELIVERED:
        return None
    delivered_at = status_since(order, DELIVERED)
    if delivered_at is None:
        return None
    code, place = order.pickup_code, order.pickup_place
    if not code:
        point = _delivery_point(order, delivered_at)
        found = _PICKUP_CODE.search(point.description) if point else None
        if not found or point is None:
            return None
        code, place = found.group(1), place or point.location
    until = timestamp_of(order.pickup_until) if order.pickup_until else None
    return Pickup(code, place, delivered_at, until)


def collected(order: Order, pickup: Pickup, words: tuple[str, ...]) -> bool:
    if order.pickup_collected_at:
        return True
    later = (p for p in order.tracking if p.time and timestamp_of(p.time) > pickup.delivered_at)
    return any(word in p.description.lower() for p in later for word in words)


def pickup_reminder(order: Order, now: float, reminder_hours: float,
                    collected_words: tuple[str, ...] = ()) -> Finding | None:
    """Not collected `reminder_hours` after delivery: the first reminder; and a last one in
    the final hours before the point sends the parcel back, if the order says when."""
    pickup = pickup_of(order)
    if pickup is None or collected(order, pickup, collected_words):
        return None
    if pickup.until is not None and now >= pickup.until:
        return None   # gone back: the return is an event of its own
    data = {"pickup_code": pickup.code, "pickup_place": pickup.place,
            "until": _iso(pickup.until) if pickup.until else ""}
    base = int(pickup.delivered_at * 1000)
    if pickup.until is not None and now >= pickup.until - LAST_CALL:
        return Finding(order.order_id, PICKUP, base + 2, {**data, "last_call": "1"})
    if now - pickup.delivered_at >= reminder_hours * HOUR:
        return Finding(order.order_id, PICKUP, base + 1, data)
    return None


def not_shipped(order: Order, now: float, after_hours: float, day_of_due: int) -> Finding | None:
    """Paid and not shipped `after_hours` after payment: one update for the day the push is
    placed on (`day_of_due`, YYYYMMDD), so at most one a day."""
    if order.status not in (PAID, PROCESSING) or order.was_shipped:
        return None
    paid_at = status_since(order, PAID) or status_since(order, PROCESSING)
    if paid_at is None or now - paid_at < after_hours * HOUR:
        return None
    return Finding(order.order_id, NOT_SHIPPED, day_of_due,
                   {"paid_at": _iso(paid_at), "ship_by": order.ship_by})


def _iso(ts: float) -> str:
    from bot.orders.model import iso_from_timestamp

    return iso_from_timestamp(ts)
