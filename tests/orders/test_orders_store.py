"""The order record on a real Redis: one atomic script per event, indexes, the change stream,
out-of-order and duplicate events, and the shop-API fallback."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from bot.orders.guard import MissGuard
from bot.orders.model import LIFECYCLE_RANK
from bot.orders.service import API_MISS_TTL, API_REFRESH, build_order_service
from bot.orders.shop_api import OrderAPIUnavailable
from bot.orders.store import STREAM, OrderStore
from bot.orders.validation import InvalidOrder, parse_event
from tests.conftest import START
from tests.fixtures.orders import at, down_redis, event, point

TZ = "Asia/Shanghai"
ALICE, BOB = "oAlice000000000000000000001", "oBob00000000000000000000001"


@pytest.fixture
def service(make_app):
    return make_app().extensions["bot"].orders


def shipped(order_id: str = "202611240001", **extra) -> dict:
    fields = {"openid": ALICE, "phone": "13812345678", "carrier": "SF",
              "tracking_no": "SF1402938475610", "eta": at(29),
              "items": [{"name": "葡萄", "quantity": 1, "category": "fresh"}],
              "tracking": [point(-2, "昆明", "已揽收")]}
    fields.update(extra)
    return event(order_id, "shipped", **fields)


def test_event_creates_record_indexes_and_stream_entry(service, r):
    result = service.apply_payload(shipped())
    assert (result.outcome, result.old_status, result.status) == ("applied", "", "shipped")
    order = service.get("202611240001")
    assert order.status == "shipped" and order.openid == ALICE and order.category == "fresh"
    assert order.eta == "2026-11-25T07:00:00.000+00:00"       # 15:00 Shanghai, stored in UTC
    assert [p.description for p in order.tracking] == ["已揽收"]
    assert r.zrange(f"orders:openid:{ALICE}", 0, -1) == ["202611240001"]
    assert r.zrange("orders:phone:13812345678", 0, -1) == ["202611240001"]
    assert r.get("orders:tracking:SF1402938475610") == "202611240001"
    [(_, entry)] = r.xrange(STREAM)
    assert entry["order_id"] == "202611240001" and entry["openid"] == ALICE
    assert (entry["old_status"], entry["new_status"], entry["stale"]) == ("", "shipped", "0")
    assert entry["eta"] == order.eta and entry["applied_at"].startswith("2026-11-24T02:00:00")
    assert set(entry) >= {"event_id", "occurred_at", "exception_reason", "exception_new_eta"}


def test_same_event_twice_is_applied_once(service, r):
    body = shipped()
    assert service.apply_payload(body).outcome == "applied"
    again = service.apply_payload(body)
    assert again.outcome == "duplicate" and again.status == "shipped"
    assert r.xlen(STREAM) == 1
    assert r.ttl(f"orders:event:{body['event_id']}") > 86_400


def test_older_event_never_rolls_back_but_its_tracking_is_merged(service, r):
    signed = [point(-1, "杭州", "已签收"), point(-5, "上海", "运输中")]
    service.apply_payload(event("1001", "delivered", hours=-1, openid=ALICE, tracking=signed))
    late = event("1001", "in_transit", hours=-4, openid=BOB,
                 tracking=[point(-5, "上海", "运输中"), point(-8, "广州", "已揽收")])
    result = service.apply_payload(late)
    assert (result.outcome, result.status) == ("merged", "delivered")
    order = service.get("1001")
    assert order.status == "delivered" and order.openid == ALICE
    # Deduplicated by time + description, oldest first.
    assert [p.description for p in order.tracking] == ["已揽收", "运输中", "已签收"]
    # The older status fills the timeline without becoming the current one.
    assert [h.status for h in order.history] == ["in_transit", "delivered"]
    entries = r.xrange(STREAM)
    assert entries[-1][1]["stale"] == "1" and entries[-1][1]["new_status"] == "delivered"
    # The same old news again (new event id) changes nothing and is not streamed.
    again = service.apply_payload({**late, "event_id": "evt-replay"})
    assert again.outcome == "stale" and r.xlen(STREAM) == 2


@pytest.mark.parametrize(("first", "second", "shown"), [
    ("shipped", "paid", "shipped"),               # arrived late: never rolls back
    ("paid", "shipped", "shipped"),               # further along: wins
    ("in_transit", "in_transit", "in_transit"),   # the same status: the later one's fields
    ("in_transit", "exception", "exception"),     # a problem outranks routine transit news
    ("exception", "out_for_delivery", "exception"),
    ("delivered", "exception", "delivered"),      # delivered outranks the problem
    ("delivered", "refunded", "refunded"),        # closing statuses outrank everything
    ("refunded", "cancelled", "refunded"),        # a refund follows a cancellation
])
def test_events_of_the_same_time_keep_the_status_further_along(service, r, first, second,
                                                               shown):
    service.apply_payload(event("1010", first, hours=-1, openid=ALICE, eta=at(10)))
    first_eta = service.get("1010").eta
    result = service.apply_payload(event("1010", second, hours=-1, eta=at(20)))
    order = service.get("1010")
    assert order.status == shown == result.status
    # The fields come with the status that won; the other fills the history.
    assert (order.eta == first_eta) == (shown != second)
    assert sorted(h.status for h in order.history) == sorted({first, second})
    if first != second:
        assert [h.status for h in order.history] == sorted(
            {first, second}, key=LIFECYCLE_RANK.__getitem__)


def test_exception_then_recovery_clears_the_reason(service):
    service.apply_payload(event("1002", "exception", hours=-2, openid=ALICE,
                                exception={"reason": "地址不详", "new_eta": at(48)}))
    assert service.get("1002").exception_reason == "地址不详"
    service.apply_payload(event("1002", "in_transit", hours=-1))
    order = service.get("1002")
    assert order.status == "in_transit" and order.exception_reason == ""
    assert order.openid == ALICE     # an event without openid keeps the known one


def test_reassigned_order_moves_between_indexes(service, r):
    service.apply_payload(shipped("1003", tracking_no="SF0000000000001"))
    service.apply_payload(event("1003", "in_transit", hours=1, openid=BOB, phone="13900001111",
                                tracking_no="SF0000000000002"))
    assert r.zrange(f"orders:openid:{ALICE}", 0, -1) == []
    assert r.zrange(f"orders:openid:{BOB}", 0, -1) == ["1003"]
    assert r.zrange("orders:phone:13812345678", 0, -1) == []
    assert r.get("orders:tracking:SF0000000000001") is None
    assert service.find_by_tracking("SF0000000000002").order_id == "1003"


def test_each_event_is_one_round_trip(redis_url, r):
    class Counting(redis.Connection):
        sent = 0

        def send_packed_command(self, command, check_health=True):
            Counting.sent += 1
            return super().send_packed_command(command, check_health)

    pool = redis.ConnectionPool.from_url(redis_url, connection_class=Counting,
                                         decode_responses=True)
    store = OrderStore(redis.Redis(connection_pool=pool))
    first = parse_event(shipped("1004"), TZ, START)
    store.apply(first.order, event_id=first.event_id, occurred_at=first.occurred_at,
                applied_at=0)        # may load the script
    before = Counting.sent
    second = parse_event(event("1004", "delivered", hours=3), TZ, START)
    result = store.apply(second.order, event_id=second.event_id,
                         occurred_at=second.occurred_at, applied_at=0)
    assert result.outcome == "applied" and Counting.sent - before == 1
    pool.disconnect()


def test_concurrent_events_in_any_order_end_at_the_newest(service, r):
    statuses = ["paid", "processing", "shipped", "in_transit", "out_for_delivery", "delivered"]
    bodies = [event("1005", s, hours=i, openid=ALICE, tracking=[point(i, "站点", s)])
              for i, s in enumerate(statuses)]
    bodies = bodies * 3          # every event delivered three times
    random.Random(7).shuffle(bodies)
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(service.apply_payload, bodies))
    assert sum(o.outcome != "duplicate" for o in outcomes) == len(statuses)
    order = service.get("1005")
    assert order.status == "delivered"
    assert [p.description for p in order.tracking] == statuses
    assert [h.status for h in order.history] == statuses
    assert r.xlen(STREAM) == len(statuses)


def test_miss_counter_always_expires(r):
    """A counter left without a TTL (a key expiring between a separate "set expiry" and
    "increment") would throttle its customer for ever: counting must give it one."""
    guard = MissGuard(r, limit=5, window=600)
    r.set(guard.key(ALICE), 3)                 # the state such a race leaves behind
    assert guard.miss(ALICE) == 4
    assert 0 < r.ttl(guard.key(ALICE)) <= 600
    guard.block(BOB, "1011")
    assert 0 < r.ttl(guard.key(BOB)) <= 600 and guard.blocked(BOB, "1011")
    assert 0 < r.ttl(guard.blocked_key(BOB, "1011")) <= 600
    # A running window is not extended by later misses.
    r.expire(guard.key(ALICE), 30)
    guard.miss(ALICE)
    assert r.ttl(guard.key(ALICE)) <= 30


def test_stream_is_trimmed(r):
    store = OrderStore(r, stream_maxlen=100)
    for i in range(400):
        parsed = parse_event(event(f"2{i:05d}", "paid", openid=ALICE), TZ, START)
        store.apply(parsed.order, event_id=parsed.event_id, occurred_at=parsed.occurred_at,
                    applied_at=0)
    assert 100 <= r.xlen(STREAM) < 400


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda b: b.pop("event_id"), "event_id"),
    (lambda b: b.update(occurred_at="yesterday"), "occurred_at"),
    (lambda b: b["order"].update(status="lost"), "order.status"),
    (lambda b: b["order"].update(order_id="../etc"), "order.order_id"),
    (lambda b: b["order"].update(items=[{"name": "x", "category": "toys"}]),
     "order.items[0].category"),
    (lambda b: b["order"].update(items=[{"name": "x", "quantity": 0}]),
     "order.items[0].quantity"),
    (lambda b: b["order"].update(tracking=[{"description": "x"}]), "order.tracking[0].time"),
    (lambda b: b["order"].update(exception={"reason": "x", "new_eta": "soon"}),
     "order.exception.new_eta"),
    (lambda b: b["order"].update(phone="call me"), "order.phone"),
    (lambda b: b["order"].update(amount="lots"), "order.amount"),
    (lambda b: b.update(order=[]), "order"),
])
def test_invalid_events_name_the_field(mutate, field):
    body = shipped()
    mutate(body)
    with pytest.raises(InvalidOrder) as raised:
        parse_event(body, TZ, START)
    assert raised.value.field == field


def test_naive_times_are_read_in_the_shop_time_zone():
    body = event("1006", "paid", openid=ALICE)
    body["occurred_at"] = "2026-11-24T10:00:00"
    assert parse_event(body, TZ, START).occurred_at == "2026-11-24T02:00:00.000+00:00"


# The shop's order API, for orders the bot has never seen -----------------------------------

@pytest.fixture
def api_service(make_app, shop_api):
    return make_app(order_api_url=shop_api.url, order_api_timeout=0.3).extensions["bot"].orders


def test_unknown_order_is_asked_of_the_api_once_and_stored(api_service, shop_api, r):
    shop_api.orders["3001"] = {"order_id": "3001", "openid": ALICE, "status": "shipped",
                               "carrier": "ZTO", "tracking_no": "78312345678901"}
    order = api_service.find("3001")
    assert order.status == "shipped" and order.source == "api"
    assert api_service.find("3001").status == "shipped"
    assert shop_api.hits == ["3001"]
    assert r.zrange(f"orders:openid:{ALICE}", 0, -1) == ["3001"]
    assert r.xrange(STREAM)[-1][1]["source"] == "api"


def test_api_not_found_is_cached_briefly(api_service, shop_api, r):
    assert api_service.find("3002") is None
    assert api_service.find("3002") is None
    assert shop_api.hits == ["3002"]
    assert 0 < r.ttl("orders:api_miss:3002") <= API_MISS_TTL
    # Redis expires the negative entry on its own clock; drop it as if the TTL had passed.
    r.delete("orders:api_miss:3002")
    shop_api.orders["3002"] = {"order_id": "3002", "openid": ALICE, "status": "paid"}
    assert api_service.find("3002").status == "paid"


def test_api_down_or_slow_means_cannot_check_now(api_service, shop_api):
    shop_api.failing = True
    with pytest.raises(OrderAPIUnavailable):
        api_service.find("3003")
    shop_api.failing = False
    shop_api.delay = 1.0
    with pytest.raises(OrderAPIUnavailable):
        api_service.find("3003")


def test_webhook_events_supersede_the_api_copy(api_service, shop_api, clock):
    shop_api.orders["3004"] = {"order_id": "3004", "openid": ALICE, "status": "paid"}
    assert api_service.find("3004").status == "paid"
    api_service.apply_payload(event("3004", "shipped", hours=-30, openid=ALICE))
    assert api_service.find("3004").status == "shipped"
    # Once an event is known the API is not asked again, however old the record.
    clock.advance(API_REFRESH + 1)
    assert api_service.find("3004").status == "shipped"
    assert shop_api.hits == ["3004"]


def test_api_copy_is_refreshed_after_a_while(api_service, shop_api, clock):
    shop_api.orders["3005"] = {"order_id": "3005", "openid": ALICE, "status": "paid"}
    api_service.find("3005")
    shop_api.orders["3005"]["status"] = "processing"
    assert api_service.find("3005").status == "paid"
    clock.advance(API_REFRESH + 1)
    assert api_service.find("3005").status == "processing"
    shop_api.failing = True
    clock.advance(API_REFRESH + 1)
    assert api_service.find("3005").status == "processing"   # old copy beats "cannot check"


def test_service_builds_without_touching_redis():
    from bot.platform.clock import FixedClock
    from bot.platform.config import Config

    down = down_redis()
    config = Config.from_mapping({"bot_demo": True, "redis_url": "redis://127.0.0.1:1/0"})
    service = build_order_service(config, down, FixedClock(0))
    with pytest.raises(redis.ConnectionError):
        service.get("1")
