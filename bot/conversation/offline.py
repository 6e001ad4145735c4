"""Answers while the store (Redis) is unreachable: a hand-over still works, the rest waits.

转人工 needs nothing from Redis (WeChat's transfer reply does the work), so it is recognised
with a matcher this process already holds, or one built from the built-in intents file, and a
menu button for a human counts too. Anything else gets the "busy, send it again" reply.
"""

from __future__ import annotations

import logging

from bot.conversation.messages import Incoming
from bot.conversation.replies import TRANSFER, Reply
from bot.conversation.service_hours import on_duty
from bot.conversation.services import Services

HANDOFF = "handoff"
log = logging.getLogger(__name__)
_reported: list[bool] = []


def answer_without_store(services: Services, msg: Incoming) -> Reply:
    """The reply to `msg` that needs no Redis."""
    lang = services.config.default_lang
    if _asks_for_a_human(services, msg):
        config = services.config
        if on_duty(config.service_hours, services.clock, config.timezone):
            return Reply(services.replies.text("handoff_transferred", lang), kind=TRANSFER)
        return services.replies.render("handoff_closed", lang, hours=config.service_hours)
    return services.replies.render("system_busy", lang)


def _asks_for_a_human(services: Services, msg: Incoming) -> bool:
    handlers = services.handlers
    if msg.is_event:
        handler = handlers.for_menu_key(msg.event_key) if msg.event == "click" else None
        return handler is not None and handler.name == HANDOFF
    if not msg.text:
        return False
    try:
        match = services.intents.offline_matcher().match(msg.text)
    except Exception:   # no matcher can be had: "busy" is still a safe answer
        if not _reported:
            _reported.append(True)   # once per process: it would fail for every message
            log.exception("no matcher without Redis: 转人工 gets the busy reply during outages")
        return False
    if match.outcome != "matched" or match.intent is None:
        return False
    handler = handlers.for_intent(match.intent)
    return handler is not None and handler.name == HANDOFF
