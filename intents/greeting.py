"""Hello, thanks and goodbye."""

from __future__ import annotations

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.conversation.replies import Reply
from bot.conversation.words import contains_any, load_words


def greet(ctx: MessageContext) -> Reply:
    words = load_words(ctx.services.config.intents_path).get("greeting", {})
    text = ctx.match.normalised if ctx.match else ctx.text.lower()
    if contains_any(text, words.get("thanks", [])):
        return ctx.reply("greeting_thanks")
    if contains_any(text, words.get("bye", [])):
        return ctx.reply("greeting_bye")
    return ctx.reply("greeting_hello")


HANDLERS = [Handler(name="greeting", handle=greet, intents=("greeting",))]
