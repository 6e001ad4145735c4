"""我的关联订单 / 解绑 123456: the orders a customer claimed by verification, and undoing one.

A claim binds a phone-only order to whoever proved they hold its phone; the customer who
claimed it can see when and how, and give it back (a wrong tap, a shared phone, a gift).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.replies import Reply
from bot.conversation.words import contains_any, load_words
from bot.orders.relative_time import describe
from bot.understanding.entities import extract_entities

NAME = "order_claims"


def order_claims(ctx: MessageContext) -> Reply:
    access = ctx.services.orders.access
    text = ctx.match.normalised if ctx.match is not None else ctx.text.lower()
    entities = ctx.match.entities if ctx.match is not None else extract_entities(ctx.text)
    unlink = load_words(ctx.services.config.intents_path).get("order_unlink", [])
    if entities.order_numbers and contains_any(text, unlink):
        number = entities.order_numbers[0]
        if access.revoke(ctx.openid, number):
            ctx.state.forget("order_id")
            return ctx.reply("order_claim_revoked", number=number)
        return ctx.reply("order_claim_not_found", number=number)
    claims = access.claims.claims(ctx.openid)
    if not claims:
        return ctx.reply("order_claims_none")
    now, tz = ctx.services.clock.now(), ctx.services.config.timezone
    lines = [ctx.text_of("order_claims_header")]
    for claim in claims:
        when = describe(datetime.fromtimestamp(claim.at, UTC).isoformat(), now, tz, ctx.text_of)
        lines.append(ctx.text_of("order_claims_line", number=claim.order_id, when=when,
                                 method=ctx.text_of(f"order_claims_method_{claim.method}")))
    return Reply("\n".join(lines))


# Reached by whole-message commands only (dialogue.yaml `commands`), never by the matcher.
HANDLERS = [Handler(name=NAME, handle=order_claims)]
