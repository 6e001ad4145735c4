"""催件: "帮我催一下", "能快点吗 我明天就要用". The request is acknowledged, recorded for staff
(bot/orders/hurry.py), and the customer hears what happens next and when the order should
arrive."""

from __future__ import annotations

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.replies import Reply
from bot.orders.hurry import HurryRequests
from bot.orders.model import (
    ACTIVE,
    CANCELLED,
    CREATED,
    DELIVERED,
    EXCEPTION,
    PAID,
    PROCESSING,
    REFUNDED,
)
from bot.orders.wording import OrderWording
from intents.order_lookup import Want, resolve
from intents.talk import is_hurry, text_of, words_of

NAME = "hurry"

WANT = Want(
    handler=NAME,
    candidate=lambda order: order.status in ACTIVE,
    ask="hurry_ask_number",
    list_header="hurry_list_header",
    prefer_last=True,
)


def claims(ctx: MessageContext) -> bool:
    return is_hurry(words_of(ctx), text_of(ctx))


def hurry(ctx: MessageContext) -> Reply:
    found = resolve(ctx, WANT)
    if isinstance(found, Reply):
        return found
    order = found
    wording = OrderWording.for_message(ctx)
    facts = wording.facts(order)
    if order.status in (DELIVERED, CANCELLED, REFUNDED):
        return ctx.reply("hurry_not_needed", facts=facts)
    if order.status == CREATED:
        return ctx.reply("hurry_unpaid", facts=facts)
    count = HurryRequests(ctx.services.redis).record(
        order.order_id, ctx.openid, order.status, ctx.text, ctx.services.clock.now(),
        ctx.msg.dedup_key)
    if order.status in (PAID, PROCESSING):
        phase = "warehouse"
    elif order.status == EXCEPTION:
        phase = "exception"
    else:
        phase = "carrier"
    lines = [ctx.text_of(f"hurry_ack_{phase}", facts=facts,
                         carrier=wording.carrier(order.carrier) if order.carrier else "")]
    if count > 1:
        lines.append(ctx.text_of("hurry_again", count=count))
    return Reply("\n".join(lines))


HANDLERS = [Handler(name=NAME, handle=hurry, claims=claims, claim_rank=20)]
