"""Order notifications by chat: all off/on, logistics off/on, or only important ones."""

from __future__ import annotations

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.replies import Reply
from bot.conversation.words import contains_any, load_words
from bot.pushes.follows import FollowStore
from bot.pushes.preferences import ALL, CONSENT_GIVEN, CONSENT_REFUSED, IMPORTANT, Preferences

NAME = "push_settings"


def change_settings(ctx: MessageContext) -> Reply:
    words = load_words(ctx.services.config.intents_path).get("push_settings", {})
    text = ctx.match.normalised if ctx.match else ctx.text.lower()
    store = ctx.services.prefs
    now = ctx.services.clock.now()
    # Only the welcome's question makes a bare "好的" or "不用了" mean something here.
    asked = ctx.state.pending == NAME and ctx.state.data.get("consent_question")
    if asked:
        ctx.state.resolve()
        ctx.state.forget("consent_question")
    important = contains_any(text, words.get("important", []))
    off = contains_any(text, words.get("off", []))
    on = contains_any(text, words.get("on", []))
    logistics = contains_any(text, words.get("logistics", []))
    if asked and not (important or off or on):
        if text.strip() in words.get("yes", []):
            on = True
        elif text.strip() in words.get("no", []):
            off = True
        else:
            # Neither yes nor no: say how to answer, rather than guess either way.
            return ctx.reply("push_consent_unclear")
    # Choosing any setting by chat is agreeing to notifications; turning them all off is not.
    if important and not off:
        prefs = store.set(ctx.openid, notify=True, level=IMPORTANT, consent=CONSENT_GIVEN,
                          at=now)
        changed = "push_now_important"
    elif off and not on:
        if logistics:
            prefs = store.set(ctx.openid, logistics=False, consent=CONSENT_GIVEN, at=now)
            changed = "push_logistics_off"
        else:
            prefs = store.set(ctx.openid, notify=False, consent=CONSENT_REFUSED, at=now)
            # "All off" means all: orders followed one by one are not followed any more.
            FollowStore(ctx.services.redis).unfollow_all(ctx.openid)
            changed = "push_all_off"
    elif on:
        if logistics:
            prefs = store.set(ctx.openid, notify=True, logistics=True, consent=CONSENT_GIVEN,
                              at=now)
            changed = "push_logistics_on"
        else:
            prefs = store.set(ctx.openid, notify=True, logistics=True, level=ALL,
                              consent=CONSENT_GIVEN, at=now)
            changed = "push_all_on"
    else:
        prefs = store.get(ctx.openid)
        changed = "push_settings_current"
    return ctx.reply(changed, summary=summary(ctx, prefs))


def answers_consent(ctx: MessageContext) -> bool:
    """After the welcome's question, a bare yes or no is its answer, whatever else the
    matcher makes of it ("OK" is also a greeting, "不用了" also a cancellation). A setting
    ("只要重要通知") reaches this handler through the matcher; anything longer is not taken
    as an answer ("我要取消订单" says 取消 but is not a no to notifications)."""
    words = load_words(ctx.services.config.intents_path).get("push_settings", {})
    text = (ctx.match.normalised if ctx.match else ctx.text.lower()).strip()
    return text in words.get("yes", []) or text in words.get("no", [])


def summary(ctx: MessageContext, prefs: Preferences) -> str:
    if not prefs.may_push:
        return ctx.text_of("push_summary_off")
    if prefs.level == IMPORTANT:
        # In-transit updates are not important ones: the logistics switch does not apply.
        return ctx.text_of("push_summary_important")
    logistics = ctx.text_of("push_logistics_included" if prefs.logistics
                            else "push_logistics_excluded")
    return ctx.text_of("push_summary_on", logistics=logistics)


HANDLERS = [
    Handler(name=NAME, handle=change_settings, intents=("push_settings",),
            menu_keys=("MENU_PUSH_SETTINGS",), answers=answers_consent),
]
