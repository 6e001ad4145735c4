"""Handlers for what every account receives: follow/unfollow, media, menu-less events, help."""

from __future__ import annotations

import re

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.handoffs import HandoffBook
from bot.conversation.replies import Reply
from bot.conversation.transcript import Transcript
from bot.understanding.normalise import normalise
from intents.complaint import score as complaint_score
from intents.push_settings import NAME as PUSH_SETTINGS
from intents.push_settings import summary as push_summary
from intents.talk import mentions_damage, words_of

# WeChat's emoji codes as they arrive in text: "[微笑]", "/::)", "/:strong".
_EMOJI_CODE = re.compile(r"\[[^\[\]\s]{1,8}\]|/:[^\s/\[]{1,8}")
# A photo this soon after a complaint or a word about damage goes to staff with it.
PHOTO_WINDOW = 30 * 60


def welcome(ctx: MessageContext) -> Reply:
    services = ctx.services
    services.users.subscribed(ctx.openid, services.clock.now())
    if services.jobs is not None:
        # The user's language comes from WeChat's user info; fetch it off the request path.
        services.jobs.fetch_user_info(ctx.openid)
    ctx.state.clear()
    if services.prefs.ask_consent(ctx.openid, services.clock.now()):
        # "好的" / "不用了" right after the welcome answers the notification question.
        ctx.state.expect(PUSH_SETTINGS, consent_question=True)
        return ctx.reply("welcome")
    return ctx.reply("welcome_back", summary=push_summary(ctx, services.prefs.get(ctx.openid)))


def farewell(ctx: MessageContext) -> None:
    ctx.services.users.unsubscribed(ctx.openid, ctx.services.clock.now())
    ctx.state.clear()
    return None


def record_event(ctx: MessageContext) -> None:
    """SCAN, VIEW and LOCATION are kept, not answered (push receipts: intents/push_receipts)."""
    raw = ctx.msg.raw
    detail = {"key": ctx.msg.event_key}
    if ctx.msg.event == "location":
        detail.update(lat=raw.get("Latitude"), lng=raw.get("Longitude"))
    ctx.services.users.record_event(ctx.openid, ctx.msg.event, ctx.services.clock.now(), **detail)
    return None


def media(ctx: MessageContext) -> Reply:
    if ctx.msg.kind == "voice":
        return ctx.reply("voice_not_recognised")
    if ctx.msg.kind in ("image", "video", "shortvideo"):
        attached = _attach_to_handoff(ctx)
        if attached is not None:
            return attached
    return ctx.reply("media_not_supported", kind=ctx.text_of(f"kind_{ctx.msg.kind}"))


def _attach_to_handoff(ctx: MessageContext) -> Reply | None:
    """A photo after a complaint or about damage: attached to the customer's hand-off (opened
    now if the damage was only mentioned), for staff to see with the conversation."""
    services = ctx.services
    now = services.clock.now()
    raw = ctx.msg.raw
    photo = {"at": int(now), "msg_id": ctx.msg.msg_id, "kind": ctx.msg.kind,
             "url": str(raw.get("PicUrl") or ""), "media_id": str(raw.get("MediaId") or "")}
    book = HandoffBook(services.redis)
    kind = ctx.text_of(f"kind_{ctx.msg.kind}")
    if book.attach_photo(ctx.openid, photo) is not None:
        return ctx.reply("media_attached", kind=kind)
    transcript = Transcript(services.redis)
    turns = transcript.last(ctx.openid, 6)
    words = words_of(ctx)
    recent = [t for t in turns if now - t.get("at", 0) <= PHOTO_WINDOW and t.get("kind") in
              ("text", "voice")]
    troubled = [t for t in recent[-3:] if mentions_damage(words, normalise(t.get("in", "")))
                or complaint_score(words, t.get("in", ""), normalise(t.get("in", ""))) >= 2]
    if not troubled:
        return None
    turns.append(Transcript.turn(now, ctx.msg.kind, f"[{ctx.msg.kind}]", "", "media"))
    book.open(ctx.openid, "damage", troubled[-1].get("in", ""), now, turns=turns)
    ctx.notes["handoff"] = True   # the console's daily count of hand-offs
    book.attach_photo(ctx.openid, photo)
    return ctx.reply("media_damage_received", kind=kind)


def light(ctx: MessageContext) -> Reply:
    """A sticker, an emoji or "👍": a light reply, not the "I didn't get that" menu."""
    words = words_of(ctx)
    text = ctx.text
    if any(mark.lower() in text.lower() for mark in words.list("positive_marks")):
        return ctx.reply("light_positive")
    if any(c in text for c in "?？") and _EMOJI_CODE.sub("", text).strip(" ?？") == "":
        return ctx.reply("light_question")
    return ctx.reply("light_sticker")


def is_light(ctx: MessageContext) -> bool:
    """Nothing but stickers, emoji or punctuation: no word, no number."""
    if ctx.msg.kind != "text" or not ctx.text:
        return False
    rest = _EMOJI_CODE.sub(" ", _stickers_removed(words_of(ctx), ctx.text))
    return normalise(rest) == ""


def _stickers_removed(words, text: str) -> str:  # noqa: ANN001
    for placeholder in words.raw.get("sticker_texts") or []:
        text = text.replace(str(placeholder), " ")
    return text


def fallback(ctx: MessageContext) -> Reply:
    return ctx.reply("fallback")


HANDLERS = [
    Handler(name="welcome", handle=welcome, events=("subscribe",)),
    Handler(name="farewell", handle=farewell, events=("unsubscribe",)),
    Handler(
        name="record_event",
        handle=record_event,
        events=("scan", "view", "location", "view_miniprogram"),
    ),
    Handler(name="media", handle=media),
    Handler(name="light_ack", handle=light, claims=is_light, claim_rank=0),
    Handler(name="fallback", handle=fallback, menu_keys=("MENU_HELP",)),
]
