"""Handlers for what every account receives: follow/unfollow, media, menu-less events, help."""

from __future__ import annotations

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.replies import Reply
from intents.push_settings import NAME as PUSH_SETTINGS
from intents.push_settings import summary as push_summary


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
    return ctx.reply("media_not_supported", kind=ctx.text_of(f"kind_{ctx.msg.kind}"))


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
    Handler(name="fallback", handle=fallback, menu_keys=("MENU_HELP",)),
]
