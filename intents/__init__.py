"""Every handler the bot has, registered in one place.

Each module exposes HANDLERS; the order here does not matter because the registry refuses two
handlers claiming the same name, intent, menu key or event.
"""

from __future__ import annotations

from bot.conversation.handlers import Handler, HandlerRegistry
from intents import (
    basics,
    complaint,
    faq,
    greeting,
    handoff,
    hurry,
    logistics,
    order_claims,
    order_focus,
    order_status,
    push_follow,
    push_offer,
    push_receipts,
    push_settings,
)

MODULES = [basics, complaint, faq, greeting, handoff, hurry, logistics, order_claims,
           order_focus, order_status, push_follow, push_offer, push_receipts, push_settings]


def all_handlers() -> list[Handler]:
    return [handler for module in MODULES for handler in module.HANDLERS]


def build_registry(extra: list[Handler] | None = None) -> HandlerRegistry:
    """The registry of built-in handlers plus any extra ones (tests add slow handlers)."""
    return HandlerRegistry([*all_handlers(), *(extra or [])])
