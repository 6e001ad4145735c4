"""Complaints and anger: an apology that fits, the order's facts, and a hand-off to a human
with the conversation attached.

A message is a complaint when its score reaches `complaint.threshold` in
intents/conversation_words.yaml: each strong word found adds 2, each mild one 1, a long message
1, repeated "!" or "?" (or shouting in capitals) 1, saying the order is late 1. So "我要投诉" is
one, "退款" or "怎么还没到" alone is not, and "怎么还没到!!" or "等了一个星期了，退钱!!" is.

The apology is chosen by what the complaint is about (damage, lateness, our service, anything
else) from several wordings, never the one this customer got last. The hand-off is recorded
for staff (bot/conversation/handoffs.py) with the last turns of the conversation; the customer
is told who will answer and when (service hours), in words, since a WeChat transfer reply
could not carry them.
"""

from __future__ import annotations

import re

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.handoffs import HandoffBook
from bot.conversation.replies import Reply
from bot.conversation.service_hours import on_duty
from bot.conversation.transcript import Transcript
from bot.orders.model import EXCEPTION, ON_THE_WAY, timestamp_of
from bot.orders.wording import OrderWording
from intents.order_lookup import recent_orders, subject_order, troubled_orders
from intents.talk import LATE, Words, followup_kind, mentions_damage, text_of, words_of

NAME = "complaint"
APOLOGY_SLOT = "last_apology"
VARIANTS = 3
MAX_FACTS = 3
TURNS = 10
_MARKS = re.compile(r"[!！]{2,}|[?？]{2,}|[!！][?？]|[?？][!！]")
_SHOUT = re.compile(r"\b[A-Z]{4,}\b")
_SERVICE = ("客服", "态度", "机器人", "没人", "不理", "service", "rude", "robot", "bot")


def score(words: Words, raw: str, text: str) -> int:
    """How angry the message reads (see the module docstring)."""
    spec = words.raw.get("complaint") or {}
    total = 2 * sum(1 for w in spec.get("strong") or [] if w in text)
    total += sum(1 for w in spec.get("mild") or [] if w in text)
    if len(raw) >= int(spec.get("long_message") or 40):
        total += int(spec.get("long_weight") or 1)
    if _MARKS.search(raw) or _SHOUT.search(raw):
        total += int(spec.get("repeated_marks_weight") or 1)
    if followup_kind(words, text) == LATE:
        total += int(spec.get("late_weight") or 0)
    return total


def is_complaint(ctx: MessageContext) -> bool:
    words = words_of(ctx)
    threshold = int((words.raw.get("complaint") or {}).get("threshold") or 2)
    return score(words, ctx.text, text_of(ctx)) >= threshold


def complain(ctx: MessageContext) -> Reply:
    services = ctx.services
    words = words_of(ctx)
    text = text_of(ctx)
    upset_about = followup_kind(words, text) in (LATE, "explain") or mentions_damage(words, text)
    order = subject_order(ctx, trouble=upset_about)
    concerned = [order] if order is not None else []
    if upset_about:
        troubled = troubled_orders(ctx, [o for o in recent_orders(ctx) if o.is_active])
        if troubled and (order is None or order not in troubled):
            # Late or wrong, but which one? All the orders in trouble, not one that is fine.
            concerned = troubled[:MAX_FACTS]
    wording = OrderWording.for_message(ctx)
    cause = _cause(ctx, words, text, order)
    apology = _apology(ctx, cause)
    config = services.config
    duty = on_duty(config.service_hours, services.clock, config.timezone)
    now = services.clock.now()
    turns = Transcript(services.redis).last(ctx.openid, TURNS)
    turns.append(Transcript.turn(now, ctx.msg.kind, ctx.text, "", NAME))
    book = HandoffBook(services.redis)
    already = book.current(ctx.openid) is not None
    book.open(ctx.openid, "complaint", ctx.text, now, turns=turns,
              order_id=",".join(o.order_id for o in concerned), on_duty=duty)
    ctx.notes["handoff"] = not already   # the console's daily count of hand-offs
    lines = [apology]
    lines.extend(wording.facts(o) for o in concerned)
    if already:
        lines.append(ctx.text_of("complaint_handoff_updated"))
    elif duty:
        lines.append(ctx.text_of("complaint_handoff_on_duty"))
    else:
        lines.append(ctx.text_of("complaint_handoff_off_duty", hours=config.service_hours))
    if cause == "damage":
        lines.append(ctx.text_of("complaint_send_photo"))
    return Reply("\n".join(lines))


def _cause(ctx: MessageContext, words: Words, text: str, order) -> str:  # noqa: ANN001
    if mentions_damage(words, text):
        return "damage"
    if followup_kind(words, text) == LATE:
        return "late"
    if order is not None and (order.status == EXCEPTION or (
            order.status in ON_THE_WAY and order.eta
            and timestamp_of(order.eta) < ctx.services.clock.now())):
        return "late"
    if any(w in text for w in _SERVICE):
        return "service"
    return "general"


def _apology(ctx: MessageContext, cause: str) -> str:
    """One of the cause's wordings, never the one this customer got last."""
    last = ctx.state.data.get(APOLOGY_SLOT, "")
    seed = int(ctx.services.clock.now()) + sum(map(ord, ctx.text))
    names = [f"complaint_apology_{cause}_{n}" for n in range(1, VARIANTS + 1)]
    names = [n for n in names if ctx.services.replies.has(n)] or ["complaint_apology_general_1"]
    choices = [n for n in names if n != last] or names
    name = choices[seed % len(choices)]
    ctx.state.remember(**{APOLOGY_SLOT: name})
    return ctx.text_of(name)


HANDLERS = [Handler(name=NAME, handle=complain, claims=is_complaint, claim_rank=10)]
