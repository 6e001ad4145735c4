"""Pushes: the settings in force, counts by kind, channel and status, each order's push log,
and a CSV export of the daily counts. The settings come from the environment (QUIET_HOURS,
PUSH_DAILY_CAP, …, see README) and are shown here, not edited: the push rules read them once
per process."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Response, abort, redirect, request, url_for

from bot.console.blueprint import bp, console, page
from bot.console.security import ADMIN, AGENT, role
from bot.pushes.kinds import KINDS

DAYS_SHOWN = (1, 7, 30)
EXPORT_DAYS = 30


def _pipeline():  # noqa: ANN202
    pushes = console().pushes
    if pushes is None:
        abort(404)
    return pushes


@bp.route("/pushes")
@role(ADMIN)
def pushes():  # noqa: ANN201
    c = console()
    pipeline = _pipeline()
    days = request.args.get("days", 7, type=int)
    days = days if days in DAYS_SHOWN else 7
    counts = pipeline.stats.counts(days, c.services.clock.now())
    by_kind: dict[str, dict[str, int]] = {}
    for pair, value in counts.get("kind_status", {}).items():
        kind, _, status = pair.partition("|")
        by_kind.setdefault(kind, {})[status] = value
    config = c.services.config
    settings = pipeline.settings
    return page("pushes.html", days=days, days_shown=DAYS_SHOWN, counts=counts,
                by_kind=by_kind, kinds=sorted(KINDS.values(), key=lambda k: k.name),
                settings=settings, quiet=config.quiet_hours)


@bp.route("/pushes/order")
@role(AGENT)
def push_order_search():  # noqa: ANN201
    order_id = (request.args.get("order_id") or "").strip()
    if not order_id:
        return redirect(url_for("console.pushes"))
    return redirect(url_for("console.push_log", order_id=order_id))


@bp.route("/pushes/order/<order_id>")
@role(AGENT)
def push_log(order_id: str):  # noqa: ANN201
    c = console()
    order = c.services.orders.get(order_id)
    return page("push_log.html", order_id=order_id, order=order,
                entries=_pipeline().log.for_order(order_id))


@bp.route("/pushes/export.csv")
@role(ADMIN)
def push_export():  # noqa: ANN201
    """Daily counts of the last 30 days: one row per day, kind and status."""
    c = console()
    stats = _pipeline().stats
    today = c.stats.day_of(c.services.clock.now())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["day", "kind", "status", "count"])
    pipe = c.services.redis.pipeline(transaction=False)
    days = [today - timedelta(days=n) for n in range(EXPORT_DAYS - 1, -1, -1)]
    for day in days:
        pipe.hgetall(stats.key(day.strftime("%Y%m%d")))
    for day, raw in zip(days, pipe.execute(), strict=True):
        for field, value in sorted(raw.items()):
            group, _, pair = field.partition(":")
            if group == "kind_status":
                kind, _, status = pair.partition("|")
                writer.writerow([day.isoformat(), kind, status, value])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=pushes.csv"})
