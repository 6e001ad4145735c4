"""转人工: hand the conversation to a human seat, or say when one will be back."""

from __future__ import annotations

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.handoffs import HandoffQueue
from bot.conversation.replies import TRANSFER, Reply
from bot.conversation.service_hours import on_duty


def hand_off(ctx: MessageContext) -> Reply:
    services = ctx.services
    config = services.config
    duty = on_duty(config.service_hours, services.clock, config.timezone)
    # Queued for staff either way: outside hours it is the list they work through next
    # morning, in the console beside the conversation so far.
    HandoffQueue(services.redis).request(ctx.openid, ctx.text, services.clock.now(), duty)
    ctx.notes["handoff"] = True
    ctx.state.clear()
    if duty:
        return Reply(ctx.text_of("handoff_transferred"), kind=TRANSFER)
    return ctx.reply("handoff_closed", hours=config.service_hours)


HANDLERS = [
    Handler(name="handoff", handle=hand_off, intents=("handoff",), menu_keys=("MENU_HUMAN",)),
]
