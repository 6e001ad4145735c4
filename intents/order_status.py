"""查订单: the customer's order, its state, when it should arrive and what to do next."""

from __future__ import annotations

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.replies import Reply
from bot.orders.wording import OrderWording
from intents.order_lookup import Want, resolve
from intents.push_offer import offer_after

NAME = "order_status"

WANT = Want(
    handler=NAME,
    candidate=lambda order: order.is_active,
    ask="order_ask_number",
    list_header="order_list_header",
    prefer_last=False,
)


def order_status(ctx: MessageContext) -> Reply:
    found = resolve(ctx, WANT)
    if isinstance(found, Reply):
        return found
    wording = OrderWording.for_message(ctx)
    answer = wording.status_answer(found, verified=bool(ctx.notes.get("order_verified")))
    return Reply(answer + offer_after(ctx, found))


HANDLERS = [
    Handler(name=NAME, handle=order_status, intents=("order_status",),
            menu_keys=("MENU_ORDERS",)),
]
