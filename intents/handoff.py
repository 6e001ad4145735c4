"""转人工: hand the conversation to a human seat, or say when one will be back."""

from __future__ import annotations

import json

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.handoffs import HandoffBook
from bot.conversation.replies import TRANSFER, Reply
from bot.conversation.service_hours import on_duty
from bot.conversation.transcript import Transcript

QUEUE = "handoff:requests"
QUEUE_MAX = 10_000


def hand_off(ctx: MessageContext) -> Reply:
    services = ctx.services
    config = services.config
    duty = on_duty(config.service_hours, services.clock, config.timezone)
    request = {"openid": ctx.openid, "text": ctx.text, "at": int(services.clock.now()),
               "on_duty": duty}
    # Kept for staff either way: outside hours it is the list they work through next morning.
    # Written with the reply when the caller stores one: no round trip of its own.
    pipe = ctx.writes if ctx.writes is not None else services.redis.pipeline(transaction=False)
    pipe.lpush(QUEUE, json.dumps(request, ensure_ascii=False))
    pipe.ltrim(QUEUE, 0, QUEUE_MAX - 1)
    if ctx.writes is None:
        pipe.execute()
    # The record staff work from, with the conversation that led here.
    now = services.clock.now()
    turns = Transcript(services.redis).last(ctx.openid, 10)
    turns.append(Transcript.turn(now, ctx.msg.kind, ctx.text or f"[{ctx.msg.event}]", "",
                                 "handoff"))
    HandoffBook(services.redis).open(ctx.openid, "asked", ctx.text, now, turns=turns,
                                     order_id=str(ctx.state.data.get("order_id") or ""),
                                     on_duty=duty)
    ctx.notes["handoff"] = True   # the console's daily count of hand-offs
    ctx.state.clear()
    if duty:
        return Reply(ctx.text_of("handoff_transferred"), kind=TRANSFER)
    return ctx.reply("handoff_closed", hours=config.service_hours)


HANDLERS = [
    Handler(name="handoff", handle=hand_off, intents=("handoff",), menu_keys=("MENU_HUMAN",)),
]
