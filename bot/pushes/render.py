"""A push in words: the fact, the expected time and the next action, from replies/ templates.

Reuses the chat's order wording (`bot.orders.wording.OrderWording`: items, carrier, ETA that is
never presented as ahead once it has passed, category notes), so a push and an answer say the
same thing. Besides the text (客服消息) it yields named fields for template messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.conversation.replies import Replies
from bot.conversation.typography import full_width, mostly_chinese
from bot.orders.model import Order
from bot.orders.wording import UPCOMING, OrderWording
from bot.pushes.kinds import (
    ORDER_CANCELLED,
    ORDER_DELIVERED,
    ORDER_EXCEPTION,
    ORDER_REFUNDED,
)

# Carriers and lockers write the pickup code into the delivery's tracking point.
_PICKUP = re.compile(
    r"(?:取件码|提货码|取货码|取件号|pickup code)\s*[::为是]?\s*([A-Za-z0-9-]{3,12})",
    re.IGNORECASE)
MERGED = "merged"

# kind → (wording, order, fields, now) → more fields (e.g. "expected"), for kinds added
# outside this module (bot/pushes/watch/kinds.py).
FieldsHook = Callable[[OrderWording, Order, dict[str, str], float], dict[str, str]]
FIELD_HOOKS: dict[str, FieldsHook] = {}


def register_fields(kind: str, hook: FieldsHook) -> None:
    FIELD_HOOKS[kind] = hook


@dataclass(frozen=True)
class Part:
    """One order's share of a message."""

    push_id: str
    kind: str
    order: Order
    data: dict[str, str]


class PushRenderer:
    def __init__(self, replies: Replies, tz: str, link: Any) -> None:
        self.replies = replies
        self.tz = tz
        self.link = link    # (order_id, openid, lang) -> tracking-page URL

    def fields(self, part: Part, lang: str, now: float) -> dict[str, str]:
        """Every value a text or template may use for one order's push."""
        w = OrderWording(self.replies, lang, now, self.tz)
        order, kind = part.order, part.kind
        point = order.tracking[-1] if order.tracking else None
        data = {
            "order_id": order.order_id,
            "items": w.items(order),
            "item": order.items[0].name if order.items else "",
            "status": w.status_name(order.status),
            "carrier": w.carrier(order.carrier) if order.carrier else "",
            "tracking_no": order.tracking_no,
            "waybill": w.waybill(order),
            "link": self.link(order.order_id, order.openid, lang),
            "reason": w.reason(order) if kind == ORDER_EXCEPTION else "",
            "point": (f"{point.location} {point.description}".strip() if point else ""),
            "point_time": w.when(point.time) if point else "",
            "amount": w.text("push_amount", amount=order.amount) if order.amount else "",
            "delivered_at": "",
            "pickup_code": "",
            "pickup_place": "",
            **part.data,
        }
        if kind == ORDER_DELIVERED:
            at = w.delivered_at(order)
            data["delivered_at"] = w.text("order_delivered_at", when=w.when(at)) if at else ""
            found = _PICKUP.search(point.description) if point else None
            if order.pickup_code:
                # The order's own pickup fields (docs/orders.md) win over the tracking text.
                data["pickup_code"] = order.pickup_code
                data["pickup_place"] = order.pickup_place or (point.location if point else "")
            elif found and point is not None:
                data["pickup_code"], data["pickup_place"] = found.group(1), point.location
        hook = FIELD_HOOKS.get(kind)
        if hook is not None:
            data.update(hook(w, order, data, now))
        if "expected" not in data:
            data["expected"] = self._expected(w, kind, order, data)
        data["fact"] = w.text(f"push_{kind}_fact", **data)
        data["next"] = w.first(f"push_{kind}_next", **data)
        note = w.category_note(order)
        data["extra"] = ("\n" + note) if note else ""
        data["time"] = w.when(_iso(now))
        return data

    def _expected(self, w: OrderWording, kind: str, order: Order, data: dict[str, str]) -> str:
        """The expected-time element: the ETA (or an exception's new ETA) while ahead, else
        what happens next and when."""
        if kind == ORDER_DELIVERED:
            if data["pickup_code"]:
                return w.text("push_order_delivered_pickup", place=data["pickup_place"],
                              code=data["pickup_code"])
            return ""
        if kind in (ORDER_CANCELLED, ORDER_REFUNDED):
            return w.first(f"push_{kind}_when")
        eta = w.eta(order)
        if eta:
            return eta
        expected, _ = w.expected(order)
        if expected == UPCOMING:
            return ""
        # No time known yet: say when one will be (before shipping: once it ships).
        return w.first(f"push_{kind}_when", "push_eta_unknown")

    def text(self, part: Part, lang: str, now: float,
             fields: dict[str, str] | None = None) -> str:
        data = fields if fields is not None else self.fields(part, lang, now)
        return _typeset(self.replies.text("push_message", lang, **data).strip(), lang)

    def message(self, parts: list[Part], lang: str, now: float) -> dict[str, Any]:
        """The whole message: one order's push, or several orders merged into one."""
        each = [self.fields(p, lang, now) for p in parts]
        texts = [self.text(p, lang, now, f) for p, f in zip(parts, each, strict=True)]
        fields = each[0]
        if len(parts) == 1:
            return {"lang": lang, "kind": parts[0].kind, "text": texts[0], "fields": fields,
                    "orders": [parts[0].order.order_id]}
        header = _typeset(self.replies.text("push_merged_header", lang, count=len(parts)), lang)
        separator = self.replies.text("push_merged_separator", lang)
        summary = ";".join(f"{p.order.order_id} {f['status']}" for p, f in zip(parts, each,
                                                                               strict=True))
        fields = {**fields, "count": str(len(parts)), "summary": summary, "fact": header}
        return {"lang": lang, "kind": MERGED, "text": header + "\n" + separator.join(texts),
                "fields": fields, "orders": [p.order.order_id for p in parts],
                "first_kind": parts[0].kind}


def _typeset(text: str, lang: str) -> str:
    """Chinese text in Chinese typography, as the chat's replies are."""
    return full_width(text) if lang == "zh-CN" or mostly_chinese(text) else text


def _iso(ts: float) -> str:
    from bot.orders.model import iso_from_timestamp

    return iso_from_timestamp(ts)
