"""Build a process's dependencies once, the same way for the web app, workers and the CLI."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.dialogue import DialogueStore
from bot.dispatch import Dispatcher
from bot.handlers import Handler
from bot.jobs import Jobs, make_broker
from bot.preferences import PreferenceStore
from bot.replies import Replies
from bot.reply_coordinator import ReplyCoordinator
from bot.services import Services
from bot.storage import connect, redis_url_for
from bot.unmatched import UnmatchedStore
from bot.users import UserStore

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Services plus the pieces that run messages: dispatcher, coordinator, jobs."""

    services: Services
    dispatcher: Dispatcher
    coordinator: ReplyCoordinator
    jobs: Jobs
    redis_url: str


def build_runtime(
    config: Config,
    *,
    redis_client: redis.Redis | None = None,
    redis_url: str | None = None,
    clock: Clock | None = None,
    wechat: object | None = None,
    extra_handlers: list[Handler] | None = None,
) -> Runtime:
    """Wire every dependency from `config`; tests pass real ones with test settings."""
    from intents import build_registry

    url = redis_url or redis_url_for(config.redis_url, config.data_dir)
    client = redis_client or connect(url)
    clock = clock or SystemClock()
    services = Services(
        config=config,
        redis=client,
        clock=clock,
        replies=Replies(config.replies_path, config.default_lang),
        handlers=build_registry(extra_handlers),
        dialogue=DialogueStore(client, config.dialogue_ttl),
        users=UserStore(client),
        unmatched=UnmatchedStore(client),
        prefs=PreferenceStore(client),
    )
    services.wechat = wechat if wechat is not None else _wechat_api(config, client)
    _attach_optional(services)
    jobs = Jobs(make_broker(url))
    services.jobs = jobs
    dispatcher = Dispatcher(services)
    coordinator = ReplyCoordinator(client, dispatcher, config.reply_deadline, jobs.late_reply)
    jobs.bind(services, dispatcher, coordinator.leases)
    return Runtime(services, dispatcher, coordinator, jobs, url)


def _wechat_api(config: Config, client: redis.Redis) -> object | None:
    try:
        from bot.wechat_api import WeChatAPI
    except ImportError:
        return None
    return WeChatAPI(config, client)


def _attach_optional(services: Services) -> None:
    """Orders and intents attach here once their modules exist."""
    try:
        import bot.matcher  # noqa: F401
    except ImportError:
        pass
    else:
        from bot.intent_store import IntentStore

        services.intents = IntentStore(services.redis, services.config.intents_path)
    try:
        from bot.orders import build_order_service
    except ImportError:
        return
    services.orders = build_order_service(services.config, services.redis, services.clock)
