"""Order notifications by chat: all off/on, logistics off/on, or only important ones."""

from __future__ import annotations

from bot.context import MessageContext
from bot.dialogue_words import contains_any, load_words
from bot.handlers import Handler
from bot.preferences import ALL, IMPORTANT, Preferences
from bot.replies import Reply


def change_settings(ctx: MessageContext) -> Reply:
    words = load_words(ctx.services.config.intents_path).get("push_settings", {})
    text = ctx.match.normalised if ctx.match else ctx.text.lower()
    store = ctx.services.prefs
    now = ctx.services.clock.now()
    important = contains_any(text, words.get("important", []))
    off = contains_any(text, words.get("off", []))
    on = contains_any(text, words.get("on", []))
    logistics = contains_any(text, words.get("logistics", []))
    if important and not off:
        prefs = store.set(ctx.openid, notify=True, level=IMPORTANT, at=now)
        changed = "push_now_important"
    elif off and not on:
        if logistics:
            prefs = store.set(ctx.openid, logistics=False, at=now)
            changed = "push_logistics_off"
        else:
            prefs = store.set(ctx.openid, notify=False, at=now)
            changed = "push_all_off"
    elif on:
        if logistics:
            prefs = store.set(ctx.openid, notify=True, logistics=True, at=now)
            changed = "push_logistics_on"
        else:
            prefs = store.set(ctx.openid, notify=True, logistics=True, level=ALL, at=now)
            changed = "push_all_on"
    else:
        prefs = store.get(ctx.openid)
        changed = "push_settings_current"
    return ctx.reply(changed, summary=summary(ctx, prefs))


def summary(ctx: MessageContext, prefs: Preferences) -> str:
    if not prefs.notify:
        return ctx.text_of("push_summary_off")
    level = ctx.text_of("push_level_important" if prefs.level == IMPORTANT else "push_level_all")
    logistics = ctx.text_of("push_logistics_included" if prefs.logistics
                            else "push_logistics_excluded")
    return ctx.text_of("push_summary_on", level=level, logistics=logistics)


HANDLERS = [
    Handler(name="push_settings", handle=change_settings, intents=("push_settings",),
            menu_keys=("MENU_PUSH_SETTINGS",)),
]
