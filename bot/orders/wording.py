"""Put an order into words from the reply templates (replies/orders.<lang>.yaml).

Used by the chat handlers and the tracking page, so both say the same thing the same way.
Every answer states the fact, the expected time, and what the customer can do next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.conversation.replies import Replies
from bot.orders.model import (
    CANCELLED,
    CREATED,
    DELIVERED,
    EXCEPTION,
    ON_THE_WAY,
    PAID,
    PROCESSING,
    REFUNDED,
    Order,
    TrackingPoint,
    timestamp_of,
)
from bot.orders.relative_time import describe

if TYPE_CHECKING:
    from bot.conversation.context import MessageContext

LATEST_POINTS = 3
_BEFORE_SHIPPING = {CREATED, PAID, PROCESSING}
# Nothing is expected any more: no ETA is spoken of.
_DONE = {DELIVERED, CANCELLED, REFUNDED}

# What `OrderWording.expected` says about the delivery time.
UPCOMING = "upcoming"   # the ETA (or an exception's new ETA), still ahead
LATE = "late"           # the ETA has passed and the order has not arrived
PENDING = "pending"     # a delivery problem without a new time ahead: it is being confirmed


def _phase(status: str) -> str:
    """Which part of an order's life the category wording speaks to."""
    if status in _BEFORE_SHIPPING:
        return "before"
    if status in ON_THE_WAY:
        return "moving"
    if status == DELIVERED:
        return "delivered"
    return "closed"


class OrderWording:
    def __init__(self, replies: Replies, lang: str, now: float, tz: str) -> None:
        self.replies = replies
        self.lang = lang
        self.now = now
        self.tz = tz

    @classmethod
    def for_message(cls, ctx: MessageContext) -> OrderWording:
        services = ctx.services
        return cls(services.replies, ctx.lang, services.clock.now(), services.config.timezone)

    # Pieces -----------------------------------------------------------------------------------

    def text(self, template: str, /, **data: object) -> str:
        return self.replies.text(template, self.lang, **data)

    def first(self, *names: str, **data: object) -> str:
        """The first of `names` that has a template, rendered; "" when none has."""
        for name in names:
            if self.replies.has(name):
                return self.text(name, **data)
        return ""

    def when(self, iso: str) -> str:
        return describe(iso, self.now, self.tz, self.text) if iso else ""

    def carrier(self, code: str) -> str:
        return self.first(f"carrier_{code}") or code

    def status_name(self, status: str) -> str:
        return self.text(f"order_state_{status}")

    def items(self, order: Order) -> str:
        if not order.items:
            return self.text("order_items_none")
        count = sum(item.quantity for item in order.items)
        name = order.items[0].name
        if count == 1:
            return self.text("order_items_one", item=name)
        return self.text("order_items_many", item=name, count=count)

    def waybill(self, order: Order) -> str:
        if not order.tracking_no:
            return ""
        return self.text("order_waybill", carrier=self.carrier(order.carrier),
                         tracking_no=order.tracking_no)

    def expected(self, order: Order) -> tuple[str, str]:
        """(UPCOMING | LATE | PENDING | "", the time in words): a time that has passed is
        never presented as one to wait for, and a delivery problem never falls back to the
        ETA it has broken."""
        if order.status in _DONE:
            return "", ""
        if order.status == EXCEPTION:
            new_eta = order.exception_new_eta
            if new_eta and timestamp_of(new_eta) >= self.now:
                return UPCOMING, self.when(new_eta)
            return PENDING, ""
        if not order.eta:
            return "", ""
        return (UPCOMING if timestamp_of(order.eta) >= self.now else LATE), self.when(order.eta)

    def eta(self, order: Order) -> str:
        """The expected time as a clause of a status answer ("" when there is none)."""
        kind, when = self.expected(order)
        if order.status == EXCEPTION:
            return self.text("order_new_eta" if kind == UPCOMING else "order_new_eta_pending",
                             when=when)
        if kind == UPCOMING:
            return self.text("order_eta", when=when)
        return self.text("order_eta_late", when=when) if kind == LATE else ""

    def delivered_at(self, order: Order) -> str:
        """When it was signed for: the last tracking point, else when the status changed."""
        if order.tracking:
            return order.tracking[-1].time
        times = [h.time for h in order.history if h.status == DELIVERED]
        return times[-1] if times else ""

    def reason(self, order: Order) -> str:
        return order.exception_reason or self.text("order_exception_unknown")

    def point(self, point: TrackingPoint) -> str:
        return self.text("logistics_point", when=self.when(point.time), location=point.location,
                         description=point.description)

    def category_note(self, order: Order) -> str:
        """Wording for fresh food, luxury, custom-made and electronics orders."""
        category = order.category
        milestone = ""
        if category == "custom" and order.status in _BEFORE_SHIPPING:
            milestone = (order.tracking[-1].description if order.tracking
                         else self.text("order_milestone_unknown"))
        return self.first(f"order_note_{category}_{order.status}",
                          f"order_note_{category}_{_phase(order.status)}", milestone=milestone)

    def _common(self, order: Order) -> dict[str, str]:
        return {
            "order_id": order.order_id,
            "items": self.items(order),
            "status": self.status_name(order.status),
            "waybill": self.waybill(order),
            "eta": self.eta(order),
            "carrier": self.carrier(order.carrier),
            "tracking_no": order.tracking_no,
        }

    # Whole answers --------------------------------------------------------------------------

    def status_answer(self, order: Order, verified: bool = False) -> str:
        data = self._common(order)
        if order.status == DELIVERED and self.delivered_at(order):
            data["delivered_at"] = self.text("order_delivered_at",
                                             when=self.when(self.delivered_at(order)))
        if order.status == EXCEPTION:
            data["reason"] = self.reason(order)
        lines = [self.text("order_verified")] if verified else []
        lines.append(self.text(f"order_status_{order.status}", **data))
        note = self.category_note(order)
        if note:
            lines.append(note)
        return "\n".join(lines)

    def logistics_answer(self, order: Order, link: str, verified: bool = False) -> str:
        data = self._common(order)
        lines = [self.text("order_verified")] if verified else []
        if order.status in (CANCELLED, REFUNDED):
            # Closed: say so, and whether it had left the warehouse (its last tracking stays
            # worth seeing, e.g. a parcel on its way back).
            shipped = order.was_shipped
            lines.append(self.text(
                f"logistics_{order.status}_{'shipped' if shipped else 'not_shipped'}", **data))
            if shipped:
                self._points(order, lines)
                lines.append(self.text("logistics_link", link=link))
            return "\n".join(lines)
        if not order.with_carrier:
            lines.append(self.text("logistics_not_shipped", **data))
            note = self.category_note(order)
            if note:
                lines.append(note)
            return "\n".join(lines)
        lines.append(self.text("logistics_title", **data))
        lines.append(self.text("logistics_status", **data))
        kind, when = self.expected(order)
        if order.status == EXCEPTION:
            lines.append(self.text("logistics_exception", reason=self.reason(order)))
            lines.append(self.text("logistics_new_eta", when=when) if kind == UPCOMING
                         else self.text("logistics_new_eta_pending"))
        elif order.status == DELIVERED and self.delivered_at(order):
            lines.append(self.text("logistics_delivered",
                                   when=self.when(self.delivered_at(order))))
        elif kind == UPCOMING:
            lines.append(self.text("logistics_eta", when=when))
        elif kind == LATE:
            lines.append(self.text("logistics_eta_late", when=when))
        self._points(order, lines)
        note = self.category_note(order)
        if note:
            lines.append(note)
        lines.append(self.text("logistics_link", link=link))
        return "\n".join(lines)

    def _points(self, order: Order, lines: list[str]) -> None:
        points = order.latest_points[:LATEST_POINTS]
        if points:
            lines.append(self.text("logistics_points_header"))
            lines.extend(self.point(p) for p in points)
        else:
            lines.append(self.text("logistics_no_points"))

    # Follow-ups about one order --------------------------------------------------------------

    def _latest(self, order: Order) -> str:
        """", 最新:今天上午7点 昆明转运中心 已发出" ("" without tracking points)."""
        if not order.tracking:
            return ""
        point = order.tracking[-1]
        return self.text("focus_latest", when=self.when(point.time), location=point.location,
                         description=point.description)

    def _focus_data(self, order: Order) -> dict[str, str]:
        data = self._common(order)
        data["latest"] = self._latest(order)
        return data

    def eta_answer(self, order: Order) -> str:
        """"什么时候到": the expected time, or why there is none."""
        if order.status == EXCEPTION:
            return self.explain_answer(order)
        if order.status in (CANCELLED, REFUNDED):
            return self.status_answer(order)
        data = self._focus_data(order)
        if order.status == DELIVERED:
            data["when"] = self.when(self.delivered_at(order)) if self.delivered_at(order) else ""
            return self.text("focus_eta_delivered", **data)
        kind, when = self.expected(order)
        if order.status in _BEFORE_SHIPPING:
            return self.text("focus_eta_not_shipped", **data)
        if kind == UPCOMING:
            return self.text("focus_eta", when=when, **{**data, "eta": ""})
        if kind == LATE:
            return self.text("focus_eta_late", when=when, **{**data, "eta": ""})
        return self.text("focus_eta_unknown", **data)

    def late_answer(self, order: Order) -> str:
        """"怎么还没到": whether it is late, why, and what happens next."""
        if order.status == EXCEPTION:
            return self.explain_answer(order)
        if order.status in (CANCELLED, REFUNDED):
            return self.status_answer(order)
        data = self._focus_data(order)
        if order.status == DELIVERED:
            data["when"] = self.when(self.delivered_at(order)) if self.delivered_at(order) else ""
            return self.text("focus_late_delivered", **data)
        if order.status in _BEFORE_SHIPPING:
            return self.text("focus_late_not_shipped", **data)
        kind, when = self.expected(order)
        if kind == UPCOMING:
            return self.text("focus_late_on_time", when=when, **{**data, "eta": ""})
        if kind == LATE:
            return self.text("focus_eta_late", when=when, **{**data, "eta": ""})
        return self.text("focus_eta_unknown", **data)

    def explain_answer(self, order: Order) -> str:
        """"物流异常是什么意思": the exception in plain words, its reason and what happens next;
        an order without one is said to have none (late ones get the late answer)."""
        if order.status != EXCEPTION:
            if order.status in ON_THE_WAY and self.expected(order)[0] == LATE:
                return self.late_answer(order)
            return "\n".join([self.text("focus_no_exception", **self._common(order)),
                              self.status_answer(order)])
        data = self._focus_data(order)
        data["reason"] = self.reason(order)
        return self.text("focus_explain_exception", **data)

    def facts(self, order: Order) -> str:
        """One line of what is known about the order, for a complaint or a hurry answer."""
        data = self._common(order)
        data["reason"] = (self.text("facts_reason", reason=self.reason(order))
                          if order.status == EXCEPTION else "")
        return self.text("order_facts", **data)

    def order_list(self, header: str, orders: list[Order]) -> str:
        lines = [self.text(header, count=len(orders))]
        for n, order in enumerate(orders, start=1):
            lines.append(self.text("order_list_line", n=n, order_id=order.order_id,
                                   items=self.items(order), status=self.status_name(order.status)))
        lines.append(self.text("order_list_footer"))
        return "\n".join(lines)
