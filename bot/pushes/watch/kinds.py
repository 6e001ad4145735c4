"""The kinds the scans push, registered with the pipeline's kinds, each with the check that
it still holds when it is sent (a not-shipped-yet update placed at the best hour is dropped
if the order shipped meanwhile), and the words each adds to its template's fields."""

from __future__ import annotations

from bot.orders.model import DELIVERED, IN_TRANSIT, PAID, PROCESSING, SHIPPED, Order
from bot.orders.wording import OrderWording
from bot.pushes.kinds import Kind, register_kind
from bot.pushes.render import register_fields
from bot.pushes.watch.scans import NOT_SHIPPED, PICKUP, STUCK, last_movement, pickup_of

# When the shop promises to report back on a stuck parcel.
REPORT_BACK = 24 * 3600


def _stuck_holds(order: Order, version: int) -> bool:
    moved = last_movement(order)
    return order.status in (SHIPPED, IN_TRANSIT) and moved is not None \
        and int(moved * 1000) == version


def _pickup_holds(order: Order, version: int) -> bool:
    return order.status == DELIVERED and not order.pickup_collected_at \
        and pickup_of(order) is not None


def _not_shipped_holds(order: Order, version: int) -> bool:
    return order.status in (PAID, PROCESSING) and not order.was_shipped


register_kind(Kind(STUCK, important=True, cap_exempt=True, holds=_stuck_holds))
register_kind(Kind(PICKUP, important=True, cap_exempt=True, holds=_pickup_holds))
register_kind(Kind(NOT_SHIPPED, holds=_not_shipped_holds))


def _stuck_fields(w: OrderWording, order: Order, data: dict[str, str],
                  now: float) -> dict[str, str]:
    from bot.orders.model import iso_from_timestamp

    return {"expected": w.text("push_order_stuck_when",
                               when=w.when(iso_from_timestamp(now + REPORT_BACK)))}


def _pickup_fields(w: OrderWording, order: Order, data: dict[str, str],
                   now: float) -> dict[str, str]:
    until = data.get("until", "")
    name = "push_pickup_reminder_last" if data.get("last_call") else "push_pickup_reminder_until"
    return {"expected": w.text(name, when=w.when(until)) if until else ""}


def _not_shipped_fields(w: OrderWording, order: Order, data: dict[str, str],
                        now: float) -> dict[str, str]:
    ship_by = data.get("ship_by") or order.ship_by
    if ship_by:
        return {"expected": w.text("push_order_not_shipped_by", when=w.when(ship_by))}
    return {"expected": w.text("push_order_not_shipped_soon")}


register_fields(STUCK, _stuck_fields)
register_fields(PICKUP, _pickup_fields)
register_fields(NOT_SHIPPED, _not_shipped_fields)
