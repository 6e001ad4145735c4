"""Follow-ups about an order without its number: "葡萄什么时候到", "它怎么还没到", "物流异常是
什么意思", "第二个呢", "另一个呢".

The handler claims a message (before the matcher's intent) when it
- picks from the list of orders shown last ("第二个呢", "最后那个");
- names goods of the customer's own orders ("保温杯做好了吗"), or names goods and asks a
  follow-up ("沙发什么时候到": then it hears that no order has them), unless the matcher placed
  it confidently with a question that is not about an order ("葡萄可以退吗" is the return FAQ);
- asks a follow-up (intents/conversation_words.yaml `followups`) while an order is in focus,
  unless it also names something else the matcher placed confidently ("发票什么时候能收到").
It finds the order as the order handlers do (intents/order_lookup.py) and answers what was
asked: when it arrives, why it is late, what its exception means, its tracking or its status.
"""

from __future__ import annotations

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.replies import Reply
from bot.orders.model import ACTIVE, EXCEPTION, Order
from bot.orders.wording import OrderWording
from intents.order_items import item_words, match_items, residue
from intents.order_lookup import (
    LAST_LIST,
    LAST_ORDER,
    LIST_ASKS,
    Want,
    recent_orders,
    resolve,
)
from intents.push_offer import offer_after
from intents.talk import (
    ETA,
    EXPLAIN,
    LATE,
    LOGISTICS,
    STATUS,
    followup_kind,
    ordinal,
    text_of,
    words_of,
)

NAME = "order_focus"
ORDER_HANDLERS = frozenset({"order_status", "logistics", NAME})

WANT = Want(
    handler=NAME,
    candidate=lambda order: order.status in ACTIVE,
    ask="order_ask_number",
    list_header="order_list_header",
    prefer_last=True,
)


def claims(ctx: MessageContext) -> bool:
    words = words_of(ctx)
    text = text_of(ctx)
    state = ctx.state
    kind = followup_kind(words, text)
    if state.data.get(LAST_LIST):
        position, rest = ordinal(words, text)
        if position is not None and not item_words(words, rest):
            return True
    elsewhere = _placed_elsewhere(ctx)
    if elsewhere and not kind:
        # Only the goods and a particle ("那蓝莓呢"): about that order, whatever FAQ the
        # goods' name resembles ("蓝莓" is fresh food); "蓝莓可以退吗" says more and stays
        # with the matcher. Only a message of that shape is worth reading the orders for.
        if not _goods_shaped(words, text):
            return False
        content = item_words(words, text)
        if not content:
            return False
        found = match_items(words, text, recent_orders(ctx))
        ctx.notes["item_match"] = found
        return bool(found.orders) and not residue(words, text, list(found.hits))
    content = item_words(words, text)
    if content:
        found = match_items(words, text, recent_orders(ctx))
        ctx.notes["item_match"] = found
        if found.orders or (found.named and kind):
            return True
    # A follow-up that says nothing else ("when will it arrive", "大概哪天能到") is about the
    # order in focus, whatever FAQ its words resemble; one that names something else
    # ("发票什么时候能收到") is left to the matcher.
    return bool(kind and state.data.get(LAST_ORDER) and (not elsewhere or not content))


def _goods_shaped(words, text: str) -> bool:  # noqa: ANN001
    """A short message that points back ("那蓝莓呢", "蓝莓呢", "这个耳机"): the only shape in
    which goods alone outweigh what the matcher made of them."""
    stripped = text.strip()
    return len(stripped) <= 12 and (stripped.endswith("呢") or any(
        stripped.startswith(p) for p in words.list("pointers")))


def _placed_elsewhere(ctx: MessageContext) -> bool:
    """The matcher is sure the message asks something that is not about an order."""
    match = ctx.match
    if match is None or match.outcome != "matched" or match.intent is None:
        return False
    handler = ctx.services.handlers.for_intent(match.intent)
    name = handler.name if handler is not None else "faq"
    return name not in ORDER_HANDLERS


def follow_up(ctx: MessageContext) -> Reply:
    words = words_of(ctx)
    kind = followup_kind(words, text_of(ctx))
    if kind is None:
        # "2" or "第二个呢" answers the question that brought the list up.
        kind = ctx.state.data.get(LIST_ASKS) or None
    ctx.notes["asks"] = kind or ""
    found = resolve(ctx, WANT)
    if isinstance(found, Reply):
        return found
    text = answer(ctx, found, kind or STATUS)
    # "Where is it" asked again counts towards the offer to follow the order (push_offer).
    return Reply(text + (offer_after(ctx, found) if kind != EXPLAIN else ""))


def answer(ctx: MessageContext, order: Order, kind: str) -> str:
    """The answer to `kind` of follow-up about `order`."""
    wording = OrderWording.for_message(ctx)
    if kind == EXPLAIN and order.status != EXCEPTION and not _named(ctx):
        # "物流异常是什么意思" while another order is in focus: the customer means the one
        # order that has a delivery problem, if there is exactly one.
        problems = [o for o in recent_orders(ctx) if o.status == EXCEPTION]
        if len(problems) == 1:
            order = problems[0]
            ctx.state.remember(**{LAST_ORDER: order.order_id})
    if kind == ETA:
        return wording.eta_answer(order)
    if kind == LATE:
        return wording.late_answer(order)
    if kind == EXPLAIN:
        return wording.explain_answer(order)
    if kind == LOGISTICS:
        link = ctx.services.orders.link(order.order_id, ctx.openid, ctx.lang)
        return wording.logistics_answer(order, link)
    return wording.status_answer(order)


def _named(ctx: MessageContext) -> bool:
    """The message named the order itself (a number, its goods or a pick from a list)."""
    found = ctx.notes.get("item_match")
    entities = ctx.match.entities if ctx.match is not None else None
    return bool((found is not None and found.orders) or (entities and (
        entities.order_numbers or entities.tracking_numbers or entities.choice is not None))
        or ordinal(words_of(ctx), text_of(ctx))[0] is not None)


HANDLERS = [Handler(name=NAME, handle=follow_up, claims=claims, claim_rank=30)]
