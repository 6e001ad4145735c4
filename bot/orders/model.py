"""What an order is: statuses, categories and the record read back from the store.

Times are kept as UTC ISO-8601 strings of one fixed width (`2026-11-24T02:00:00.000+00:00`),
so that comparing or sorting them as strings (which the store's Lua script does) orders them
in time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

CREATED = "created"
PAID = "paid"
PROCESSING = "processing"
SHIPPED = "shipped"
IN_TRANSIT = "in_transit"
OUT_FOR_DELIVERY = "out_for_delivery"
DELIVERED = "delivered"
EXCEPTION = "exception"
CANCELLED = "cancelled"
REFUNDED = "refunded"

STATUSES = (CREATED, PAID, PROCESSING, SHIPPED, IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED,
            EXCEPTION, CANCELLED, REFUNDED)
# Still moving: the customer may be waiting for something.
ACTIVE = frozenset({CREATED, PAID, PROCESSING, SHIPPED, IN_TRANSIT, OUT_FOR_DELIVERY, EXCEPTION})
# With the carrier: a logistics answer has something to show.
ON_THE_WAY = frozenset({SHIPPED, IN_TRANSIT, OUT_FOR_DELIVERY, EXCEPTION})
HANDED_TO_CARRIER = ON_THE_WAY | {DELIVERED}
# How far along its life an order is, for two events stamped with the same time: the one
# further along wins, so a tie never moves an order backwards (paid after shipped). A reported
# problem outranks the routine transit news of that moment, a delivery outranks the problem,
# and the closing statuses outrank everything (a refund follows a cancellation or a return).
LIFECYCLE_RANK = {CREATED: 0, PAID: 1, PROCESSING: 2, SHIPPED: 3, IN_TRANSIT: 4,
                  OUT_FOR_DELIVERY: 5, EXCEPTION: 6, DELIVERED: 7, CANCELLED: 8, REFUNDED: 9}

GENERAL = "general"
CATEGORIES = (GENERAL, "fresh", "luxury", "custom", "electronics")


def utc_iso(moment: datetime) -> str:
    """The one stored form of a time: UTC, millisecond precision, fixed width."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def iso_from_timestamp(ts: float) -> str:
    return utc_iso(datetime.fromtimestamp(ts, tz=UTC))


def timestamp_of(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@dataclass(frozen=True)
class Item:
    name: str
    quantity: int = 1
    category: str = GENERAL


@dataclass(frozen=True)
class TrackingPoint:
    time: str           # stored form (utc_iso)
    location: str
    description: str


@dataclass(frozen=True)
class StatusChange:
    status: str
    time: str


@dataclass(frozen=True)
class Order:
    """One order as the bot knows it: the latest applied event's fields, every tracking point
    and status change seen, and who may see it (`openid`)."""

    order_id: str
    status: str
    openid: str = ""
    phone: str = ""
    items: tuple[Item, ...] = ()
    amount: str = ""
    carrier: str = ""
    tracking_no: str = ""
    address: str = ""
    eta: str = ""
    exception_reason: str = ""
    exception_new_eta: str = ""
    ship_by: str = ""         # the shop's promised ship time (stored form), "" if none
    # A parcel left at a pickup point or locker: its code, the place, when the point sends it
    # back, and when the customer collected it (all optional; the code may instead be in the
    # delivery's tracking point).
    pickup_code: str = ""
    pickup_place: str = ""
    pickup_until: str = ""
    pickup_collected_at: str = ""
    tracking: tuple[TrackingPoint, ...] = ()
    history: tuple[StatusChange, ...] = ()
    occurred_at: str = ""     # the shop's time of the latest applied event ("" for API answers)
    updated_at: str = ""      # when the bot last changed the record
    source: str = "event"     # "event" (webhook) or "api" (asked the shop's API)

    @property
    def category(self) -> str:
        """The category that shapes the wording: the first item's that is not general."""
        for item in self.items:
            if item.category != GENERAL:
                return item.category
        return GENERAL

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def with_carrier(self) -> bool:
        return self.status in HANDED_TO_CARRIER or bool(self.tracking_no)

    @property
    def was_shipped(self) -> bool:
        """Handed to a carrier at some point, even if cancelled or refunded since. Tracking
        points alone do not count: custom goods have production milestones before shipping."""
        return (bool(self.tracking_no) or self.status in HANDED_TO_CARRIER
                or any(h.status in HANDED_TO_CARRIER for h in self.history))

    @property
    def latest_points(self) -> tuple[TrackingPoint, ...]:
        """Tracking points newest first."""
        return tuple(reversed(self.tracking))

    @classmethod
    def from_hash(cls, order_id: str, raw: dict[str, str]) -> Order | None:
        """The record from its Redis hash (None when there is none)."""
        if not raw or not raw.get("status"):
            return None
        items = tuple(
            Item(str(i.get("name", "")), int(i.get("quantity", 1)),
                 str(i.get("category", GENERAL)))
            for i in _json_list(raw.get("items"))
        )
        tracking = tuple(
            TrackingPoint(str(p.get("time", "")), str(p.get("location", "")),
                          str(p.get("description", "")))
            for p in _json_list(raw.get("tracking"))
        )
        history = tuple(
            StatusChange(str(h.get("status", "")), str(h.get("time", "")))
            for h in _json_list(raw.get("history"))
        )
        return cls(
            order_id=order_id,
            status=raw["status"],
            openid=raw.get("openid", ""),
            phone=raw.get("phone", ""),
            items=items,
            amount=raw.get("amount", ""),
            carrier=raw.get("carrier", ""),
            tracking_no=raw.get("tracking_no", ""),
            address=raw.get("address", ""),
            eta=raw.get("eta", ""),
            exception_reason=raw.get("exception_reason", ""),
            exception_new_eta=raw.get("exception_new_eta", ""),
            ship_by=raw.get("ship_by", ""),
            pickup_code=raw.get("pickup_code", ""),
            pickup_place=raw.get("pickup_place", ""),
            pickup_until=raw.get("pickup_until", ""),
            pickup_collected_at=raw.get("pickup_collected_at", ""),
            tracking=tracking,
            history=history,
            occurred_at=raw.get("occurred_at", ""),
            updated_at=raw.get("updated_at", ""),
            source=raw.get("source", "event"),
        )


def _json_list(raw: str | None) -> list[dict]:
    if not raw:
        return []
    value = json.loads(raw)
    # Lua's cjson writes an empty table as an object; read it as the empty list it was.
    return value if isinstance(value, list) else []
