"""The order service: events in, lookups out, one record per order.

Events from the shop's webhook and answers from the shop's API both go through the same
store script, so every answer the bot gives about an order reads the same record.
"""

from __future__ import annotations

import logging
from typing import Any

import redis

from bot.orders.access import OrderAccess
from bot.orders.claims import ClaimCodes, ClaimLog, CodeSender
from bot.orders.guard import MissGuard
from bot.orders.links import TrackingLinks
from bot.orders.model import ON_THE_WAY, Order, timestamp_of
from bot.orders.shop_api import OrderAPI, OrderAPIUnavailable
from bot.orders.store import DUPLICATE, ApplyResult, OrderStore
from bot.orders.validation import OrderEvent, parse_event
from bot.platform.clock import Clock
from bot.platform.config import Config
from bot.platform.daily import DailyStats

log = logging.getLogger(__name__)

API_MISS_TTL = 60        # an order the API does not know is not asked about again for this long
API_REFRESH = 300        # an order known only from the API is asked about again after this long
RECENT = 10              # how many of a customer's newest orders a lookup considers

__all__ = ["OrderAPIUnavailable", "OrderService", "build_order_service"]


class OrderService:
    """Applies order events and finds orders; `access` decides who may see which."""

    def __init__(self, store: OrderStore, clock: Clock, tz: str, links: TrackingLinks,
                 api: OrderAPI | None = None, guard: MissGuard | None = None,
                 codes: ClaimCodes | None = None, replicas: int = 0,
                 wait_ms: int = 500) -> None:
        self.replicas = replicas
        self.wait_ms = wait_ms
        self.store = store
        self.clock = clock
        self.tz = tz
        self.links = links
        self.api = api
        self.access = OrderAccess(self, guard or MissGuard(store.redis),
                                  ClaimLog(store.redis), codes, clock.now)
        self.stats = DailyStats(store.redis, tz)

    # Events in ------------------------------------------------------------------------------

    def apply_payload(self, payload: Any) -> ApplyResult:
        """Validate a webhook body (raises InvalidOrder) and apply it."""
        return self.apply_event(parse_event(payload, self.tz, self.clock.now()))

    def apply_event(self, event: OrderEvent) -> ApplyResult:
        result = self.store.apply(event.order, event_id=event.event_id,
                                  occurred_at=event.occurred_at, applied_at=self.clock.now(),
                                  replicas=self.replicas, wait_ms=self.wait_ms)
        # Orders on their way, per day: the console's "where is my order" rate divides by it.
        was, now = result.old_status in ON_THE_WAY, result.status in ON_THE_WAY
        if was != now and result.outcome != DUPLICATE:
            self.stats.move_in_transit(self.clock.now(), 1 if now else -1)
        return result

    # Lookups --------------------------------------------------------------------------------

    def get(self, order_id: str) -> Order | None:
        """The stored record only."""
        return self.store.get(order_id)

    def find(self, order_id: str) -> Order | None:
        """The stored record, or the shop API's answer for an order never seen (cached).
        Raises OrderAPIUnavailable when only the API could tell and it cannot now."""
        order = self.store.get(order_id)
        if self.api is None:
            return order
        if order is not None and not self._api_copy_is_old(order):
            return order
        miss_key = f"orders:api_miss:{order_id}"
        if order is None and self.store.redis.exists(miss_key):
            return None
        try:
            fetched = self.api.fetch(order_id)
        except OrderAPIUnavailable:
            if order is not None:
                return order     # an older copy beats "cannot check now"
            raise
        if fetched is None:
            if order is None:
                self.store.redis.set(miss_key, 1, ex=API_MISS_TTL)
            return order
        # An API answer is stored like an event that any webhook event supersedes.
        self.store.apply(fetched, event_id="", occurred_at="", applied_at=self.clock.now(),
                         source="api")
        return self.store.get(order_id)

    def find_by_tracking(self, tracking_no: str) -> Order | None:
        order_id = self.store.id_for_tracking(tracking_no)
        return self.store.get(order_id) if order_id else None

    def recent(self, openid: str, limit: int = RECENT) -> list[Order]:
        """The customer's newest orders, newest first (only those still theirs)."""
        orders = self.store.get_many(self.store.ids_for_openid(openid, limit))
        return [order for order in orders if order.openid == openid]

    def for_phone(self, phone: str, limit: int = RECENT) -> list[Order]:
        return self.store.get_many(self.store.ids_for_phone(phone, limit))

    def bind(self, order: Order, openid: str) -> bool:
        """Give a phone-only order to the customer who proved they know its phone."""
        return self.store.bind(order.order_id, openid, order.phone, self.clock.now())

    def unbind(self, order_id: str, openid: str) -> bool:
        """Undo a claim: the order is phone-only again (a shop event may still give it)."""
        return self.store.unbind(order_id, openid)

    def link(self, order_id: str, openid: str, lang: str) -> str:
        return self.links.url(order_id, openid, lang)

    def _api_copy_is_old(self, order: Order) -> bool:
        if order.source != "api" or not order.updated_at:
            return False
        return self.clock.now() - timestamp_of(order.updated_at) > API_REFRESH


def build_order_service(config: Config, client: redis.Redis, clock: Clock,
                        sms: CodeSender | None = None) -> OrderService:
    """The service as the runtime wires it (touches no Redis until used). With an SMS sender,
    claims of phone-only orders go by one-time code; without, by the full phone number."""
    api = None
    if config.order_api_url:
        api = OrderAPI(config.order_api_url, config.order_api_timeout, config.timezone,
                       config.order_api_token)
    links = TrackingLinks(config.secret_key, clock, config.public_base_url)
    codes = ClaimCodes(client, sms) if sms is not None else None
    return OrderService(OrderStore(client), clock, config.timezone, links, api, MissGuard(client),
                        codes, config.wait_replicas, config.redis_wait_ms)
