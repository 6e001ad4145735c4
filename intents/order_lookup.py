"""Which order a message is about, for the order-status and logistics handlers.

In this order:
1. the answer to our own question: the proof for claiming a phone-only order (the SMS code, or
   the full phone number without SMS; an answer without any is asked once more, never counted
   as a wrong guess), or a number from a list;
2. a number in the message: order number, waybill number, or a phone number;
3. a pick from the list shown last ("第二个呢", "另一个", "最后那个");
4. what is in it ("保温杯做好了吗"): the customer's orders whose goods the message names
   (intents/order_items.py); one answered, several listed (only those), none → said so, with
   the recent orders listed;
5. "它到哪了": the order talked about last (remembered in the dialogue state);
6. the customer's own orders: one answered directly, several in progress listed to pick from;
7. none at all: ask for the order number, and take it from the next message.

Either an Order comes back (already checked to be the customer's) or a Reply to send instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from bot.conversation.context import MessageContext
from bot.conversation.replies import Reply
from bot.conversation.words import contains_any, load_words
from bot.orders.access import EXPIRED, OWN, RETRY, THROTTLED, UNAVAILABLE, VERIFY, Access
from bot.orders.claims import CODE_DIGITS, SMS
from bot.orders.masking import mask_phone
from bot.orders.model import ON_THE_WAY as ON_THE_WAY_STATUSES
from bot.orders.model import Order, timestamp_of
from bot.orders.wording import OrderWording
from bot.understanding.entities import extract_entities
from intents.order_items import item_words, match_items
from intents.talk import LAST, OTHER, ordinal, text_of, words_of

# Dialogue-state slots.
LAST_ORDER = "order_id"          # the order talked about last
EXPECT = "order_expect"          # what our pending question was
CHOICES = "order_choices"        # order ids of the list we showed
VERIFYING = "order_verify"       # the phone-only order whose proof we asked for
ASKED_AGAIN = "order_verify_again"  # the proof question was repeated once already
LAST_LIST = "order_list"         # order ids of the list shown last (kept after the pick)
LIST_ASKS = "order_list_asks"    # what the message that brought up that list asked
NUMBER, CHOICE, DIGITS = "number", "choice", "digits"

MAX_LIST = 5
# ASCII only: other scripts' digits are turned into these first (_ascii_digits).
_DIGIT_RUN = re.compile(r"[0-9]+")
_MOBILE = re.compile(r"(?:86)?(1[3-9][0-9]{9})")


@dataclass(frozen=True)
class Want:
    """What a handler looks for."""

    handler: str                      # gets the answer to any question asked
    candidate: Callable[[Order], bool]  # which of the customer's orders a list offers
    ask: str                          # template asking for a number
    list_header: str                  # template heading a list
    prefer_last: bool                 # use the remembered order without being pointed at it


def resolve(ctx: MessageContext, want: Want) -> Order | Reply:
    state = ctx.state
    entities = ctx.match.entities if ctx.match is not None else extract_entities(ctx.text)
    expecting = state.data.get(EXPECT) if state.pending == want.handler else None
    choices = list(state.data.get(CHOICES) or [])
    verifying = state.data.get(VERIFYING)
    asked_again = bool(state.data.get(ASKED_AGAIN))
    if state.pending == want.handler:
        state.resolve()
    state.forget(EXPECT, CHOICES, VERIFYING, ASKED_AGAIN)
    access = ctx.services.orders.access

    if expecting == DIGITS and verifying:
        sms = access.proof == SMS
        proof, any_digits = (_code if sms else _full_phone)(_text(ctx))
        # A six-digit code looks like an order number to the entity scan: a lone one is the
        # code. Without SMS, a new order or waybill number is a new question.
        if proof is not None or not (entities.order_numbers or entities.tracking_numbers):
            # Only an attempt at the proof is checked (and counted when wrong): "我找一下" is
            # asked once more, and a new request for orders is answered as one.
            if proof is not None or (any_digits and asked_again):
                found = access.verify(ctx.openid, verifying, proof)
                if found.kind == OWN:
                    ctx.notes["order_verified"] = True
                return _outcome(ctx, want, found, verifying)
            if not asked_again and (any_digits or not _asks_afresh(ctx, want)):
                state.expect(want.handler, **{EXPECT: DIGITS, VERIFYING: verifying,
                                              ASKED_AGAIN: True})
                return ctx.reply("order_claim_code_again" if sms else "order_verify_again")
            # No proof again, or "查订单" anew: drop the question and carry on below.
    if entities.order_numbers:
        number = entities.order_numbers[0]
        return _outcome(ctx, want, access.by_number(ctx.openid, number), number)
    if entities.tracking_numbers:
        number = entities.tracking_numbers[0]
        return _outcome(ctx, want, access.by_tracking(ctx.openid, number), number)
    if entities.phones:
        return _by_phone(ctx, want, entities.phones[0])
    if expecting == CHOICE and entities.choice is not None:
        if 1 <= entities.choice <= len(choices):
            order = access.own(ctx.openid, choices[entities.choice - 1])
            if order is not None:
                return _found(ctx, order)
        else:
            state.expect(want.handler, **{EXPECT: CHOICE, CHOICES: choices})
            return ctx.reply("order_choice_invalid", count=len(choices))
    if expecting == NUMBER:
        return ctx.reply("order_number_not_understood")

    picked = _picked_from_list(ctx, want)
    if picked is not None:
        return picked
    named = _named_by_items(ctx, want)
    if named is not None:
        return named

    last = state.data.get(LAST_ORDER)
    if last and (want.prefer_last or _points_back(ctx)):
        order = access.own(ctx.openid, last)
        if order is not None:
            return _found(ctx, order)
    orders = recent_orders(ctx)
    if not orders:
        state.expect(want.handler, **{EXPECT: NUMBER})
        return ctx.reply(want.ask)
    return _choose(ctx, want, orders)


def recent_orders(ctx: MessageContext) -> list[Order]:
    """The customer's newest orders, read once per message."""
    if "recent_orders" not in ctx.notes:
        ctx.notes["recent_orders"] = ctx.services.orders.recent(ctx.openid)
    return ctx.notes["recent_orders"]


def _choose(ctx: MessageContext, want: Want, orders: list[Order]) -> Order | Reply:
    """One order answered; several in progress listed; otherwise the newest."""
    candidates = [order for order in orders if want.candidate(order)][:MAX_LIST]
    if len(candidates) >= 2:
        return show_list(ctx, want, want.list_header, candidates)
    return _found(ctx, candidates[0] if candidates else orders[0])


def show_list(ctx: MessageContext, want: Want, header: str, orders: list[Order],
              intro: str = "") -> Reply:
    """A numbered list to pick from; the next message may pick, and later ones may still
    refer to it ("另一个呢")."""
    ids = [o.order_id for o in orders]
    ctx.state.expect(want.handler, **{EXPECT: CHOICE, CHOICES: ids})
    # What was asked decides how a later pick is answered ("第二个呢" after a logistics list
    # shows tracking).
    asks = ctx.notes.get("asks") or ("logistics" if want.handler == "logistics" else "")
    ctx.state.remember(**{LAST_LIST: ids, LIST_ASKS: asks})
    wording = OrderWording.for_message(ctx)
    text = wording.order_list(header, orders)
    return Reply(f"{intro}\n{text}" if intro else text)


def _picked_from_list(ctx: MessageContext, want: Want) -> Order | Reply | None:
    """"第二个呢", "另一个", "最后那个": an entry of the list shown last, when the message
    says nothing else that names an order."""
    shown = list(ctx.state.data.get(LAST_LIST) or [])
    if not shown:
        return None
    words = words_of(ctx)
    position, rest = ordinal(words, text_of(ctx))
    if position is None or _names_something(ctx, rest):
        return None
    access = ctx.services.orders.access
    if position == OTHER:
        focus = ctx.state.data.get(LAST_ORDER)
        others = [order_id for order_id in shown if order_id != focus]
        if len(others) != 1:
            orders = [o for o in (access.own(ctx.openid, i) for i in others) if o is not None]
            if len(orders) >= 2:
                return show_list(ctx, want, want.list_header, orders)
            if not orders:
                return None
            return _found(ctx, orders[0])
        chosen = others[0]
    elif position == LAST:
        chosen = shown[-1]
    elif 1 <= position <= len(shown):
        chosen = shown[position - 1]
    else:
        ctx.state.expect(want.handler, **{EXPECT: CHOICE, CHOICES: shown})
        return ctx.reply("order_choice_invalid", count=len(shown))
    order = access.own(ctx.openid, chosen)
    return _found(ctx, order) if order is not None else None


def _names_something(ctx: MessageContext, rest: str) -> bool:
    return bool(item_words(words_of(ctx), rest))


def _named_by_items(ctx: MessageContext, want: Want) -> Order | Reply | None:
    """Orders named by their goods: one → it; several → a list of those; goods named that
    no order has → said so, with the recent orders to pick from."""
    text = text_of(ctx)
    words = words_of(ctx)
    orders = recent_orders(ctx)
    found = match_items(words, text, orders)
    ctx.notes["item_match"] = found
    if len(found.orders) == 1:
        return _found(ctx, found.orders[0])
    if found.orders:
        return show_list(ctx, want, "order_items_list_header", list(found.orders)[:MAX_LIST])
    if found.named:
        what = "、".join(found.words) if ctx.lang != "en" else ", ".join(found.words)
        intro = ctx.text_of("order_goods_not_found", what=what)
        if not orders:
            ctx.state.expect(want.handler, **{EXPECT: NUMBER})
            return Reply(f"{intro}\n{ctx.text_of(want.ask)}")
        return show_list(ctx, want, "order_recent_header", orders[:MAX_LIST], intro=intro)
    return None


def _by_phone(ctx: MessageContext, want: Want, phone: str) -> Order | Reply:
    found = ctx.services.orders.access.by_phone(ctx.openid, phone)
    if found.kind == OWN:
        return _choose(ctx, want, list(found.orders))
    if found.kind == THROTTLED:
        return _throttled(ctx)
    return ctx.reply("order_phone_not_found", phone=mask_phone(phone))


def _outcome(ctx: MessageContext, want: Want, found: Access, number: str) -> Order | Reply:
    if found.kind == OWN and found.order is not None:
        return _found(ctx, found.order)
    if found.kind == VERIFY and found.order is not None:
        access = ctx.services.orders.access
        refused = access.start_claim(ctx.openid, found.order)
        if refused:
            return ctx.reply("order_claim_code_failed" if refused == "failed"
                             else "order_claim_code_wait")
        ctx.state.expect(want.handler, **{EXPECT: DIGITS, VERIFYING: found.order.order_id})
        if access.proof == SMS:
            return ctx.reply("order_claim_code_sent", phone=mask_phone(found.order.phone))
        return ctx.reply("order_verify_ask")
    if found.kind == RETRY:
        ctx.state.expect(want.handler, **{EXPECT: DIGITS, VERIFYING: number, ASKED_AGAIN: True})
        return ctx.reply("order_claim_code_wrong")
    if found.kind == EXPIRED:
        return ctx.reply("order_claim_code_expired", number=number)
    if found.kind == THROTTLED:
        return _throttled(ctx)
    if found.kind == UNAVAILABLE:
        return ctx.reply("order_cannot_check")
    # Unknown, someone else's, or a failed phone check: one and the same answer (a waybill
    # number is called one: the customer sent a 快递单号, not an order number).
    if number in _entities(ctx).tracking_numbers:
        return ctx.reply("tracking_not_found", number=number)
    return ctx.reply("order_not_found", number=number)


def _entities(ctx: MessageContext):  # noqa: ANN202
    return ctx.match.entities if ctx.match is not None else extract_entities(ctx.text)


def _found(ctx: MessageContext, order: Order) -> Order:
    ctx.state.remember(**{LAST_ORDER: order.order_id})
    return order


def _throttled(ctx: MessageContext) -> Reply:
    minutes = max(1, ctx.services.orders.access.guard.window // 60)
    return ctx.reply("order_too_many_tries", minutes=minutes)


def _full_phone(text: str) -> tuple[str | None, bool]:
    """The phone number an answer gives (None when it gives no clear one: 7-15 digits, spaces
    and dashes allowed between them), and whether it has any digits at all."""
    runs = _DIGIT_RUN.findall(_ascii_digits(text))
    if not runs:
        return None, False
    phones = [m.group(1) for run in runs if (m := _MOBILE.fullmatch(run))]
    if len(phones) == 1:
        return phones[0], True
    joined = "".join(runs)            # "138 0000 5678", "021-1234 5678"
    if _MOBILE.fullmatch(joined):
        return _MOBILE.fullmatch(joined).group(1), True
    if 7 <= len(joined) <= 15:
        return joined, True
    return None, True


def _code(text: str) -> tuple[str | None, bool]:
    """The one-time code an answer gives (exactly one run of six digits)."""
    runs = _DIGIT_RUN.findall(_ascii_digits(text))
    codes = [run for run in runs if len(run) == CODE_DIGITS]
    if len(runs) == 1 and len(codes) == 1:
        return codes[0], True
    if len("".join(runs)) == CODE_DIGITS:
        return "".join(runs), True    # "482 913"
    return None, bool(runs)


def _ascii_digits(text: str) -> str:
    """Any script's decimal digits as ASCII ("٥٦٧٨" → "5678")."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def _asks_afresh(ctx: MessageContext, want: Want) -> bool:
    """A menu button or a message matched to this handler's own intent ("查订单")."""
    if ctx.msg.is_event:
        return True
    match = ctx.match
    if match is None or match.outcome != "matched" or match.intent is None:
        return False
    handler = ctx.services.handlers.for_intent(match.intent)
    return handler is not None and handler.name == want.handler


def _points_back(ctx: MessageContext) -> bool:
    """"它发货了吗": the message points at the order talked about before."""
    words = load_words(ctx.services.config.intents_path).get("order_refer", [])
    return contains_any(_text(ctx), words)


def _text(ctx: MessageContext) -> str:
    """The message normalised (full-width digits, case) when the matcher saw it."""
    return ctx.match.normalised if ctx.match is not None else ctx.text.lower()


def subject_order(ctx: MessageContext, trouble: bool = False) -> Order | None:
    """The order a message is most likely about, without asking (a complaint is answered at
    once, not with a question): a number in it, goods it names, the order in focus, else the
    one order in trouble (a delivery problem, a passed ETA) or the only one in progress. With
    `trouble` (the message says something is late or wrong) the one order in trouble comes
    before an order in focus that is not."""
    entities = _entities(ctx)
    access = ctx.services.orders.access
    for number in entities.order_numbers:
        found = access.by_number(ctx.openid, number)
        if found.kind == OWN and found.order is not None:
            return _found(ctx, found.order)
    for number in entities.tracking_numbers:
        found = access.by_tracking(ctx.openid, number)
        if found.kind == OWN and found.order is not None:
            return _found(ctx, found.order)
    orders = recent_orders(ctx)
    named = match_items(words_of(ctx), text_of(ctx), orders)
    if len(named.orders) == 1:
        return _found(ctx, named.orders[0])
    active = [o for o in orders if o.is_active]
    troubled = troubled_orders(ctx, active)
    last = ctx.state.data.get(LAST_ORDER)
    if last:
        order = access.own(ctx.openid, last)
        if order is not None and not (trouble and len(troubled) == 1
                                      and order.order_id != troubled[0].order_id
                                      and order not in troubled):
            return order
    if len(troubled) == 1:
        return _found(ctx, troubled[0])
    if len(active) == 1:
        return _found(ctx, active[0])
    return None


def troubled_orders(ctx: MessageContext, orders: list[Order]) -> list[Order]:
    """Orders with a delivery problem or past their expected time."""
    now = ctx.services.clock.now()
    return [o for o in orders if o.status == "exception"
            or (o.eta and o.status in ON_THE_WAY_STATUSES and _passed(o.eta, now))]


def _passed(iso: str, now: float) -> bool:
    return timestamp_of(iso) < now
