"""The scans with an injected clock: stuck parcels, pickup reminders, not-shipped-yet updates,
the follow-up list, and the runner fed by real order events through the webhook."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.orders.model import Order, StatusChange, TrackingPoint, iso_from_timestamp
from bot.pushes.best_hour import BestHours
from bot.pushes.hours import parse_windows
from bot.pushes.switches import Switches
from bot.pushes.watch.followup import FollowUpList
from bot.pushes.watch.runner import INDEX, ScanSettings, WatchScanner
from bot.pushes.watch.scans import (
    NOT_SHIPPED,
    PICKUP,
    STUCK,
    not_shipped,
    pickup_reminder,
    stuck,
)
from tests.conftest import START
from tests.fixtures.orders import event, point, post_signed

H = 3600.0
SHANGHAI = ZoneInfo("Asia/Shanghai")
COLLECTED = ("已取件", "picked up")


def iso(hours: float) -> str:
    return iso_from_timestamp(START + hours * H)


def order(status: str, *, points: tuple[float, ...] = (), history: tuple = (),
          occurred: float = 0.0, **fields) -> Order:
    return Order(order_id="202611240001", status=status, openid="oUser1", phone="13812345678",
                 occurred_at=iso(occurred),
                 tracking=tuple(TrackingPoint(iso(h), "杭州转运中心", d) for h, d in points),
                 history=tuple(StatusChange(s, iso(h)) for s, h in history), **fields)


# Stuck parcels -------------------------------------------------------------------------------

def test_stuck_after_stale_hours_once_per_stale_period():
    o = order("in_transit", points=((0, "到达"),), history=(("shipped", -5), ("in_transit", 0)))
    assert stuck(o, START + 47.9 * H, 48) is None
    found = stuck(o, START + 48 * H, 48)
    assert found and found.kind == STUCK and found.data["hours"] == "48"
    # Later scans of the same stall are the same finding (same version)…
    assert stuck(o, START + 60 * H, 48).version == found.version
    # …and a new point then a new stall is a new one.
    moved = order("in_transit", points=((0, "到达"), (50, "发出")),
                  history=(("shipped", -5), ("in_transit", 0)))
    assert stuck(moved, START + 60 * H, 48) is None
    assert stuck(moved, START + 98 * H, 48).version != found.version


def test_stuck_only_while_with_the_carrier():
    for status in ("paid", "out_for_delivery", "delivered", "exception", "cancelled"):
        assert stuck(order(status, history=((status, 0),)), START + 100 * H, 48) is None
    assert stuck(order("shipped", history=(("shipped", 0),)), START + 48 * H, 48) is not None


# Pickup reminders ----------------------------------------------------------------------------

def delivered(until: float | None = None, code_in_point: bool = False, **fields) -> Order:
    text = "已放入丰巢柜,取件码 556677" if code_in_point else "已签收"
    extra = {} if code_in_point else {"pickup_code": "8-2-1034", "pickup_place": "文三路驿站"}
    if until is not None:
        extra["pickup_until"] = iso(until)
    return order("delivered", points=((0, text),), history=(("delivered", 0),),
                 **{**extra, **fields})


def test_first_reminder_after_pickup_hours_then_a_last_call_before_return():
    o = delivered(until=72)
    assert pickup_reminder(o, START + 23 * H, 24, COLLECTED) is None
    first = pickup_reminder(o, START + 24 * H, 24, COLLECTED)
    assert first and first.kind == PICKUP and first.data["pickup_code"] == "8-2-1034"
    assert first.data["pickup_place"] == "文三路驿站"
    assert pickup_reminder(o, START + 59 * H, 24, COLLECTED).version == first.version
    last = pickup_reminder(o, START + 61 * H, 24, COLLECTED)
    assert last.version == first.version + 1 and last.data["last_call"] == "1"
    assert pickup_reminder(o, START + 72 * H, 24, COLLECTED) is None   # sent back by now


def test_code_read_from_the_delivery_point_and_no_second_without_a_return_date():
    o = delivered(code_in_point=True)
    found = pickup_reminder(o, START + 30 * H, 24, COLLECTED)
    assert found.data["pickup_code"] == "556677" and found.data["pickup_place"] == "杭州转运中心"
    assert pickup_reminder(o, START + 200 * H, 24, COLLECTED).version == found.version


def test_no_reminder_once_collected_or_for_a_door_delivery():
    taken = delivered(pickup_collected_at=iso(5))
    assert pickup_reminder(taken, START + 30 * H, 24, COLLECTED) is None
    by_point = order("delivered", points=((0, "已放入丰巢柜,取件码 556677"), (6, "已取件")),
                     history=(("delivered", 0),))
    assert pickup_reminder(by_point, START + 30 * H, 24, COLLECTED) is None
    door = order("delivered", points=((0, "本人签收"),), history=(("delivered", 0),))
    assert pickup_reminder(door, START + 30 * H, 24, COLLECTED) is None


# Not shipped yet -----------------------------------------------------------------------------

def test_not_shipped_after_a_day_one_version_per_day():
    o = order("paid", history=(("paid", 0),), ship_by=iso(48))
    assert not_shipped(o, START + 23 * H, 24, 20261125) is None
    found = not_shipped(o, START + 24 * H, 24, 20261125)
    assert found.kind == NOT_SHIPPED and found.version == 20261125
    assert found.data["ship_by"] == iso(48)
    assert not_shipped(order("shipped", history=(("paid", 0), ("shipped", 1))),
                       START + 30 * H, 24, 20261125) is None


# Follow-up list ------------------------------------------------------------------------------

def test_follow_up_list_keeps_the_first_entry_and_resolves(r):
    lst = FollowUpList(r)
    assert lst.add("A1", "stuck", START, carrier="SF")
    assert not lst.add("A1", "stuck", START + 600, carrier="SF")
    lst.add("B2", "stuck", START + 60)
    assert [i.order_id for i in lst.open()] == ["A1", "B2"] and len(lst) == 2
    assert lst.get("A1").added_at == int(START) and lst.get("A1").detail == {"carrier": "SF"}
    assert lst.resolve("A1", by="staff01", at=START + 3600, note="已联系顺丰")
    assert not lst.resolve("A1", by="staff01", at=START + 3600)
    assert [i.order_id for i in lst.open()] == ["B2"]
    assert lst.get("A1").resolved_by == "staff01"


# The runner on real orders ------------------------------------------------------------------

@pytest.fixture
def scan(app, r, clock):
    """A scanner on the app's order store that records what it enqueues."""
    enqueued: list[tuple[str, str, int, float]] = []
    services = app.extensions["bot"]
    settings = ScanSettings(tz="Asia/Shanghai", stale_hours=48, pickup_hours=24,
                            unshipped_hours=24, collected_words=COLLECTED)
    best = BestHours(r, "Asia/Shanghai", parse_windows("10:00-11:00,20:00-21:00"))
    scanner = WatchScanner(
        r, services.orders.store, settings,
        enqueue=lambda o, f, due: enqueued.append((o.order_id, f.kind, f.version, due)),
        followups=FollowUpList(r), switches=Switches(r), place=best.place)
    scanner.enqueued = enqueued
    return scanner


def test_runner_finds_each_case_once_from_real_events(app, r, clock, scan):
    client = app.test_client()
    for body in (
        event("900001", "in_transit", hours=-1, openid="oA", carrier="SF", tracking_no="SF1",
              tracking=[point(-1, "杭州转运中心", "已发出")]),
        event("900002", "delivered", hours=-1, openid="oB", phone="13812345678",
              pickup={"code": "8-2-1034", "place": "文三路驿站", "until": "2026-11-27T10:00:00"}),
        event("900003", "paid", hours=-1, openid="oC", ship_by="2026-11-26T18:00:00+08:00"),
        event("900004", "delivered", hours=-1, openid="oD"),   # to the door: nothing to watch
        event("900005", "created", hours=-1, openid="oE"),
    ):
        assert post_signed(client, body).status_code == 200
    first = scan.run(clock.now())
    # Created is not watched; the door delivery is dropped at the first look.
    assert first.read == 5 and first.found == [] and first.dropped == 1
    assert r.zcard(INDEX) == 3
    clock.advance(49 * H)
    report = scan.run(clock.now())
    kinds = sorted((o, k) for o, k, _, _ in scan.enqueued)
    assert kinds == [("900001", STUCK), ("900002", PICKUP), ("900003", NOT_SHIPPED)]
    assert report.read == 0 and report.watched == 3
    # Urgent finds go now; the not-shipped update waits for a default best hour (20:00).
    due = {k: d for _, k, _, d in scan.enqueued}
    assert due[STUCK] == clock.now() and due[PICKUP] == clock.now()
    assert datetime.fromtimestamp(due[NOT_SHIPPED], SHANGHAI).hour in (10, 20)
    # The stuck parcel is on the staff list.
    [item] = FollowUpList(r).open()
    assert item.order_id == "900001" and item.detail["tracking_no"] == "SF1"
    # Scanning again finds nothing new.
    clock.advance(600)
    assert scan.run(clock.now()).found == [] and len(scan.enqueued) == 3


def test_runner_skips_kinds_the_merchant_switched_off(app, r, clock, scan):
    Switches(r).set("order_stuck", on=False)
    post_signed(app.test_client(), event("900001", "shipped", hours=-1, openid="oA"))
    scan.run(clock.now())
    clock.advance(50 * H)
    report = scan.run(clock.now())
    assert report.switched_off == 1 and scan.enqueued == [] and len(FollowUpList(r)) == 0


def test_a_failed_enqueue_is_tried_again_next_scan(app, r, clock, scan):
    post_signed(app.test_client(), event("900001", "shipped", hours=-1, openid="oA"))
    calls = []

    def flaky(o, f, due):
        calls.append(f.kind)
        if len(calls) == 1:
            raise ConnectionError("queue down")

    scan.enqueue = flaky
    clock.advance(50 * H)
    with pytest.raises(ConnectionError):
        scan.run(clock.now())
    scan.run(clock.now())
    assert calls == [STUCK, STUCK] and len(FollowUpList(r)) == 1


def test_a_scan_looks_only_at_orders_whose_next_check_is_due(app, r, clock, scan):
    client = app.test_client()
    post_signed(client, event("900001", "in_transit", hours=-1, openid="oA",
                              tracking=[point(-1, "杭州转运中心", "已发出")]))
    post_signed(client, event("900003", "paid", hours=-1, openid="oC"))
    assert scan.run(clock.now()).watched == 2
    # Next due: the unshipped update 24 h after payment; the stall (48 h after the last point)
    # is further than the daily look every watched order gets anyway.
    assert r.zscore(INDEX, "900003") == START + 23 * H
    assert r.zscore(INDEX, "900001") == START + 24 * H
    clock.advance(3600)
    assert scan.run(clock.now()).watched == 0
    # A change makes the order due at the next scan, whatever its score said.
    post_signed(client, event("900001", "in_transit", hours=0.5, openid="oA",
                              tracking=[point(0.5, "上海", "到达")]))
    report = scan.run(clock.now())
    assert report.read == 1 and report.watched == 1
    assert r.zscore(INDEX, "900001") == START + 25 * H
    clock.advance(22 * H)
    report = scan.run(clock.now())
    assert report.watched == 1 and [f.kind for f in report.found] == [NOT_SHIPPED]
