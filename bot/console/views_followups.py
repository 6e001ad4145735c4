"""Stuck-parcel follow-ups (agents and admins): the orders the watch scans put on the staff's
list (bot/pushes/watch/followup.py), longest waiting first, each taken off with "handled"."""

from __future__ import annotations

from flask import flash, g, redirect, url_for

from bot.console.blueprint import bp, console, form_text, page
from bot.console.security import AGENT, role
from bot.orders.model import timestamp_of
from bot.pushes.watch.followup import FollowUp, FollowUpList

SHOWN = 200


@bp.route("/followups")
@role(AGENT)
def followups():  # noqa: ANN201
    c = console()
    items = FollowUpList(c.services.redis).open(SHOWN)
    orders = {item.order_id: c.services.orders.get(item.order_id) for item in items}
    now = c.services.clock.now()
    since = {item.order_id: _since(item) for item in items}
    hours = {order_id: int((now - at) // 3600) for order_id, at in since.items() if at}
    return page("followups.html", items=items, orders=orders, since=since, hours=hours)


def _since(item: FollowUp) -> float:
    """When the parcel last moved (the scan's finding), else when it went on the list."""
    try:
        return timestamp_of(item.detail["since"]) if item.detail.get("since") else item.added_at
    except ValueError:
        return item.added_at


@bp.route("/followups/<order_id>/handled", methods=["POST"])
@role(AGENT)
def followup_handled(order_id: str):  # noqa: ANN201
    c = console()
    note = form_text("note", 500)
    if FollowUpList(c.services.redis).resolve(order_id, g.account.name,
                                              c.services.clock.now(), note):
        c.record("followup_handled", order_id=order_id, note=note)
        flash("followup_done", "ok")
    else:
        flash("followup_gone", "warn")
    return redirect(url_for("console.followups"))
