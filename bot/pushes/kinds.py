"""The kinds of push, what each one is, and which order status calls for which kind.

Kinds are data: the SMS fallback and the stuck-parcel scans add their own with `register_kind`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.orders.model import (
    CANCELLED,
    DELIVERED,
    EXCEPTION,
    IN_TRANSIT,
    OUT_FOR_DELIVERY,
    PAID,
    PROCESSING,
    REFUNDED,
    SHIPPED,
    Order,
    timestamp_of,
)


@dataclass(frozen=True)
class Kind:
    """What the rules need to know of a kind of push."""

    name: str
    important: bool = False     # kept when the user wants "important only"
    logistics: bool = False     # dropped when the user turned logistics updates off
    cap_exempt: bool = False    # not counted against (nor stopped by) PUSH_DAILY_CAP
    user_action: bool = False   # caused by the user just now: not held in quiet hours
    rhythm: bool = False        # at most one per PUSH_TRANSIT_INTERVAL per order
    # (order now, push version) → whether what the push says is still true when it is sent;
    # for kinds no status change speaks for (the scans': bot/pushes/watch/kinds.py).
    holds: Callable[[Order, int], bool] | None = None


ORDER_PAID = "order_paid"
ORDER_SHIPPED = "order_shipped"
ORDER_IN_TRANSIT = "order_in_transit"
ORDER_OUT_FOR_DELIVERY = "order_out_for_delivery"
ORDER_DELIVERED = "order_delivered"
ORDER_EXCEPTION = "order_exception"
ORDER_CANCELLED = "order_cancelled"
ORDER_REFUNDED = "order_refunded"

KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> Kind:
    """Add (or replace) a kind; its wording is `push_<name>_fact` / `_next` in replies/."""
    KINDS[kind.name] = kind
    return kind


for _kind in (
    Kind(ORDER_PAID, important=True, cap_exempt=True, user_action=True),
    Kind(ORDER_SHIPPED, important=True),
    Kind(ORDER_IN_TRANSIT, logistics=True, rhythm=True),
    Kind(ORDER_OUT_FOR_DELIVERY, important=True, cap_exempt=True),
    Kind(ORDER_DELIVERED, important=True, cap_exempt=True),
    Kind(ORDER_EXCEPTION, important=True, cap_exempt=True),
    Kind(ORDER_CANCELLED),
    Kind(ORDER_REFUNDED),
):
    register_kind(_kind)

# The kind an order's current status speaks as (a held push is re-rendered as this).
STATUS_KIND = {
    PAID: ORDER_PAID,
    PROCESSING: ORDER_PAID,
    SHIPPED: ORDER_SHIPPED,
    IN_TRANSIT: ORDER_IN_TRANSIT,
    OUT_FOR_DELIVERY: ORDER_OUT_FOR_DELIVERY,
    DELIVERED: ORDER_DELIVERED,
    EXCEPTION: ORDER_EXCEPTION,
    CANCELLED: ORDER_CANCELLED,
    REFUNDED: ORDER_REFUNDED,
}
# Kinds that count as "the last transit push" for the in-transit rhythm.
TRANSIT_RHYTHM = frozenset({ORDER_SHIPPED, ORDER_IN_TRANSIT})


def kind_of(name: str) -> Kind:
    return KINDS.get(name) or Kind(name)


def version_of(order: Order) -> int:
    """The order's version: its latest applied event's time in ms (0 for API-only copies)."""
    return version_from_iso(order.occurred_at)


def version_from_iso(iso: str) -> int:
    return int(round(timestamp_of(iso) * 1000)) if iso else 0


def push_id(order_id: str, kind: str, version: int) -> str:
    """A push's identity: the same order, kind and version is the same push."""
    return f"{order_id}:{kind}:{version}"
