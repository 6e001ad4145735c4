"""查物流: carrier, waybill, the latest tracking points, the expected time and a tracking link."""

from __future__ import annotations

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.replies import Reply
from bot.orders.model import ON_THE_WAY
from bot.orders.wording import OrderWording
from intents.order_lookup import Want, resolve
from intents.push_offer import offer_after

NAME = "logistics"

WANT = Want(
    handler=NAME,
    candidate=lambda order: order.status in ON_THE_WAY,
    ask="logistics_ask_number",
    list_header="logistics_list_header",
    prefer_last=True,
)


def logistics(ctx: MessageContext) -> Reply:
    found = resolve(ctx, WANT)
    if isinstance(found, Reply):
        return found
    link = ctx.services.orders.link(found.order_id, ctx.openid, ctx.lang)
    wording = OrderWording.for_message(ctx)
    answer = wording.logistics_answer(found, link,
                                      verified=bool(ctx.notes.get("order_verified")))
    return Reply(answer + offer_after(ctx, found))


HANDLERS = [
    Handler(name=NAME, handle=logistics, intents=("logistics",),
            menu_keys=("MENU_LOGISTICS",)),
]
