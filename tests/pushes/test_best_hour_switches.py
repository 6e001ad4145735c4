"""Best-hour placement and the merchant's switches."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.pushes.best_hour import BestHours
from bot.pushes.hours import Window, parse_windows
from bot.pushes.switches import WARN_EXCEPTIONS_KEPT, WARN_EXCEPTIONS_OFF, Switches

SHANGHAI = ZoneInfo("Asia/Shanghai")
TZ = "Asia/Shanghai"


def local(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).timestamp()


NIGHT = Window.parse("22:00-08:00")


def hours_of(r) -> BestHours:
    return BestHours(r, TZ, parse_windows("10:00-11:00,20:00-21:00"), NIGHT)


def test_learnt_hour_from_message_times(r):
    best = hours_of(r)
    for day in (20, 21, 22):
        best.record("oA", local(day, 19, 40))
    best.record("oA", local(23, 12, 5))
    assert best.best_hour("oA") == 19
    now = local(24, 10, 0)
    due = best.place("order_in_transit", "oA", now)
    placed = datetime.fromtimestamp(due, SHANGHAI)
    assert (placed.day, placed.hour) == (24, 19) and placed.minute < 30
    # The same user gets the same minute every day.
    again = datetime.fromtimestamp(best.place("order_in_transit", "oA", local(25, 9)), SHANGHAI)
    assert (again.day, again.hour, again.minute) == (25, 19, placed.minute)
    # Inside the best hour: now.
    assert best.place("order_in_transit", "oA", local(24, 19, 10)) == local(24, 19, 10)


def test_urgent_kinds_never_wait(r):
    best = hours_of(r)
    for day in (20, 21, 22):
        best.record("oA", local(day, 19, 40))
    now = local(24, 10, 0)
    for kind in ("order_exception", "order_delivered", "order_out_for_delivery",
                 "pickup_reminder", "order_stuck", "order_paid"):
        assert best.place(kind, "oA", now) == now


def test_defaults_without_enough_history(r):
    best = hours_of(r)
    best.record("oB", local(23, 15))
    assert best.best_hour("oB") is None
    assert best.place("order_not_shipped", "oB", local(24, 9, 0)) == local(24, 10, 0)
    assert best.place("order_not_shipped", "oB", local(24, 10, 30)) == local(24, 10, 30)
    assert best.place("order_not_shipped", "oB", local(24, 12, 0)) == local(24, 20, 0)
    assert best.place("merged", "oB", local(24, 21, 30)) == local(25, 10, 0)


def test_night_activity_is_not_a_best_hour(r):
    best = hours_of(r)
    for day in (18, 19, 20, 21):
        best.record("oC", local(day, 23, 30))
    for day in (20, 21, 22):
        best.record("oC", local(day, 8, 15))
    assert best.best_hour("oC") == 8


def test_switches_default_on_and_per_kind(r):
    switches = Switches(r)
    assert all(switches.all().values())
    change = switches.set("order_in_transit", on=False)
    assert change.kinds == ("order_in_transit",) and change.warnings == ()
    assert not switches.is_on("order_in_transit") and switches.is_on("order_shipped")
    switches.set("order_in_transit", on=True)
    assert switches.is_on("order_in_transit")


def test_logistics_off_keeps_exceptions_with_a_warning(r):
    switches = Switches(r)
    change = switches.set("logistics", on=False)
    assert "order_in_transit" in change.kinds and "order_exception" not in change.kinds
    assert change.warnings == (WARN_EXCEPTIONS_KEPT,)
    assert not switches.is_on("order_shipped") and switches.is_on("order_exception")
    off = switches.set("order_exception", on=False)
    assert off.warnings == (WARN_EXCEPTIONS_OFF,) and not switches.is_on("order_exception")
    # Logistics off again: exceptions were explicitly off, no "kept on" warning.
    assert switches.set("logistics", on=False).warnings == ()


def test_unknown_kind_is_refused(r):
    import pytest

    from bot.pushes.switches import UnknownKind

    with pytest.raises(UnknownKind):
        Switches(r).set("order_teleported", on=False)
    assert r.hlen("pushes:switches") == 0


def test_pipeline_places_in_transit_at_the_users_hour_and_urgent_at_once(make_app, r, clock):
    from tests.fixtures.orders import event, point, post_signed

    app = make_app(push_merge_delay=0.0)
    rt = app.extensions["bot_runtime"]
    for day in (20, 21, 22):
        rt.services.users.seen("oEve", local(day, 19, 40))    # recorded as messages are
    client = app.test_client()
    for body in (event("600001", "shipped", hours=-2, openid="oEve",
                       tracking=[point(-2, "杭州", "已揽收")]),
                 event("600001", "in_transit", hours=-1, openid="oEve",
                       tracking=[point(-1, "上海", "到达")]),
                 event("600002", "exception", hours=-1, openid="oEve",
                       exception={"reason": "天气原因延误"})):
        assert post_signed(client, body).status_code == 200
    created = [pid for _, fields in rt.services.orders.store.changes(count=10)
               for pid in rt.pushes.handle_change(fields)]
    due = {rt.pushes.store.get(pid).kind: rt.pushes.store.get(pid).due_at for pid in created}
    assert due["order_shipped"] == clock.now() and due["order_exception"] == clock.now()
    placed = datetime.fromtimestamp(due["order_in_transit"], SHANGHAI)
    assert (placed.day, placed.hour) == (24, 19)
