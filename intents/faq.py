"""Merchant FAQ intents: answered with the merchant's own answer text from Redis."""

from __future__ import annotations

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.replies import Reply


def answer_faq(ctx: MessageContext) -> Reply:
    intent_id = ctx.notes.get("intent") or (ctx.match.intent if ctx.match else None)
    spec = ctx.services.intents.matcher().intents.get(intent_id) if intent_id else None
    if spec is None or not spec.answer:
        return ctx.reply("fallback")
    ctx.state.remember(last_faq=intent_id)
    return ctx.reply("faq_answer", answer=spec.answer)


HANDLERS = [Handler(name="faq", handle=answer_faq)]
