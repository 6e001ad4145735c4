"""Outgoing calls to WeChat's API through wechatpy, with one access token for every process.

The token lives in Redis (wechatpy's RedisStorage). It comes from the stable token endpoint,
which hands every caller the same valid token instead of invalidating the last one. When a
call fails with 40001/42001/40014, the token is refreshed under a Redis lock only if the
stored token is still the one that failed (compare-and-refresh), so four workers meeting an
expired token cause one refresh, not a storm of "not latest" errors; then the call is retried
once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from bot.platform.config import Config
from bot.platform.metrics import WECHAT_API_ERRORS

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40001, 40014, 42001}
# Worth another try later: WeChat busy, rate limited, or our own network.
RETRYABLE_ERRORS = {-1, 45009, 45011, 45047}
# Refresh this long before WeChat's expiry, so no call carries a token about to lapse.
EXPIRY_MARGIN = 300
LOCK_TIMEOUT = 10


class WeChatError(Exception):
    """A WeChat API call failed."""

    retryable = True

    def __init__(self, message: str, errcode: int | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode


class WeChatUnavailable(WeChatError):
    """WeChat could not be reached or answered with an HTTP error: try again later."""


class WeChatRejected(WeChatError):
    """WeChat answered with an error code; `retryable` says whether trying later can help."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}", errcode)
        self.errmsg = errmsg
        self.retryable = errcode in RETRYABLE_ERRORS


class SharedTokenClient(WeChatClient):
    """wechatpy's client reading its token from Redis and refreshing via stable_token."""

    def __init__(self, config: Config, client: redis.Redis, timeout: float) -> None:
        super().__init__(config.wechat_appid, config.wechat_secret,
                         session=RedisStorage(client, prefix="wechat"), timeout=timeout,
                         auto_retry=False)  # we retry ourselves, after compare-and-refresh
        self.API_BASE_URL = config.wechat_api_base_url
        self._redis = client
        # Proxies from the environment, read once: requests would otherwise walk the whole
        # environment on every call (about a millisecond of CPU per push).
        self._http.proxies = requests.utils.get_environ_proxies(self.API_BASE_URL)
        self._http.trust_env = False

    @property
    def access_token(self) -> str:
        token = self.session.get(self.access_token_key)
        return token or self.refresh(stale=None)

    def refresh(self, stale: str | None) -> str:
        """A valid token: the stored one unless it is `stale` (or missing), else a new one."""
        lock = self._redis.lock(f"wechat:{self.appid}:token-lock", timeout=LOCK_TIMEOUT,
                                blocking_timeout=LOCK_TIMEOUT)
        if not lock.acquire():
            raise WeChatUnavailable("timed out waiting for another process's token refresh")
        try:
            current = self.session.get(self.access_token_key)
            if current and current != stale:
                return current  # someone refreshed while we waited
            result = self._stable_token(force=False)
            if stale is not None and result["access_token"] == stale:
                # WeChat still hands out the token it just refused: force a new one.
                result = self._stable_token(force=True)
            ttl = max(int(result.get("expires_in", 7200)) - EXPIRY_MARGIN, 60)
            self.session.set(self.access_token_key, result["access_token"], ttl)
            log.info("fetched a new WeChat access token (valid %ss)", ttl)
            return result["access_token"]
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:
                pass  # it expired while we talked to WeChat; the token is stored anyway

    def fetch_access_token(self) -> dict[str, Any]:
        token = self.refresh(stale=self.session.get(self.access_token_key))
        return {"access_token": token}

    def _stable_token(self, force: bool) -> dict[str, Any]:
        res = self._http.post(self.API_BASE_URL + "stable_token", timeout=self.timeout, json={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
            "force_refresh": force,
        })
        res.raise_for_status()
        result = res.json()
        if result.get("errcode"):
            raise WeChatRejected(int(result["errcode"]), result.get("errmsg", ""))
        return result


class WeChatAPI:
    """The calls the bot makes to WeChat; errors come out as WeChatError subclasses."""

    def __init__(self, config: Config, client: redis.Redis, timeout: float = 5.0) -> None:
        self.client = SharedTokenClient(config, client, timeout)

    def send_text(self, openid: str, text: str) -> dict[str, Any]:
        """A 客服消息 (customer-service message): only within 48 h of the user's last message."""
        return self.call(lambda c: c.message.send_text(openid, text))

    def send_template(self, openid: str, template_id: str, data: dict[str, Any],
                      url: str | None = None, client_msg_id: str | None = None) -> dict[str, Any]:
        """A template message; `client_msg_id` makes WeChat send one message however many
        times the same id is posted (within 10 minutes), so a retried push is not doubled."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return self.call(lambda c: c.message._post("message/template/send", data=body))

    def send_subscribe(self, openid: str, template_id: str, data: dict[str, Any],
                       page: str | None = None) -> dict[str, Any]:
        return self.call(lambda c: c.message.send_subscribe_message(openid, template_id, data,
                                                                    page=page))

    def create_menu(self, menu: dict[str, Any]) -> dict[str, Any]:
        return self.call(lambda c: c.menu.create(menu))

    def user_info(self, openid: str) -> dict[str, Any]:
        return self.call(lambda c: c.user.get(openid))

    def call(self, fn: Callable[[WeChatClient], dict[str, Any]]) -> dict[str, Any]:
        """Run `fn` with the shared token; on a token error refresh once and retry once."""
        try:
            return self._translate(fn)
        except WeChatRejected as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            failed = getattr(exc, "token", None)
            log.info("WeChat refused token (%s); compare-and-refresh", exc.errcode)
        try:
            self.client.refresh(stale=failed)
        except requests.RequestException as exc:
            raise WeChatUnavailable(f"token refresh failed: {exc}") from exc
        return self._translate(fn)

    def _translate(self, fn: Callable[[WeChatClient], dict[str, Any]]) -> dict[str, Any]:
        try:
            return fn(self.client)
        except WeChatClientException as exc:
            if exc.errcode is None:  # wechatpy's wrapping of an HTTP error
                status = getattr(exc.response, "status_code", None)
                WECHAT_API_ERRORS.labels("unavailable").inc()
                raise WeChatUnavailable(f"WeChat answered HTTP {status}") from exc
            WECHAT_API_ERRORS.labels(str(exc.errcode)).inc()
            rejected = WeChatRejected(int(exc.errcode), str(exc.errmsg))
            rejected.token = _token_of(exc.request)
            raise rejected from exc
        except requests.RequestException as exc:
            WECHAT_API_ERRORS.labels("unavailable").inc()
            raise WeChatUnavailable(f"WeChat unreachable: {exc}") from exc


def _token_of(req: requests.PreparedRequest | None) -> str | None:
    """The access token a failed request carried (the one to compare against)."""
    if req is None or not req.url:
        return None
    return (parse_qs(urlsplit(req.url).query).get("access_token") or [None])[0]
