"""Who may see which order: a customer sees only their own.

- an order whose openid is the customer's: shown;
- an order with another openid, or none we know of: "not found", exactly as an unknown number,
  and counted as a miss;
- an order known only by its phone: the customer proves they hold that phone (a one-time code by
  SMS when SMS is configured, else the full phone number; see bot.orders.claims); the right
  answer binds the order to them and is logged, a wrong one hides it like an unknown order.
  Being asked counts as a miss too: the question itself tells that such an order exists;
- after too many misses, lookups by number are refused for a while.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.orders.claims import PHONE, SMS, ClaimCodes, ClaimLog, SendFailed, SendRefused, same
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

    def unbind(self, order_id: str, openid: str) -> bool: ...

OWN = "own"                  # theirs: show it
VERIFY = "verify"            # phone-only: ask for proof of holding the phone
HIDDEN = "hidden"            # unknown, someone else's, or a failed phone check: "not found"
THROTTLED = "throttled"      # too many misses lately
UNAVAILABLE = "unavailable"  # only the shop's API could tell, and it cannot now
RETRY = "retry"              # a wrong code with tries left
EXPIRED = "expired"          # no live code: ask for the order number again for a new one


@dataclass(frozen=True)
class Access:
    kind: str
    order: Order | None = None
    orders: tuple[Order, ...] = ()


class OrderAccess:
    def __init__(self, orders: OrderSource, guard: MissGuard, claims: ClaimLog,
                 codes: ClaimCodes | None = None, now: Callable[[], float] = time.time) -> None:
        self.orders = orders
        self.guard = guard
        self.claims = claims
        self.codes = codes
        self.now = now

    @property
    def proof(self) -> str:
        """What a claim needs: SMS (a code sent to the order's phone) or PHONE (the full one)."""
        return SMS if self.codes is not None else PHONE

    def start_claim(self, openid: str, order: Order) -> str:
        """Send the claim code when claims go by SMS. "" when sent (or none needed); why not
        otherwise: "failed" (the SMS did not go out) or "wait" (too many codes asked for)."""
        if self.codes is None:
            return ""
        try:
            self.codes.send(openid, order.order_id, order.phone)
        except SendFailed:
            return "failed"
        except SendRefused:
            return "wait"
        return ""

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

    def verify(self, openid: str, order_id: str, proof: str | None) -> Access:
        """The answer to the claim question for a phone-only order: the SMS code, or the full
        phone number. `proof` None is an answer that gave none (it fails like a wrong one)."""
        if self.guard.throttled(openid):
            return Access(THROTTLED)
        order = self.orders.get(order_id)
        if order is not None and order.openid == openid:
            return Access(OWN, order)
        if order is None or order.openid or len(order.phone) < 4 or not proof:
            self.guard.block(openid, order_id)
            return Access(HIDDEN)
        if self.codes is not None:
            checked = self.codes.check(openid, order_id, proof)
            if checked == 0:
                return Access(RETRY, order)
            if checked == -1:
                return Access(EXPIRED, order)
            if checked != 1:
                self.guard.block(openid, order_id)
                return Access(HIDDEN)
        elif not same(order.phone, proof):
            self.guard.block(openid, order_id)
            return Access(HIDDEN)
        if not self.orders.bind(order, openid):
            self.guard.miss(openid)
            return Access(HIDDEN)
        self.claims.record(openid, order_id, self.proof, self.now())
        return Access(OWN, self.orders.get(order_id))

    def revoke(self, openid: str, order_id: str) -> bool:
        """Undo the customer's own claim of `order_id` (only a claim: a shop-given order stays)."""
        if not any(c.order_id == order_id for c in self.claims.claims(openid)):
            return False
        self.orders.unbind(order_id, openid)
        return self.claims.forget(openid, order_id)

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
