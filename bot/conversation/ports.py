"""What the conversation layer uses of the packages above it, as Protocols.

`Services` is built by the composition root (`bot.runtime`) from concrete classes in `bot.orders`,
`bot.pushes` and `bot.wechat`; naming their classes here would point an import upward, so the
conversation layer names only the calls it makes. The handlers in `intents/` sit above `bot.orders`
and import its types themselves where they need more than these.
"""

from __future__ import annotations

from typing import Any, Protocol


class OrderDesk(Protocol):
    """The order service as the conversation sees it (bot.orders.service.OrderService)."""

    @property
    def access(self) -> Any: ...                  # bot.orders.access.OrderAccess

    def get(self, order_id: str) -> Any: ...      # bot.orders.model.Order | None

    def recent(self, openid: str, limit: int = ...) -> list[Any]: ...

    def link(self, order_id: str, openid: str, lang: str) -> str: ...


class PreferenceBook(Protocol):
    """Each user's notification settings (bot.pushes.preferences.PreferenceStore)."""

    def get(self, openid: str) -> Any: ...        # bot.pushes.preferences.Preferences

    def set(self, openid: str, **changes: Any) -> Any: ...

    def ask_consent(self, openid: str, at: float) -> bool: ...


class OutgoingWeChat(Protocol):
    """Calls to WeChat's API (bot.wechat.api.WeChatAPI)."""

    def send_text(self, openid: str, text: str) -> dict[str, Any]: ...

    def user_info(self, openid: str) -> dict[str, Any]: ...


class JobQueue(Protocol):
    """Background work the conversation may ask for (bot.jobs.Jobs)."""

    def late_reply(self, msg: Any) -> None: ...

    def fetch_user_info(self, openid: str) -> None: ...
