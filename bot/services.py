"""The dependencies a message needs, built once per process and handed to everything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis

from bot.clock import Clock
from bot.config import Config
from bot.dialogue import DialogueStore
from bot.handlers import HandlerRegistry
from bot.replies import Replies


@dataclass
class Services:
    """Everything a handler or job may use; tests build one with real test dependencies."""

    config: Config
    redis: redis.Redis
    clock: Clock
    replies: Replies
    handlers: HandlerRegistry
    dialogue: DialogueStore
    users: Any = None      # bot.users.UserStore
    wechat: Any = None     # bot.wechat_api.WeChatAPI: outgoing calls (客服消息, user info…)
    intents: Any = None    # bot.intent_store.IntentStore: live intents and the matcher
    orders: Any = None     # bot.orders.OrderService: order records and lookups
    jobs: Any = None       # bot.jobs.Jobs: enqueues background work
    unmatched: Any = None  # bot.unmatched.UnmatchedStore: queries nobody could place
    prefs: Any = None      # bot.preferences.PreferenceStore: notification settings
    extras: dict[str, Any] = field(default_factory=dict)
