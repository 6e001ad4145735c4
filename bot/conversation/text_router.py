"""Route a text message: dialogue state first, then the matcher, then the fallback.

Order, first hit wins:
0. the answer to a pending question whose handler recognises its answers (a yes or no);
1. a whole-message command: cancel ("算了"), a language switch ("English"), or a handler's
   own command from dialogue.yaml's `commands` ("关联记录", or "解绑 123456": the command and
   one number);
2. the answer to a clarification we asked ("您是想问:1… 2…" → "2");
3. the answer to a handler's pending question when the message carries one (a number, a
   choice from a list);
4. a handler that claims the message by what it says (`Handler.claims`, in `claim_rank`
   order): a sticker or "👍", a complaint, a request to hurry an order, a follow-up about
   the order in focus or one named by what is in it ("葡萄什么时候到");
5. the answer to a handler's pending question ("请发订单号" → "嗯嗯"), unless the user
   moved on: the message has nothing that could answer it and matches another intent
   ("请发订单号" → "快递怎么还不到啊" is the logistics question, not a bad order number);
6. a matched intent → its handler (merchant FAQs → the FAQ handler);
7. ambiguous → ask which one was meant (unless the message carries an order or waybill
   number and one of the two is about orders: then that one);
8. unmatched but carrying an order or tracking number → the order or logistics handler;
9. unmatched → kept for support staff, and the fallback reply.

The handler that answered is noted in `ctx.notes["handler"]` (the transcript keeps it).
"""

from __future__ import annotations

import logging
import re

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler, HandlerRegistry
from bot.conversation.replies import Reply
from bot.conversation.words import load_words
from bot.platform.metrics import MATCHES

log = logging.getLogger(__name__)

CLARIFY = "clarify"
FAQ = "faq"
FALLBACK = "fallback"
ORDER = "order_status"
LOGISTICS = "logistics"
# A pending question asks for a number unless its handler says what answers it: an order or
# waybill number, a phone number, its last four digits, or a choice from a list. A message
# with none of these cannot be the answer.
_ANSWER_DIGITS = re.compile(r"\d{4,}")


_COMMAND_ARGUMENT = re.compile(r"(.+?) ?[a-z0-9]{4,64}")


def _command(handlers: HandlerRegistry, command: str, commands: dict) -> Handler | None:
    """The handler a whole-message command names: the words alone, or followed by a number.
    Commands stay out of the matcher so they cannot pull other questions towards them."""
    if not commands:
        return None
    with_argument = _COMMAND_ARGUMENT.fullmatch(command)
    for name, phrases in commands.items():
        if command in phrases or (with_argument and with_argument.group(1) in phrases):
            return handlers.get(name)
    return None


def route(ctx: MessageContext) -> Reply | None:
    services = ctx.services
    words = load_words(services.config.intents_path)
    matcher = services.intents.matcher()
    match = matcher.match(ctx.text)
    MATCHES.labels(match.outcome).inc()
    ctx.match = match
    state = ctx.state
    command = match.normalised.strip()

    # A handler that says what answers its question hears its answer first: after "shall we
    # notify you?", "不用了" is a no, not a cancellation.
    pending = services.handlers.get(state.pending) if state.pending else None
    if pending is not None and pending.answers is not None and pending.answers(ctx):
        return call(ctx, pending)

    if command in words.get("cancel", []):
        had_question = state.pending is not None
        state.resolve()
        state.forget("clarify_options")
        return ctx.reply("cancelled" if had_question else "cancelled_nothing")
    for lang, commands in words.get("language", {}).items():
        if command in commands:
            # Its time too: an explicit choice outweighs the message's language for a while
            # (bot.conversation.language).
            services.users.update(ctx.openid, lang=lang, lang_source="user",
                                  lang_at=int(services.clock.now()))
            ctx.lang = lang
            return ctx.reply("language_set")
    handler = _command(services.handlers, command, words.get("commands", {}))
    if handler is not None:
        state.resolve()
        return handler.handle(ctx)

    if state.pending == CLARIFY:
        options = state.data.get("clarify_options") or []
        state.resolve()
        state.forget("clarify_options")
        choice = match.entities.choice
        if choice is not None and 1 <= choice <= len(options):
            return _run_intent(ctx, options[choice - 1])

    if pending is not None and pending.answers is None and _has_answer(match):
        return call(ctx, pending)

    for claimant in services.handlers.claimants():
        if claimant.claims is not None and claimant.claims(ctx):
            return call(ctx, claimant)

    if state.pending:
        if pending is not None and not _moved_on(ctx, pending):
            return call(ctx, pending)
        state.resolve()

    if match.outcome == "matched":
        return _run_intent(ctx, match.intent)
    if match.outcome == "ambiguous":
        options = list(match.options)
        # "100001 发货了吗": a number the customer gave names the subject; of two readings the
        # one about that order is meant, rather than a question back.
        entities = match.entities
        if entities.order_numbers or entities.tracking_numbers:
            for intent in options:
                if _handler_name(ctx, intent) in (ORDER, LOGISTICS):
                    return _run_intent(ctx, intent)
        state.expect(CLARIFY, clarify_options=options)
        # Built-ins carry their question in each reply language; an FAQ falls back to an
        # example in the user's script, then to the merchant's own question.
        questions = [matcher.intents[i].question_for(ctx.lang) for i in options]
        return ctx.reply("clarify", first=questions[0], second=questions[1])

    entities = match.entities
    if entities.order_numbers or entities.phones:
        return _run_handler(ctx, ORDER)
    if entities.tracking_numbers:
        return _run_handler(ctx, LOGISTICS)

    services.unmatched.record(
        ctx.text, match.normalised, ctx.openid, services.clock.now(), match.candidates
    )
    ctx.notes["unmatched"] = True
    return _run_handler(ctx, FALLBACK)


def call(ctx: MessageContext, handler: Handler) -> Reply | None:
    """Run `handler`, noting its name for the transcript."""
    ctx.notes["handler"] = handler.name
    return handler.handle(ctx)


def _has_answer(match) -> bool:  # noqa: ANN001 - a MatchResult
    """The message carries something a question for a number or a choice asked for."""
    entities = match.entities
    return bool(entities.order_numbers or entities.tracking_numbers or entities.phones
                or entities.choice is not None or _ANSWER_DIGITS.search(match.normalised))


def _moved_on(ctx: MessageContext, handler: Handler) -> bool:
    """The message changes the subject instead of answering the pending question: it carries
    nothing that could be the answer, and the matcher placed it (over the intent's own
    threshold, however far over) with an intent another handler answers. (A handler that
    recognises its own answers has already been offered the message.)"""
    match = ctx.match
    pending = handler.name
    if handler.answers is None and _has_answer(match):
        return False
    if match.outcome == "matched":
        return _handler_name(ctx, match.intent) != pending
    if match.outcome == "ambiguous":
        return all(_handler_name(ctx, intent) != pending for intent in match.options)
    return False


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
    return call(ctx, handler)


def _run_handler(ctx: MessageContext, name: str) -> Reply | None:
    handler = ctx.services.handlers.get(name)
    return call(ctx, handler) if handler else None
