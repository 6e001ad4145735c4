"""A customer who asks where an order is twice within a day is offered "有新进展时提醒您?";
a yes follows that order, as "这个订单有变化提醒我" does (bot.pushes.follows)."""

from __future__ import annotations

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.replies import Reply
from bot.conversation.words import load_words
from bot.orders.model import Order
from bot.orders.wording import OrderWording
from bot.pushes.follows import FollowStore
from bot.pushes.preferences import CONSENT_GIVEN, CONSENT_REFUSED
from intents.push_settings import summary

NAME = "push_follow_offer"
WINDOW = 86_400
OFFER_AT = 2          # the ask that brings the offer


# KEYS[1] the asks hash {first, count}; ARGV now, window. The day runs from the first ask
# (by the bot's clock); an ask after it starts a new count. Returns the count with this ask.
_COUNT = """
local first = tonumber(redis.call('HGET', KEYS[1], 'first') or '0')
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
if first == 0 or now - first > window then
  redis.call('HSET', KEYS[1], 'first', ARGV[1], 'count', 0)
end
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('EXPIRE', KEYS[1], 2 * window)
return count
"""


def asks_key(openid: str, order_id: str) -> str:
    return f"pushes:asks:{openid}:{order_id}"


def offer_after(ctx: MessageContext, order: Order) -> str:
    """Count this ask about `order`; on the second within a day, the offer's words (and the
    question left pending), else ""."""
    services = ctx.services
    if not order.is_active or FollowStore(services.redis).follows(ctx.openid, order.order_id):
        return ""
    count = services.redis.eval(_COUNT, 1, asks_key(ctx.openid, order.order_id),
                                services.clock.now(), WINDOW)
    if int(count) != OFFER_AT:
        return ""
    prefs = services.prefs.get(ctx.openid)
    if prefs.consent == CONSENT_REFUSED or not prefs.notify:
        return ""    # they turned notifications off: asking again would nag
    ctx.state.expect(NAME, offer_order=order.order_id)
    return ctx.text_of("push_offer_follow")


def _words(ctx: MessageContext) -> dict:
    return load_words(ctx.services.config.intents_path).get("push_settings", {})


def answers_offer(ctx: MessageContext) -> bool:
    """Only a bare yes or no answers the offer; anything else is a new question."""
    text = (ctx.match.normalised if ctx.match else ctx.text.lower()).strip()
    words = _words(ctx)
    return text in words.get("yes", []) or text in words.get("no", [])


def answer_offer(ctx: MessageContext) -> Reply:
    services = ctx.services
    order_id = ctx.state.data.get("offer_order", "")
    ctx.state.resolve()
    ctx.state.forget("offer_order")
    text = (ctx.match.normalised if ctx.match else ctx.text.lower()).strip()
    words = _words(ctx)
    if text not in words.get("yes", []) and text not in words.get("no", []):
        # Not an answer (the router hands over what nothing else took): the offer lapses and
        # the message gets the answer any unplaced message gets.
        fallback = services.handlers.get("fallback")
        return fallback.handle(ctx) if fallback else ctx.reply("push_offer_declined")
    order = services.orders.get(order_id) if order_id else None
    if text not in words.get("yes", []) or order is None:
        return ctx.reply("push_offer_declined")
    items = OrderWording.for_message(ctx).items(order)
    FollowStore(services.redis).follow(ctx.openid, order.order_id)
    prefs = services.prefs.get(ctx.openid)
    if prefs.consent != CONSENT_GIVEN:
        # Saying yes to updates of this order is agreeing to be told about it.
        prefs = services.prefs.set(ctx.openid, consent=CONSENT_GIVEN, at=services.clock.now())
    quiet = services.config.quiet_hours or ctx.text_of("push_follow_all_day")
    return ctx.reply("push_follow_done", order_id=order.order_id, items=items, quiet=quiet,
                     summary=summary(ctx, prefs))


HANDLERS = [Handler(name=NAME, handle=answer_offer, answers=answers_offer)]
