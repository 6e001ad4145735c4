"""Who may see which order: a customer sees only their own.

- an order whose openid is the customer's: shown;
- an order with another openid, or none we know of: "not found", exactly as an unknown number,
  and counted as a miss;
- an order known only by its phone: the customer is asked once for that phone's last four
  digits; the right answer binds the order to them, a wrong one hides it like an unknown order.
  Being asked counts as a miss too: the question itself tells that such an order exists;
- after too many misses, lookups by number are refused for a while.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Protocol

from bot.orders.guard import MissGuard
from bot.orders.model import Order
from bot.orders.shop_api import OrderAPIUnavailable


class OrderSource(Protocol):
    """What access needs of the order service (bot.orders.service.OrderService)."""

    def get(self, order_id: str) -> Order | None: ...

    def find(self, order_id: str) -> Order | None: ...

    def find_by_tracking(self, tracking_no: str) -> Order | None: ...

    def for_phone(self, phone: str) -> list[Order]: ...

    def bind(self, order: Order, openid: str) -> bool: ...

OWN = "own"                  # theirs: show it
VERIFY = "verify"            # phone-only: ask for the phone's last four digits
HIDDEN = "hidden"            # unknown, someone else's, or a failed phone check: "not found"
THROTTLED = "throttled"      # too many misses lately
UNAVAILABLE = "unavailable"  # only the shop's API could tell, and it cannot now


@dataclass(frozen=True)
class Access:
    kind: str
    order: Order | None = None
    orders: tuple[Order, ...] = ()


class OrderAccess:
    def __init__(self, orders: OrderSource, guard: MissGuard) -> None:
        self.orders = orders
        self.guard = guard

    def by_number(self, openid: str, order_id: str) -> Access:
        if self.guard.throttled(openid):
            return Access(THROTTLED)
        try:
            order = self.orders.find(order_id)
        except OrderAPIUnavailable:
            return Access(UNAVAILABLE)
        return self._judge(openid, order)

    def by_tracking(self, openid: str, tracking_no: str) -> Access:
        if self.guard.throttled(openid):
            return Access(THROTTLED)
        return self._judge(openid, self.orders.find_by_tracking(tracking_no))

    def by_phone(self, openid: str, phone: str) -> Access:
        """The customer's own orders placed with `phone` (knowing a phone proves nothing)."""
        if self.guard.throttled(openid):
            return Access(THROTTLED)
        mine = tuple(o for o in self.orders.for_phone(phone) if o.openid == openid)
        if not mine:
            self.guard.miss(openid)
            return Access(HIDDEN)
        return Access(OWN, mine[0], mine)

    def verify(self, openid: str, order_id: str, digits: str | None) -> Access:
        """The answer to "last four digits of the phone" for a phone-only order; `digits`
        None is an answer that gave none (it fails the check like wrong digits)."""
        if self.guard.throttled(openid):
            return Access(THROTTLED)
        order = self.orders.get(order_id)
        if order is not None and order.openid == openid:
            return Access(OWN, order)
        if (order is None or order.openid or len(order.phone) < 4 or not digits
                or not _same(order.phone[-4:], digits)):
            self.guard.block(openid, order_id)
            return Access(HIDDEN)
        if not self.orders.bind(order, openid):
            self.guard.miss(openid)
            return Access(HIDDEN)
        return Access(OWN, self.orders.get(order_id))

    def own(self, openid: str, order_id: str) -> Order | None:
        """An order already shown to this customer (remembered, or from a list): still theirs?"""
        order = self.orders.get(order_id)
        return order if order is not None and order.openid == openid else None

    def _judge(self, openid: str, order: Order | None) -> Access:
        if order is not None and order.openid == openid:
            return Access(OWN, order)
        if (order is not None and not order.openid and order.phone
                and not self.guard.blocked(openid, order.order_id)):
            # Counted like a miss, or trying numbers would tell which phone-only orders exist
            # without ever being throttled.
            self.guard.miss(openid)
            return Access(VERIFY, order)
        self.guard.miss(openid)
        return Access(HIDDEN)


def _same(expected: str, given: str) -> bool:
    """Constant-time equality; compare_digest refuses non-ASCII str, so compare bytes."""
    return hmac.compare_digest(expected.encode(), given.encode())
