"""Route one message to its handler: events, media, then text through dialogue and the matcher.

Order (first hit wins): event or menu key → pending dialogue question → matched intent →
fallback. The match rides in the context so a handler sees the intent, score and entities.
"""

from __future__ import annotations

import logging

import redis

from bot.conversation.context import MessageContext
from bot.conversation.language import StoredLang, reply_lang
from bot.conversation.messages import MEDIA_KINDS, Incoming
from bot.conversation.replies import TEXT, Reply
from bot.conversation.services import Services
from bot.conversation.text_router import call, route
from bot.conversation.throttle import FloodGuard
from bot.conversation.transcript import Transcript
from bot.conversation.typography import full_width, mostly_chinese
from bot.platform.daily import DailyStats

log = logging.getLogger(__name__)

FALLBACK = "fallback"
MEDIA = "media"
# Intents that ask where an order is: the overview counts them per 100 orders in transit.
WHERE_IS_MY_ORDER = frozenset({"order_status", "logistics"})
# Events by which the user reaches out (WeChat opens the 客服消息 window on them too); the
# transcript keeps these and no other events.
WINDOW_EVENTS = frozenset({"subscribe", "click", "scan", "view"})


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
        self.transcript = Transcript(services.redis, config.transcript_days)
        self.stats = DailyStats(services.redis, config.timezone)

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
        raw_state, lang_info, flood, fetch_claimed = preloaded
        stored = StoredLang.from_preloaded(lang_info)
        if stored.lang is None and services.jobs is not None and not msg.is_event:
            # A follower from before the bot: learn their language from WeChat once.
            if fetch_claimed is None:
                fetch_claimed = services.users.claim_info_fetch(msg.openid)
            if fetch_claimed:
                services.jobs.fetch_user_info(msg.openid)
        config = services.config
        lang = reply_lang(stored, msg.text, services.clock.now(), config.lang_choice_hold,
                          config.default_lang)
        if not msg.is_event or msg.event in WINDOW_EVENTS:
            services.users.seen(msg.openid, services.clock.now(), pipe)
        if flood and not self.flood.allows(flood):
            # Honest: these messages are not answered, so the customer is asked to send the
            # question again rather than told it will be handled.
            if self.flood.first_refusal(flood):
                wait = self.flood.seconds_left(services.clock.now())
                return self._finish(services.replies.render("throttled", lang, seconds=wait),
                                    lang)
            return None
        ctx = MessageContext(
            msg=msg,
            services=services,
            state=services.dialogue.from_raw(msg.openid, raw_state),
            lang=lang,
            text=msg.text,
            writes=pipe,
        )
        reply: Reply | None = None
        try:
            reply = self._route(ctx)
        except UserFacingError as exc:
            reply = ctx.reply(exc.template, **exc.data)
        except redis.RedisError:
            raise  # the callback answers "系统繁忙"; nothing here can work without Redis
        except Exception:
            # A bug must not leave the user without an answer, nor show them a traceback.
            log.exception("handler failed for %s", msg.dedup_key)
            reply = ctx.reply("internal_error")
        finally:
            ctx.state.save(pipe)
        reply = self._finish(reply, ctx.lang)
        self._record_turn(ctx, reply, pipe)
        return reply

    def _record_turn(self, ctx: MessageContext, reply: Reply | None,
                     pipe: redis.client.Pipeline | None) -> None:
        """The turn in the transcript and the day's counters (the console's overview), in one
        call queued into the turn's pipeline."""
        msg, now = ctx.msg, self.services.clock.now()
        if msg.is_event:
            # Only what a customer does (and what opens WeChat's 48-hour window) is kept;
            # location reports, page views and delivery receipts are not conversation.
            if msg.event not in WINDOW_EVENTS:
                return
            said = f"[{msg.event} {msg.event_key}]".replace(" ]", "]")
        else:
            said = msg.text or f"[{msg.kind}]"
        turn = Transcript.turn(now, msg.kind, said, reply.text if reply else "",
                               str(ctx.notes.get("handler", "")))
        handed_off = bool(ctx.notes.get("handoff"))
        counts = {"handoffs": int(handed_off)}
        if not msg.is_event:
            unmatched = bool(ctx.notes.get("unmatched"))
            counts.update(
                messages=1, unmatched=int(unmatched),
                answered=int(not unmatched and not handed_off and reply is not None),
                wismo=int(ctx.notes.get("intent") in WHERE_IS_MY_ORDER),
            )
        self.transcript.add(msg.openid, turn, pipe, counts_key=self.stats.key_for(now),
                            counts=counts, counts_ttl=self.stats.ttl)

    @staticmethod
    def _finish(reply: Reply | None, lang: str) -> Reply | None:
        """Chinese text in Chinese typography, whoever wrote the template or FAQ answer (also
        a merchant's Chinese-only FAQ answer in an English conversation)."""
        if reply is not None and reply.kind == TEXT and (lang == "zh-CN"
                                                         or mostly_chinese(reply.text)):
            return Reply(full_width(reply.text), reply.kind)
        return reply

    def _preload(self, msg: Incoming) -> list:
        services = self.services
        pipe = services.redis.pipeline(transaction=False)
        pipe.get(services.dialogue.key(msg.openid))
        pipe.hmget(services.users.key(msg.openid), "lang", "lang_source", "lang_at")
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
            return call(ctx, handler) if handler else None
        if msg.kind not in ("text", "voice"):
            return None
        return self.route_text(ctx)

    def route_text(self, ctx: MessageContext) -> Reply | None:
        """Text (typed or recognised from voice): dialogue state, then matcher, then fallback."""
        return route(ctx)

    def _event(self, ctx: MessageContext) -> Reply | None:
        msg, registry = ctx.msg, self.services.handlers
        # "subscribe_msg_popup_event" and its kin are subscribe-message events, not follows.
        event = ("subscribe" if msg.event.startswith("subscribe")
                 and not msg.event.startswith("subscribe_msg") else msg.event)
        if event == "click":
            handler = registry.for_menu_key(msg.event_key)
            if handler is None:
                log.info("menu key %r has no handler", msg.event_key)
                handler = registry.get(FALLBACK)
            return call(ctx, handler) if handler else None
        handler = registry.for_event(event)
        return call(ctx, handler) if handler else None
