"""GET /track/<token>: an order's status timeline and tracking points, for a phone screen.

The token is a signed, expiring link bound to one order and one customer (bot/tracking_links);
anything else gets a plain "this link no longer works" page with 404.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, Response, render_template

from bot.conversation.services import current_services
from bot.orders.masking import mask_address, mask_phone
from bot.orders.model import EXCEPTION, Order
from bot.orders.wording import LATE, PENDING, OrderWording

log = logging.getLogger(__name__)

bp = Blueprint("tracking", __name__, template_folder="templates")


@bp.get("/track/", defaults={"token": ""})
@bp.get("/track/<token>")
def track_page(token: str) -> Response | tuple[str, int]:
    svc = current_services()
    target = svc.orders.links.read(token)
    if target is None:
        return _missing(svc.config.default_lang, "track_missing_body", 404)
    try:
        order = svc.orders.get(target.order_id)
    except redis.RedisError:
        log.warning("tracking page without Redis")
        return _missing(target.lang, "track_busy_body", 503)
    if order is None or not svc.orders.links.is_owner(target, order.openid):
        return _missing(target.lang, "track_missing_body", 404)
    wording = OrderWording(svc.replies, target.lang, svc.clock.now(), svc.config.timezone)
    return render_template("track.html", t=wording.text, lang=target.lang,
                           **page_of(order, wording))


def page_of(order: Order, wording: OrderWording) -> dict[str, object]:
    """What the page shows, already in words (the template only lays it out)."""
    kind, when = wording.expected(order)
    eta_label, eta = wording.text("track_eta"), when
    if kind == LATE:
        eta_label, eta = wording.text("track_eta_late"), wording.text("track_late", when=when)
    elif kind == PENDING:
        eta = wording.text("track_eta_pending")
    return {
        "order_id": order.order_id,
        "status": wording.status_name(order.status),
        "is_exception": order.status == EXCEPTION,
        "reason": wording.reason(order) if order.status == EXCEPTION else "",
        "items": [wording.text("track_item", item=i.name, quantity=i.quantity)
                  for i in order.items],
        "carrier": wording.carrier(order.carrier) if order.carrier else "",
        "tracking_no": order.tracking_no,
        "eta_label": eta_label,
        "eta": eta,
        "phone": mask_phone(order.phone),
        "address": mask_address(order.address),
        "timeline": [(wording.status_name(h.status), wording.when(h.time))
                     for h in reversed(order.history)],
        "points": [(wording.when(p.time), p.location, p.description)
                   for p in order.latest_points],
    }


def _missing(lang: str, body: str, status: int) -> tuple[str, int]:
    svc = current_services()
    wording = OrderWording(svc.replies, lang, svc.clock.now(), svc.config.timezone)
    return render_template("track_missing.html", t=wording.text, lang=lang, body=body), status
