"""The handler interface and the one registry every handler is entered in."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.conversation.context import MessageContext
    from bot.conversation.replies import Reply

HandleFn = Callable[["MessageContext"], "Reply | None"]
AnswersFn = Callable[["MessageContext"], bool]


@dataclass(frozen=True)
class Handler:
    """A named handler and the data that routes messages to it."""

    name: str
    handle: HandleFn
    intents: tuple[str, ...] = ()     # matcher intent ids answered by this handler
    menu_keys: tuple[str, ...] = ()   # CLICK menu EventKeys routed here
    events: tuple[str, ...] = ()      # event names (lower case) routed here
    kinds: tuple[str, ...] = ()       # message kinds routed here (image, video, ...)
    # Whether a message answers the question this handler left pending; without it a
    # question is taken to ask for a number (see bot.conversation.text_router).
    answers: AnswersFn | None = None
    # Whether this handler takes a message by what it says about the conversation's subject
    # (a complaint, "它什么时候到" about the order in focus), before the matcher's intent.
    # Offered in ascending `claim_rank`; see bot.conversation.text_router.
    claims: AnswersFn | None = None
    claim_rank: int = 100


class HandlerRegistry:
    """Routes by data; refuses two handlers claiming the same name, intent, key or event."""

    def __init__(self, handlers: Iterable[Handler] = ()) -> None:
        self._by_name: dict[str, Handler] = {}
        self._routes: dict[tuple[str, str], Handler] = {}
        for handler in handlers:
            self.register(handler)

    def register(self, handler: Handler) -> None:
        if handler.name in self._by_name:
            raise ValueError(f"two handlers named {handler.name!r}")
        routes = (
            [("intent", i) for i in handler.intents]
            + [("menu", k) for k in handler.menu_keys]
            + [("event", e) for e in handler.events]
            + [("kind", k) for k in handler.kinds]
        )
        for route in routes:
            if route in self._routes:
                other = self._routes[route].name
                raise ValueError(
                    f"{handler.name!r} and {other!r} both claim {route[0]} {route[1]!r}"
                )
        self._by_name[handler.name] = handler
        for route in routes:
            self._routes[route] = handler

    def get(self, name: str) -> Handler | None:
        return self._by_name.get(name)

    def for_intent(self, intent_id: str) -> Handler | None:
        return self._routes.get(("intent", intent_id))

    def for_menu_key(self, key: str) -> Handler | None:
        return self._routes.get(("menu", key))

    def for_event(self, event: str) -> Handler | None:
        return self._routes.get(("event", event))

    def for_kind(self, kind: str) -> Handler | None:
        return self._routes.get(("kind", kind))

    def claimants(self) -> list[Handler]:
        """Handlers that claim messages by their content, in the order they are offered one."""
        return sorted((h for h in self._by_name.values() if h.claims is not None),
                      key=lambda h: (h.claim_rank, h.name))

    def names(self) -> list[str]:
        return sorted(self._by_name)
