"""Check an order event (or an order from the shop's API) and bring it into the stored form.

Anything from outside is untrusted: every field is type-checked, bounded and normalised here,
and the first problem is reported by its path ("order.items[1].category").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from bot.orders.model import (
    CATEGORIES,
    GENERAL,
    STATUSES,
    Item,
    Order,
    TrackingPoint,
    timestamp_of,
    utc_iso,
)

MAX_ITEMS = 100
MAX_POINTS = 200
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_OPENID = re.compile(r"[A-Za-z0-9_-]{0,64}")
_TRACKING_NO = re.compile(r"[A-Z0-9-]{0,40}")
_CARRIER = re.compile(r"[A-Z0-9_]{0,16}")
_PHONE_NOISE = re.compile(r"[\s()-]")
# ASCII digits only: `\d` also takes other scripts' digits ("١٣٨…"), which the phone check
# could then not compare.
_PHONE = re.compile(r"[0-9]{7,15}")
# A shop's clock may run a little ahead of ours; an event further ahead than this would, once
# stored, make every real event look older than it and block all updates of the order.
MAX_AHEAD = 86_400


def loads(body: bytes | str) -> Any:
    """Parse an order body (webhook or shop API); numbers with a fraction become Decimal, read
    from their text. Raises ValueError for invalid JSON and RecursionError for nesting deeper
    than Python's stack (callers refuse both)."""
    return json.loads(body, parse_float=Decimal)


class InvalidOrder(ValueError):
    """A field that is missing, of the wrong type or out of range; `field` is its path."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class OrderEvent:
    event_id: str
    occurred_at: str        # stored form (UTC ISO)
    order: Order            # the snapshot the event carries (tracking points sorted)


def parse_event(payload: Any, tz: str, now: float) -> OrderEvent:
    """Validate a webhook body; naive times are read in the shop's time zone `tz`, and
    `occurred_at` may be at most MAX_AHEAD seconds after `now` (the bot's clock)."""
    if not isinstance(payload, dict):
        raise InvalidOrder("body", "must be a JSON object")
    event_id = _identifier(payload.get("event_id"), "event_id")
    if not _ID.fullmatch(event_id):
        raise InvalidOrder("event_id", "a string or integer of 1-128 letters, digits or _.:-")
    occurred_at = _time(payload.get("occurred_at"), "occurred_at", tz, required=True)
    if timestamp_of(occurred_at) > now + MAX_AHEAD:
        raise InvalidOrder("occurred_at", "more than a day ahead of the bot's clock")
    return OrderEvent(event_id, occurred_at, parse_order(payload.get("order"), tz, "order"))


def parse_order(value: Any, tz: str, path: str = "order") -> Order:
    """Validate one order object (a webhook's `order`, or the shop API's answer)."""
    if not isinstance(value, dict):
        raise InvalidOrder(path, "must be an object")
    order_id = _identifier(value.get("order_id"), f"{path}.order_id")
    if not _ORDER_ID.fullmatch(order_id):
        raise InvalidOrder(f"{path}.order_id",
                           "a string or integer of 1-64 letters, digits, _ or -")
    status = _text(value, "status", f"{path}.status", required=True)
    if status not in STATUSES:
        raise InvalidOrder(f"{path}.status", "one of " + ", ".join(STATUSES))
    openid = _identifier(value.get("openid"), f"{path}.openid", required=False)
    if not _OPENID.fullmatch(openid):
        raise InvalidOrder(f"{path}.openid", "letters, digits, _ or -, at most 64")
    carrier = _text(value, "carrier", f"{path}.carrier").upper()
    if not _CARRIER.fullmatch(carrier):
        raise InvalidOrder(f"{path}.carrier", "a carrier code such as SF, ZTO, JD")
    tracking_no = _identifier(value.get("tracking_no"), f"{path}.tracking_no",
                              required=False).upper()
    if not _TRACKING_NO.fullmatch(tracking_no):
        raise InvalidOrder(f"{path}.tracking_no",
                           "a string or integer of letters and digits, at most 40")
    exception = value.get("exception")
    reason, new_eta = "", ""
    if exception is not None:
        if not isinstance(exception, dict):
            raise InvalidOrder(f"{path}.exception", "must be an object")
        reason = _text(exception, "reason", f"{path}.exception.reason", limit=200)
        new_eta = _time(exception.get("new_eta"), f"{path}.exception.new_eta", tz)
    pickup = value.get("pickup")
    if pickup is not None and not isinstance(pickup, dict):
        raise InvalidOrder(f"{path}.pickup", "must be an object")
    pickup = pickup or {}
    return Order(
        order_id=order_id,
        status=status,
        openid=openid,
        phone=_phone(value.get("phone"), f"{path}.phone"),
        items=_items(value.get("items"), f"{path}.items"),
        amount=_amount(value.get("amount"), f"{path}.amount"),
        carrier=carrier,
        tracking_no=tracking_no,
        address=_text(value, "address", f"{path}.address", limit=200),
        eta=_time(value.get("eta"), f"{path}.eta", tz),
        exception_reason=reason,
        exception_new_eta=new_eta,
        ship_by=_time(value.get("ship_by"), f"{path}.ship_by", tz),
        pickup_code=_text(pickup, "code", f"{path}.pickup.code", limit=32),
        pickup_place=_text(pickup, "place", f"{path}.pickup.place", limit=100),
        pickup_until=_time(pickup.get("until"), f"{path}.pickup.until", tz),
        pickup_collected_at=_time(pickup.get("collected_at"), f"{path}.pickup.collected_at", tz),
        tracking=_points(value.get("tracking"), f"{path}.tracking", tz),
    )


def _identifier(value: Any, path: str, required: bool = True) -> str:
    """Identifiers (event_id, order_id, openid, tracking_no, phone) are strings, or JSON
    integers read as their digits: shops' systems send either. Fractions and exponents are
    refused (1.0 and 1e3 name no order)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidOrder(path, "a string or a non-negative integer")
        return str(value)
    if value is None or value == "":
        if required:
            raise InvalidOrder(path, "is required")
        return ""
    if not isinstance(value, str):
        raise InvalidOrder(path, "must be a string or an integer")
    return _checked_text(value.strip(), path)


def _checked_text(value: str, path: str) -> str:
    # JSON may carry lone surrogates ("\ud800"): no UTF-8 can store them, so Redis would fail.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidOrder(path, "not valid Unicode (a lone surrogate)") from None
    return value


def _text(obj: dict, key: str, path: str, required: bool = False, limit: int = 128) -> str:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise InvalidOrder(path, "is required")
        return ""
    if not isinstance(value, str):
        raise InvalidOrder(path, "must be a string")
    value = _checked_text(value.strip(), path)
    if len(value) > limit:
        raise InvalidOrder(path, f"at most {limit} characters")
    if required and not value:
        raise InvalidOrder(path, "is required")
    return value


def _time(value: Any, path: str, tz: str, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise InvalidOrder(path, "is required")
        return ""
    if not isinstance(value, str):
        raise InvalidOrder(path, "must be an ISO-8601 string")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidOrder(path, "must be an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    if not 2000 <= moment.year <= 2200:
        raise InvalidOrder(path, "out of range")
    return utc_iso(moment)


def _phone(value: Any, path: str) -> str:
    value = _identifier(value, path, required=False)
    if not value:
        return ""
    digits = _PHONE_NOISE.sub("", value)
    digits = digits.removeprefix("+86")
    if not _PHONE.fullmatch(digits):
        raise InvalidOrder(path, "7-15 digits")
    return digits


AMOUNT_RULE = 'a decimal string such as "199.00" or a JSON number, at most two decimals'


def _amount(value: Any, path: str) -> str:
    """Amounts are yuan as a decimal string or a JSON number, with at most two decimals. A JSON
    number is read from its text (the webhook parses with Decimal), never through a binary
    float, so 0.1 stays 0.10."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidOrder(path, AMOUNT_RULE)
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidOrder(path, AMOUNT_RULE) from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("100000000"):
        raise InvalidOrder(path, "out of range (0 to 100000000)")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidOrder(path, AMOUNT_RULE)
    return f"{amount:.2f}"


def _items(value: Any, path: str) -> tuple[Item, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise InvalidOrder(path, f"must be a list of at most {MAX_ITEMS} items")
    items = []
    for i, raw in enumerate(value):
        at = f"{path}[{i}]"
        if not isinstance(raw, dict):
            raise InvalidOrder(at, "must be an object")
        name = _text(raw, "name", f"{at}.name", required=True, limit=100)
        quantity = raw.get("quantity", 1)
        if (isinstance(quantity, bool) or not isinstance(quantity, int)
                or not 1 <= quantity <= 10**6):
            raise InvalidOrder(f"{at}.quantity", "a whole number from 1")
        category = raw.get("category") or GENERAL
        if category not in CATEGORIES:
            raise InvalidOrder(f"{at}.category", "one of " + ", ".join(CATEGORIES))
        items.append(Item(name, quantity, category))
    return tuple(items)


def _points(value: Any, path: str, tz: str) -> tuple[TrackingPoint, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_POINTS:
        raise InvalidOrder(path, f"must be a list of at most {MAX_POINTS} points")
    points = []
    for i, raw in enumerate(value):
        at = f"{path}[{i}]"
        if not isinstance(raw, dict):
            raise InvalidOrder(at, "must be an object")
        points.append(TrackingPoint(
            time=_time(raw.get("time"), f"{at}.time", tz, required=True),
            location=_text(raw, "location", f"{at}.location", limit=100),
            description=_text(raw, "description", f"{at}.description", required=True,
                              limit=200),
        ))
    return tuple(sorted(points, key=lambda p: (p.time, p.description)))
