"""Build a process's dependencies once, the same way for the web app, workers and the CLI."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from bot.conversation.dialogue import DialogueStore
from bot.conversation.dispatch import Dispatcher
from bot.conversation.handlers import Handler
from bot.conversation.ports import OutgoingWeChat
from bot.conversation.replies import Replies
from bot.conversation.services import Services
from bot.conversation.users import UserStore
from bot.jobs import Jobs, make_broker
from bot.orders.service import build_order_service
from bot.platform.clock import Clock, SystemClock
from bot.platform.config import Config
from bot.platform.storage import connect, redis_url_for
from bot.pushes.extend import Extensions, extend_pipeline
from bot.pushes.pipeline import PushPipeline
from bot.pushes.preferences import PreferenceStore
from bot.pushes.sms.kit import SmsKit, build_sms
from bot.understanding.intent_store import IntentStore
from bot.understanding.unmatched import UnmatchedStore
from bot.wechat.api import WeChatAPI
from bot.wechat.coordinator import ReplyCoordinator

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Services plus the pieces that run messages: dispatcher, coordinator, jobs."""

    services: Services
    dispatcher: Dispatcher
    coordinator: ReplyCoordinator
    jobs: Jobs
    redis_url: str
    pushes: PushPipeline
    sms: SmsKit | None = None
    extras: Extensions | None = None      # SMS fallback, switches, best hours, scans


def build_runtime(
    config: Config,
    *,
    redis_client: redis.Redis | None = None,
    redis_url: str | None = None,
    clock: Clock | None = None,
    wechat: OutgoingWeChat | None = None,
    extra_handlers: list[Handler] | None = None,
) -> Runtime:
    """Wire every dependency from `config`; tests pass real ones with test settings."""
    from intents import build_registry

    url = redis_url or redis_url_for(config.redis_url, config.data_dir, config.redis_sentinels,
                                     config.redis_sentinel_master)
    client = redis_client or connect(url)
    clock = clock or SystemClock()
    replies = Replies(config.replies_path, config.default_lang)
    sms = build_sms(config, client, clock, replies, templates_path=config.push_templates)
    services = Services(
        config=config,
        redis=client,
        clock=clock,
        replies=replies,
        handlers=build_registry(extra_handlers),
        dialogue=DialogueStore(client, config.dialogue_ttl),
        users=UserStore(client),
        unmatched=UnmatchedStore(client),
        prefs=PreferenceStore(client),
        intents=IntentStore(client, config.intents_path, config.data_dir),
        # With SMS configured, claiming another's order needs a code texted to its phone.
        orders=build_order_service(config, client, clock, sms=sms.code_sender),
    )
    services.wechat = wechat if wechat is not None else WeChatAPI(config, client)
    jobs = Jobs(make_broker(url))
    services.jobs = jobs
    dispatcher = Dispatcher(services)
    coordinator = ReplyCoordinator(client, dispatcher, config.reply_deadline, jobs.late_reply)
    pushes = PushPipeline(services, jobs.push)
    jobs.bind(services, dispatcher, coordinator.leases, pushes)
    extras = extend_pipeline(pushes, sms, jobs.sms)
    jobs.sms_fallback = extras.fallback
    return Runtime(services, dispatcher, coordinator, jobs, url, pushes, sms=sms, extras=extras)
