"""How a push reaches the user: the channel interface, the chooser, and WeChat's three channels.

1. `kf`: 客服消息, while the user is inside WeChat's 48-hour window (since their last message,
   menu click, follow or scan) and under the per-window quota (`PUSH_KF_QUOTA`, counted here,
   so no request is spent to learn 45047).
2. `template`: a template message for the kind (`PUSH_TEMPLATES`), with a `client_msg_id`.
3. `subscribe`: a one-time subscribe notice, when the user granted one for that template.

Another channel (SMS) implements `Channel` and is added with `ChannelChooser.add`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.pushes.grants import ALL_WECHAT, Grants
from bot.pushes.render import MERGED
from bot.pushes.store import PushStore
from bot.pushes.templates import PushTemplates, TemplateSpec
from bot.wechat.api import TOKEN_ERRORS, WeChatError, WeChatRejected

WINDOW = 48 * 3600
# Leave room for the time a send takes: a message sent at 47:59:59 may land after 48:00.
WINDOW_MARGIN = 60


@dataclass
class Target:
    """Who a message goes to and what the channels need to know about them."""

    openid: str
    lang: str
    kind: str                       # the message's kind ("merged" for several orders)
    now: float
    last_message_at: float = 0.0    # the user's last message/click/follow (opens the window)
    stopped: dict[str, str] = field(default_factory=dict)   # channel → code that stopped it
    client_msg_id: str = ""
    quota_until: dict[str, float] = field(default_factory=dict)
    kf_used: int = 0                # 客服消息 already sent in this window

    @property
    def window(self) -> str:
        return str(int(self.last_message_at))


@dataclass(frozen=True)
class Sent:
    channel: str
    msg_id: str = ""            # WeChat's msgid (receipts refer to it)
    detail: str = ""


class ChannelFailed(Exception):
    """A channel could not carry the message. `retry`: try the same again later (backoff);
    `next_channel`: try the next one now; `stop`: the user is unreachable there (recorded);
    `retry_at`: wait until then (a quota)."""

    def __init__(self, code: str, reason: str = "", *, retry: bool = False,
                 next_channel: bool = True, stop: str = "", retry_at: float = 0.0) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.retry = retry
        self.next_channel = next_channel
        self.stop = stop
        self.retry_at = retry_at


class Channel(Protocol):
    name: str

    def offer(self, target: Target, message: dict[str, Any]) -> str | None:
        """None when this channel can carry `message` to `target` now, else why not."""

    def send(self, target: Target, message: dict[str, Any]) -> Sent:
        """Send, or raise ChannelFailed."""


class ChannelChooser:
    """The channels in the order they are tried."""

    def __init__(self, channels: list[Channel] | None = None) -> None:
        self.channels: list[Channel] = list(channels or [])

    def add(self, channel: Channel, before: str | None = None) -> None:
        names = [c.name for c in self.channels]
        at = names.index(before) if before in names else len(self.channels)
        self.channels.insert(at, channel)

    def get(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)

    def candidates(self, target: Target,
                   message: dict[str, Any]) -> tuple[list[Channel], dict[str, str]]:
        """(channels that can carry it now, in order; why each other one cannot)."""
        usable, skipped = [], {}
        for channel in self.channels:
            why = channel.offer(target, message)
            if why is None:
                usable.append(channel)
            else:
                skipped[channel.name] = why
        return usable, skipped


def failed_from(exc: WeChatError, channel: str, next_reset: float) -> ChannelFailed:
    """WeChat's answer as what to do next."""
    if not isinstance(exc, WeChatRejected):
        return ChannelFailed("network", str(exc), retry=True, next_channel=False)
    code = exc.errcode
    if code == -1 or code in TOKEN_ERRORS:
        # WeChat busy; a token still refused after the API client's own refresh and retry.
        return ChannelFailed(str(code), exc.errmsg, retry=True, next_channel=False)
    if code in (45015, 45047):
        return ChannelFailed(str(code), exc.errmsg)           # window closed / quota used
    if code == 43004:
        return ChannelFailed(str(code), exc.errmsg, stop=ALL_WECHAT, next_channel=False)
    if code == 43101:
        return ChannelFailed(str(code), exc.errmsg, stop=channel)
    if code in (45009, 45011):
        return ChannelFailed(str(code), exc.errmsg, retry_at=next_reset, next_channel=True)
    return ChannelFailed(str(code), exc.errmsg)


def _stopped(target: Target, name: str) -> str | None:
    for channel in (ALL_WECHAT, name):
        if channel in target.stopped:
            return f"stopped ({target.stopped[channel]})"
    if target.quota_until.get(name, 0) > target.now:
        return "quota used until reset"
    return None


class KfChannel:
    name = "kf"

    def __init__(self, wechat: Any, store: PushStore, quota: int, next_reset: Any) -> None:
        self.wechat = wechat
        self.store = store
        self.quota = quota
        self.next_reset = next_reset

    def offer(self, target: Target, message: dict[str, Any]) -> str | None:
        if why := _stopped(target, self.name):
            return why
        if target.now - target.last_message_at > WINDOW - WINDOW_MARGIN:
            return "outside the 48 h window"
        if target.kf_used >= self.quota:
            return "window quota used"
        return None

    def send(self, target: Target, message: dict[str, Any]) -> Sent:
        try:
            result = self.wechat.send_text(target.openid, message["text"])
        except WeChatError as exc:
            raise failed_from(exc, self.name, self.next_reset(target.now)) from exc
        return Sent(self.name, str(result.get("msgid", "")))


class TemplateChannel:
    name = "template"

    def __init__(self, wechat: Any, templates: PushTemplates, next_reset: Any) -> None:
        self.wechat = wechat
        self.templates = templates
        self.next_reset = next_reset

    def spec(self, message: dict[str, Any]) -> TemplateSpec | None:
        spec = self.templates.template_for(message["kind"])
        if spec is None and message["kind"] == MERGED:
            spec = self.templates.template_for(message.get("first_kind", ""))
        return spec

    def offer(self, target: Target, message: dict[str, Any]) -> str | None:
        if why := _stopped(target, self.name):
            return why
        return None if self.spec(message) else "no template for this kind"

    def send(self, target: Target, message: dict[str, Any]) -> Sent:
        spec = self.spec(message)
        assert spec is not None
        data, url = spec.render(message["fields"])
        try:
            result = self.wechat.send_template(target.openid, spec.template_id, data, url=url,
                                               client_msg_id=target.client_msg_id)
        except WeChatError as exc:
            raise failed_from(exc, self.name, self.next_reset(target.now)) from exc
        return Sent(self.name, str(result.get("msgid", "")))


class SubscribeChannel:
    name = "subscribe"

    def __init__(self, wechat: Any, templates: PushTemplates, grants: Grants,
                 next_reset: Any) -> None:
        self.wechat = wechat
        self.templates = templates
        self.grants = grants
        self.next_reset = next_reset

    def spec(self, message: dict[str, Any]) -> TemplateSpec | None:
        kind = message.get("first_kind", "") if message["kind"] == MERGED else message["kind"]
        return self.templates.subscribe_for(kind)

    def offer(self, target: Target, message: dict[str, Any]) -> str | None:
        if why := _stopped(target, self.name):
            return why
        spec = self.spec(message)
        if spec is None:
            return "no subscribe template for this kind"
        if self.grants.available(target.openid, spec.template_id) <= 0:
            return "no subscribe grant"
        return None

    def send(self, target: Target, message: dict[str, Any]) -> Sent:
        spec = self.spec(message)
        assert spec is not None
        # A grant is good for one message: spent before sending, so two senders cannot both
        # use the last one; given back when WeChat says it was not sent.
        if not self.grants.spend(target.openid, spec.template_id):
            raise ChannelFailed("no_grant", "the grant was used meanwhile")
        data, page = spec.render(message["fields"])
        try:
            result = self.wechat.send_subscribe(target.openid, spec.template_id, data,
                                                page=page or None)
        except WeChatError as exc:
            failed = failed_from(exc, self.name, self.next_reset(target.now))
            if failed.code != "43101":   # refused by the user: the grant is gone for good
                self.grants.refund(target.openid, spec.template_id)
            raise failed from exc
        return Sent(self.name, str(result.get("msgid", "")))
