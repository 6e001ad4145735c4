"""One entry of `orders:changes` → the pushes it calls for (usually one, often none).

- a new status → the kind of that status (`created` and `processing` say nothing new);
- the same status with new tracking points while shipped or in transit → `order_in_transit`
  (the rhythm rule then decides whether and when);
- the same `exception` with another reason or new ETA → `order_exception` again;
- `stale=1` entries (an older event that only filled history) and answers of the shop's API
  (they mirror what the customer just saw in the chat) → nothing; nor orders with no openid.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.orders.model import (
    CREATED,
    EXCEPTION,
    IN_TRANSIT,
    PROCESSING,
    SHIPPED,
)
from bot.pushes.kinds import ORDER_EXCEPTION, ORDER_IN_TRANSIT, STATUS_KIND, version_from_iso


@dataclass(frozen=True)
class Planned:
    order_id: str
    openid: str
    kind: str
    version: int


def exception_sig(fields: dict[str, str]) -> str:
    return f"{fields.get('exception_reason', '')}|{fields.get('exception_new_eta', '')}"


def plan_change(fields: dict[str, str], last_exception: str = "") -> list[Planned]:
    """The pushes for one change. `last_exception` is the exception signature planned last
    for this order (so a repeated report of the same problem says nothing)."""
    if fields.get("stale") == "1" or fields.get("source", "event") != "event":
        return []
    order_id, openid = fields.get("order_id", ""), fields.get("openid", "")
    if not order_id or not openid:
        return []
    old, new = fields.get("old_status", ""), fields.get("new_status", "")
    version = version_from_iso(fields.get("occurred_at", ""))
    if not version:
        return []
    kind = None
    if new != old:
        if new not in (CREATED, PROCESSING):
            kind = STATUS_KIND.get(new)
    elif new in (SHIPPED, IN_TRANSIT) and int(fields.get("tracking_added") or 0) > 0:
        kind = ORDER_IN_TRANSIT
    elif new == EXCEPTION and exception_sig(fields) != last_exception:
        kind = ORDER_EXCEPTION
    return [Planned(order_id, openid, kind, version)] if kind else []
