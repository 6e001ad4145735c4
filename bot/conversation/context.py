"""The per-message context handed to every handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import redis

from bot.conversation.dialogue import Conversation, DialogueStore
from bot.conversation.messages import Incoming
from bot.conversation.ports import JobQueue, OrderDesk, OutgoingWeChat, PreferenceBook
from bot.conversation.replies import Replies, Reply
from bot.conversation.users import UserStore
from bot.platform.clock import Clock
from bot.platform.config import Config
from bot.understanding.intent_store import IntentStore
from bot.understanding.unmatched import UnmatchedStore

if TYPE_CHECKING:
    from bot.understanding.matcher import MatchResult


class RoutedHandler(Protocol):
    """What routing needs of a registered handler (bot.conversation.handlers.Handler)."""

    name: str
    handle: Callable[[MessageContext], Reply | None]
    answers: Callable[[MessageContext], bool] | None


class HandlerLookup(Protocol):
    """The handler registry as a handler may use it: find another handler to hand over to.
    Named here, not imported, because the registry's handlers take this context."""

    def get(self, name: str) -> RoutedHandler | None: ...

    def for_intent(self, intent_id: str) -> RoutedHandler | None: ...


class HandlerServices(Protocol):
    """What a handler may use of the process's services (bot.conversation.services.Services).
    A Protocol so that this module need not import the registry that holds the handlers."""

    config: Config
    redis: redis.Redis
    clock: Clock
    replies: Replies
    handlers: HandlerLookup
    dialogue: DialogueStore
    users: UserStore
    intents: IntentStore
    unmatched: UnmatchedStore
    orders: OrderDesk
    prefs: PreferenceBook
    wechat: OutgoingWeChat | None
    jobs: JobQueue | None
    extras: dict[str, Any]


@dataclass
class MessageContext:
    """One message's user, text, dialogue state, match and reply helpers."""

    msg: Incoming
    services: HandlerServices
    state: Conversation
    lang: str
    text: str = ""
    match: MatchResult | None = None   # set when the matcher ran
    notes: dict[str, Any] = field(default_factory=dict)
    # The reply store's pipeline, when the caller has one: a write whose result the handler
    # does not need rides in its round trip instead of one of its own.
    writes: redis.client.Pipeline | None = None

    @property
    def openid(self) -> str:
        return self.msg.openid

    def reply(self, template: str, **data: Any) -> Reply:
        """Render a `replies/` template in the user's language."""
        return self.services.replies.render(template, self.lang, **data)

    def text_of(self, template: str, **data: Any) -> str:
        """Render a template to a string, for composing a longer reply."""
        return self.services.replies.text(template, self.lang, **data)
