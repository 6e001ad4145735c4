"""Route a text message: dialogue state first, then the matcher, then the fallback.

Order, first hit wins:
1. a whole-message command: cancel ("算了") or a language switch ("English");
2. the answer to a clarification we asked ("您是想问:1… 2…" → "2");
3. the answer to a handler's pending question ("请发订单号" → "123456"), unless the user
   clearly moved on to another intent;
4. a matched intent → its handler (merchant FAQs → the FAQ handler);
5. ambiguous → ask which one was meant;
6. unmatched but carrying an order or tracking number → the order or logistics handler;
7. unmatched → kept for support staff, and the fallback reply.
"""

from __future__ import annotations

import logging

from bot.context import MessageContext
from bot.dialogue_words import load_words
from bot.handlers import Handler
from bot.replies import Reply

log = logging.getLogger(__name__)

CLARIFY = "clarify"
FAQ = "faq"
FALLBACK = "fallback"
ORDER = "order_status"
LOGISTICS = "logistics"
# A pending question gives way to another intent only when the match is this confident.
SWITCH_SCORE = 80.0


def route(ctx: MessageContext) -> Reply | None:
    services = ctx.services
    words = load_words(services.config.intents_path)
    matcher = services.intents.matcher()
    match = matcher.match(ctx.text)
    ctx.match = match
    state = ctx.state
    command = match.normalised.strip()

    if command in words.get("cancel", []):
        had_question = state.pending is not None
        state.resolve()
        state.forget("clarify_options")
        return ctx.reply("cancelled" if had_question else "cancelled_nothing")
    for lang, commands in words.get("language", {}).items():
        if command in commands:
            services.users.update(ctx.openid, lang=lang, lang_source="user")
            ctx.lang = lang
            return ctx.reply("language_set")

    if state.pending == CLARIFY:
        options = state.data.get("clarify_options") or []
        state.resolve()
        state.forget("clarify_options")
        choice = match.entities.choice
        if choice is not None and 1 <= choice <= len(options):
            return _run_intent(ctx, options[choice - 1])

    if state.pending:
        handler = services.handlers.get(state.pending)
        moved_on = (
            match.outcome == "matched"
            and match.score >= SWITCH_SCORE
            and _handler_name(ctx, match.intent) != state.pending
            and match.entities.choice is None
        )
        if handler is not None and not moved_on:
            return handler.handle(ctx)
        state.resolve()

    if match.outcome == "matched":
        return _run_intent(ctx, match.intent)
    if match.outcome == "ambiguous":
        options = [intent for intent, _ in match.candidates[:2]]
        state.expect(CLARIFY, clarify_options=options)
        questions = [matcher.intents[i].question for i in options]
        return ctx.reply("clarify", first=questions[0], second=questions[1])

    entities = match.entities
    if entities.order_numbers or entities.phones:
        return _run_handler(ctx, ORDER)
    if entities.tracking_numbers:
        return _run_handler(ctx, LOGISTICS)

    services.unmatched.record(
        ctx.text, match.normalised, ctx.openid, services.clock.now(), match.candidates
    )
    return _run_handler(ctx, FALLBACK)


def _handler_name(ctx: MessageContext, intent_id: str | None) -> str | None:
    handler = _handler_for(ctx, intent_id)
    return handler.name if handler else None


def _handler_for(ctx: MessageContext, intent_id: str | None) -> Handler | None:
    if intent_id is None:
        return None
    registry = ctx.services.handlers
    return registry.for_intent(intent_id) or registry.get(FAQ)


def _run_intent(ctx: MessageContext, intent_id: str) -> Reply | None:
    ctx.notes["intent"] = intent_id
    handler = _handler_for(ctx, intent_id)
    if handler is None:
        log.warning("intent %r has no handler", intent_id)
        return _run_handler(ctx, FALLBACK)
    return handler.handle(ctx)


def _run_handler(ctx: MessageContext, name: str) -> Reply | None:
    handler = ctx.services.handlers.get(name)
    return handler.handle(ctx) if handler else None
