"""Demo orders for the chat simulator's customer: one of each kind of answer the bot gives.

Seeded through the same path as the shop's webhook events, with times around the service
clock's "now". Each start of the demo seeds them afresh (the old demo records are replaced,
so ETAs are never stale and the phone-only order can be claimed again); seeding again within
the same minute changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.orders.model import utc_iso
from bot.orders.service import OrderService

# The customer `python -m bot chat` speaks as, who owns the demo orders.
DEMO_OPENID = "oDemoCustomer0001"

# The phone-only order: ask "查订单 202611180006" as anyone, then answer its phone 13800005678.
PHONE_ONLY_ORDER = "202611180006"
PHONE_ONLY_PHONE = "13800005678"


def seed_demo_orders(orders: OrderService, openid: str) -> list[str]:
    """Put the demo orders in place for `openid`, timed around the clock's now; returns the
    order ids. Idempotent within a minute, so a second call during one start is a no-op."""
    tz = ZoneInfo(orders.tz)
    now = datetime.fromtimestamp(orders.clock.now(), tz).replace(second=0, microsecond=0)
    events = _demo_events(openid, now)
    ids = [order_id for order_id, _, _ in events]
    current = {o.order_id: o.occurred_at for o in orders.store.get_many(ids)}
    if all(current.get(order_id) == utc_iso(datetime.fromisoformat(occurred_at))
           for order_id, occurred_at, _ in events):
        return ids
    # Replace, not update: older demo runs' tracking points and bindings must not linger.
    for order_id in ids:
        orders.store.delete(order_id)
    guard = orders.access.guard
    orders.store.redis.delete(guard.key(openid), guard.blocked_key(openid, PHONE_ONLY_ORDER))
    stamp = now.strftime("%Y%m%d%H%M")
    for order_id, occurred_at, order in events:
        orders.apply_payload({
            "event_id": f"demo-{stamp}-{order_id}",
            "occurred_at": occurred_at,
            "order": {"order_id": order_id, **order},
        })
    return ids


def _demo_events(openid: str, now: datetime) -> list[tuple[str, str, dict]]:
    """(order id, occurred_at, order) of each demo order, times relative to `now`."""
    today = now.replace(hour=0, minute=0)

    def at(days: float = 0, hour: int | None = None, minute: int = 0) -> str:
        base = today + timedelta(days=days) if hour is not None else now + timedelta(days=days)
        if hour is not None:
            base = base.replace(hour=hour, minute=minute)
        return base.isoformat()

    def in_hours(hours: int) -> str:
        # On the hour and ahead of now whenever the demo starts: it is out for delivery.
        return (now.replace(minute=0) + timedelta(hours=hours)).isoformat()

    def point(when: str, location: str, description: str) -> dict:
        return {"time": when, "location": location, "description": description}

    events = [
        ("202611240001", at(-0.1), {
            "openid": openid, "phone": "13812345678", "status": "shipped", "amount": "168.00",
            "items": [{"name": "阳光玫瑰葡萄 2kg", "quantity": 1, "category": "fresh"}],
            "carrier": "SF", "tracking_no": "SF1402938475610", "eta": at(1, 15),
            "address": "浙江省杭州市西湖区文三路 100 号",
            "tracking": [point(at(-0.3), "云南昆明", "顺丰已揽收,冷链运输"),
                         point(at(-0.1), "昆明转运中心", "已发出,下一站 杭州转运中心")],
        }),
        ("202611200002", at(-1, 14, 20), {
            "openid": openid, "phone": "13812345678", "status": "delivered",
            "amount": "12800.00",
            "items": [{"name": "经典款皮革手袋", "quantity": 1, "category": "luxury"}],
            "carrier": "SF", "tracking_no": "SF1402938400002",
            "tracking": [point(at(-3, 10), "上海", "已揽收(保价)"),
                         point(at(-2, 9), "杭州转运中心", "到达"),
                         point(at(-1, 14, 20), "杭州西湖区", "本人签收")],
        }),
        ("202611220003", at(-0.2), {
            "openid": openid, "phone": "13812345678", "status": "exception", "amount": "399.00",
            "items": [{"name": "跑步鞋", "quantity": 1, "category": "general"}],
            "carrier": "ZTO", "tracking_no": "78312345678901", "eta": at(-0.5),
            "exception": {"reason": "收件小区临时封闭,快递员无法进入派送", "new_eta": at(2, 18)},
            "tracking": [point(at(-2, 16), "广州", "中通已揽收"),
                         point(at(-0.2), "杭州西湖网点", "派送失败:小区封闭")],
        }),
        ("202611230004", at(-0.5), {
            "openid": openid, "phone": "13812345678", "status": "processing", "amount": "129.00",
            "items": [{"name": "定制刻字保温杯", "quantity": 2, "category": "custom"}],
            "eta": at(4, 18),
            "tracking": [point(at(-1, 11), "定制工坊", "设计稿已确认"),
                         point(at(-0.5), "定制工坊", "刻字完成,进入质检")],
        }),
        ("202611240005", at(-0.05), {
            "openid": openid, "phone": "13812345678", "status": "out_for_delivery",
            "amount": "1299.00",
            "items": [{"name": "无线降噪耳机", "quantity": 1, "category": "electronics"}],
            "carrier": "JD", "tracking_no": "JDV000123456789", "eta": in_hours(3),
            "tracking": [point(at(-1, 20), "北京亚洲一号仓", "京东已揽收"),
                         point(at(-0.3), "杭州西湖营业部", "已到达"),
                         point(at(-0.05), "杭州西湖营业部", "快递员正在派送")],
        }),
        (PHONE_ONLY_ORDER, at(-0.6), {
            "phone": PHONE_ONLY_PHONE, "status": "in_transit", "amount": "59.90",
            "items": [{"name": "抽纸 24 包", "quantity": 1, "category": "general"}],
            "carrier": "YTO", "tracking_no": "YT9876543210987", "eta": at(1, 12),
            "tracking": [point(at(-1, 9), "江苏苏州", "圆通已揽收"),
                         point(at(-0.6), "杭州转运中心", "运输中")],
        }),
    ]
    return events


# The order `python -m bot demo` walks through its life, one step at a time, through the
# webhook, so `python -m bot chat` shows each push as it is sent.
LIFE_ORDER = "202611250007"


def life_events(openid: str, start: datetime, step: float) -> list[tuple[float, dict]]:
    """(seconds after start, webhook body) for each step of the demo order's life."""
    eta = (start + timedelta(hours=26)).replace(minute=0, second=0, microsecond=0)
    stamp = start.strftime("%Y%m%d%H%M%S")
    base = {"order_id": LIFE_ORDER, "openid": openid, "phone": "13812345678",
            "amount": "89.00", "items": [{"name": "手冲咖啡豆 500g", "quantity": 1,
                                          "category": "general"}]}
    shipped = {"carrier": "ZTO", "tracking_no": "73100000000007", "eta": eta.isoformat()}

    def at(n: int) -> datetime:
        return start + timedelta(seconds=n * step)

    def point(n: int, location: str, description: str) -> dict:
        return {"time": at(n).isoformat(), "location": location, "description": description}

    steps = [
        ("paid", {}),
        ("shipped", {**shipped, "tracking": [point(1, "上海仓", "中通已揽收")]}),
        ("in_transit", {**shipped, "tracking": [point(2, "杭州转运中心", "已到达")]}),
        ("out_for_delivery", {**shipped, "eta": at(4).isoformat(),
                              "tracking": [point(3, "杭州西湖网点", "快递员正在派送")]}),
        ("delivered", {**shipped, "tracking": [
            point(4, "菜鸟驿站(文三路店)", "已签收,取件码 6-3-2207")]}),
    ]
    return [(n * step, {"event_id": f"demo-life-{stamp}-{n}", "occurred_at": at(n).isoformat(),
                        "order": {**base, "status": status, **extra}})
            for n, (status, extra) in enumerate(steps)]
