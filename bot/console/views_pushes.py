"""Pushes: the rules in force and the merchant's changes to them (switches per kind, quiet
hours, daily cap, in-transit interval, and with SMS_PROVIDER set the SMS night hours and daily
cap: admins only, audited), counts by kind, channel and status, each order's push log, and a
CSV export of the daily counts. The environment's values (QUIET_HOURS, PUSH_DAILY_CAP,
PUSH_TRANSIT_INTERVAL, SMS_QUIET_HOURS, SMS_DAILY_CAP) are the defaults; a change is kept in
Redis and in force in every worker within a second (bot/pushes/settings_store.py)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Response, abort, flash, redirect, request, url_for

from bot.console.blueprint import bp, console, form_text, page
from bot.console.security import ADMIN, AGENT, role
from bot.pushes.kinds import KINDS
from bot.pushes.settings_store import FIELDS, PUSH_FIELDS, InvalidSetting, release_held
from bot.pushes.switches import (
    LOGISTICS,
    WARN_EXCEPTIONS_KEPT,
    WARN_EXCEPTIONS_OFF,
    Switches,
    UnknownKind,
)

DAYS_SHOWN = (1, 7, 30)
EXPORT_DAYS = 30


def _pipeline():  # noqa: ANN202
    pushes = console().pushes
    if pushes is None:
        abort(404)
    return pushes


def _sms_on() -> bool:
    return bool(console().services.config.sms_provider)


def _fields() -> tuple[str, ...]:
    """The settings this shop has: the SMS ones only where SMS is configured."""
    return FIELDS if _sms_on() else PUSH_FIELDS


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
    return page("pushes.html", days=days, days_shown=DAYS_SHOWN, counts=counts,
                by_kind=by_kind, kinds=sorted(KINDS.values(), key=lambda k: k.name),
                settings=pipeline.settings, rules=pipeline.rules.describe(_fields()),
                sms=_sms_on(),
                switches=Switches(c.services.redis).all(), logistics=LOGISTICS)


@bp.route("/pushes/settings", methods=["POST"])
@role(ADMIN)
def push_settings():  # noqa: ANN201
    """Quiet hours, daily cap, in-transit interval (and the SMS night hours and cap): each
    field typed differently from what is in force is changed (`default`, or the reset button,
    brings back the environment's value); one bad value changes nothing."""
    c = console()
    store = _pipeline().rules
    fields = _fields()
    shown = {field: value for field, value, _ in store.describe(fields)}
    reset = form_text("reset", 32)
    if reset:
        if reset not in fields:
            abort(400)
        wanted = {reset: "default"}
    else:
        wanted = {f: v for f in fields if (v := form_text(f, 32)) and v != shown[f]}
    if not wanted:
        flash("push_settings_unchanged", "ok")
        return redirect(url_for("console.pushes"))
    try:
        changes = store.change(**wanted)
    except InvalidSetting as exc:
        flash(f"push_bad_{exc.field}", "error")
        return redirect(url_for("console.pushes"))
    c.record("push_settings_changed",
             **{field: f"{before} → {after}" for field, (before, after) in changes.items()})
    release_held(changes, _pipeline().store, c.services.clock.now())
    flash("push_settings_saved", "ok")
    return redirect(url_for("console.pushes"))


@bp.route("/pushes/switches", methods=["POST"])
@role(ADMIN)
def push_switch():  # noqa: ANN201
    """One kind (or the logistics group) on or off for the whole shop."""
    c = console()
    _pipeline()
    name, state = form_text("kind", 64), form_text("state", 8)
    if state not in ("on", "off"):
        abort(400)
    try:
        change = Switches(c.services.redis).set(name, state == "on")
    except UnknownKind:
        abort(400)
    c.record("push_switched", kind=name, state=state, kinds=",".join(change.kinds))
    flash("push_switch_saved", "ok")
    if WARN_EXCEPTIONS_OFF in change.warnings:
        flash("push_warn_exceptions_off", "warn")
    elif WARN_EXCEPTIONS_KEPT in change.warnings:
        flash("push_warn_exceptions_kept", "warn")
    return redirect(url_for("console.pushes") + "#switches")



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
