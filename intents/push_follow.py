""""这个订单有变化提醒我": follow one order, so every update of it is pushed (quiet hours still
hold them till morning), whatever the user's level or logistics setting."""

from __future__ import annotations

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.replies import Reply
from bot.orders.wording import OrderWording
from bot.pushes.follows import FollowStore
from intents.order_lookup import Want, resolve
from intents.push_settings import summary

NAME = "push_follow_order"

WANT = Want(
    handler=NAME,
    candidate=lambda order: order.is_active,
    ask="push_follow_which",
    list_header="order_list_header",
    prefer_last=True,          # "这个订单" is the one just talked about
)


def follow_order(ctx: MessageContext) -> Reply:
    found = resolve(ctx, WANT)
    if isinstance(found, Reply):
        return found
    services = ctx.services
    wording = OrderWording.for_message(ctx)
    items = wording.items(found)
    if not FollowStore(services.redis).follow(ctx.openid, found.order_id):
        return ctx.reply("push_follow_already", order_id=found.order_id, items=items)
    # Asking to be told about this order is consent for this order (bot/pushes/policy.py);
    # the user's general settings stay as they are.
    prefs = services.prefs.get(ctx.openid)
    quiet = services.config.quiet_hours or ctx.text_of("push_follow_all_day")
    return ctx.reply("push_follow_done", order_id=found.order_id, items=items, quiet=quiet,
                     summary=summary(ctx, prefs))


HANDLERS = [Handler(name=NAME, handle=follow_order, intents=(NAME,))]
