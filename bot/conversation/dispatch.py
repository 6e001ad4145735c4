"""Route one message to its handler: events, media, then text through dialogue and the matcher.

Order (first hit wins): event or menu key → pending dialogue question → matched intent →
fallback. The match rides in the context so a handler sees the intent, score and entities.
"""

from __future__ import annotations

import logging

import redis

from bot.conversation.context import MessageContext
from bot.conversation.messages import MEDIA_KINDS, Incoming
from bot.conversation.replies import Reply, normalise_lang
from bot.conversation.services import Services
from bot.conversation.text_router import route
from bot.conversation.throttle import FloodGuard

log = logging.getLogger(__name__)

FALLBACK = "fallback"
MEDIA = "media"


class UserFacingError(Exception):
    """An expected failure whose template (not its text) is shown to the user."""

    def __init__(self, template: str, **data: object) -> None:
        super().__init__(template)
        self.template = template
        self.data = data


class Dispatcher:
    """Turns an Incoming into a Reply (or None for `success`) using the registered handlers."""

    def __init__(self, services: Services) -> None:
        self.services = services
        config = services.config
        self.flood = FloodGuard(services.redis, config.flood_limit, config.flood_window)

    def preload_keys(self, msg: Incoming) -> tuple[list[str], int]:
        """Keys whose values every message needs, for the coordinator to read with its claim:
        dialogue state, the user's hash (language) and, for messages, the flood counter and
        the once-a-day claim on fetching an unknown user's info."""
        services = self.services
        keys = [services.dialogue.key(msg.openid), services.users.key(msg.openid)]
        if not msg.is_event:
            keys.append(self.flood.key(msg.openid, services.clock.now()))
            keys.append(services.users.info_fetch_key(msg.openid))
        return keys, self.flood.ttl

    def __call__(self, msg: Incoming, preloaded: list | None = None,
                 pipe: redis.client.Pipeline | None = None) -> Reply | None:
        """The reply to `msg`; dialogue writes go into `pipe` when the caller has one."""
        services = self.services
        if preloaded is None:
            preloaded = self._preload(msg)
        raw_state, lang, flood, fetch_claimed = preloaded
        if lang is None and services.jobs is not None and not msg.is_event:
            # A follower from before the bot: learn their language from WeChat once.
            if fetch_claimed is None:
                fetch_claimed = services.users.claim_info_fetch(msg.openid)
            if fetch_claimed:
                services.jobs.fetch_user_info(msg.openid)
        lang = normalise_lang(lang, services.config.default_lang)
        if flood and not self.flood.allows(flood):
            return services.replies.render("throttled", lang)
        ctx = MessageContext(
            msg=msg,
            services=services,
            state=services.dialogue.from_raw(msg.openid, raw_state),
            lang=lang,
            text=msg.text,
            writes=pipe,
        )
        try:
            return self._route(ctx)
        except UserFacingError as exc:
            return ctx.reply(exc.template, **exc.data)
        except redis.RedisError:
            raise  # the callback answers "系统繁忙"; nothing here can work without Redis
        except Exception:
            # A bug must not leave the user without an answer, nor show them a traceback.
            log.exception("handler failed for %s", msg.dedup_key)
            return ctx.reply("internal_error")
        finally:
            ctx.state.save(pipe)

    def _preload(self, msg: Incoming) -> list:
        services = self.services
        pipe = services.redis.pipeline(transaction=False)
        pipe.get(services.dialogue.key(msg.openid))
        pipe.hget(services.users.key(msg.openid), "lang")
        if not msg.is_event:
            self.flood.queue(pipe, msg.openid, services.clock.now())
            state, lang, count, _ = pipe.execute()
            return [state, lang, count, None]
        return [*pipe.execute(), None, None]

    def _route(self, ctx: MessageContext) -> Reply | None:
        msg, registry = ctx.msg, self.services.handlers
        if msg.is_event:
            return self._event(ctx)
        if msg.kind in MEDIA_KINDS or (msg.kind == "voice" and not msg.text):
            handler = registry.for_kind(msg.kind) or registry.get(MEDIA)
            return handler.handle(ctx) if handler else None
        if msg.kind not in ("text", "voice"):
            return None
        return self.route_text(ctx)

    def route_text(self, ctx: MessageContext) -> Reply | None:
        """Text (typed or recognised from voice): dialogue state, then matcher, then fallback."""
        return route(ctx)

    def _event(self, ctx: MessageContext) -> Reply | None:
        msg, registry = ctx.msg, self.services.handlers
        event = "subscribe" if msg.event.startswith("subscribe") else msg.event
        if event == "click":
            handler = registry.for_menu_key(msg.event_key)
            if handler is None:
                log.info("menu key %r has no handler", msg.event_key)
                handler = registry.get(FALLBACK)
            return handler.handle(ctx) if handler else None
        handler = registry.for_event(event)
        return handler.handle(ctx) if handler else None
