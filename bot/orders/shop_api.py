"""The shop's own order API, asked about orders the bot has never seen: GET {url}/{order_id}."""

from __future__ import annotations

import logging
import threading
from urllib.parse import quote

import requests

from bot.orders.model import Order
from bot.orders.validation import InvalidOrder, loads, parse_order

log = logging.getLogger(__name__)


class OrderAPIUnavailable(RuntimeError):
    """The API could not answer now (down, slow, or an answer we cannot read)."""


class OrderAPI:
    """A thin client: 200 → the order, 404 → None, anything else → OrderAPIUnavailable.

    Sends `token` as a bearer header and follows no redirect: a 3xx could carry the token to
    another host, and an order from anywhere but the shop's API is no answer."""

    def __init__(self, base_url: str, timeout: float, tz: str, token: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.tz = tz
        self._local = threading.local()   # one keep-alive session per thread

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def fetch(self, order_id: str) -> Order | None:
        url = f"{self.base_url}/{quote(order_id, safe='')}"
        try:
            resp = self._session().get(url, timeout=self.timeout, headers=self.headers,
                                       allow_redirects=False)
        except requests.RequestException as exc:
            log.warning("order API unreachable for %s: %s", order_id, type(exc).__name__)
            raise OrderAPIUnavailable(str(exc)) from exc
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            log.warning("order API answered %s for %s", resp.status_code, order_id)
            raise OrderAPIUnavailable(f"HTTP {resp.status_code}")
        try:
            body = loads(resp.content)
            order = parse_order(body.get("order", body) if isinstance(body, dict) else body,
                                self.tz)
        except (ValueError, RecursionError, InvalidOrder) as exc:
            log.warning("order API answer for %s unreadable: %s", order_id, exc)
            raise OrderAPIUnavailable(str(exc)) from exc
        if order.order_id != order_id:
            log.warning("order API answered order %s when asked for %s", order.order_id, order_id)
            raise OrderAPIUnavailable("answer for another order")
        return order
