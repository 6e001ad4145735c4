"""The dependencies a message needs, built once per process and handed to everything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis
from flask import current_app

from bot.conversation.dialogue import DialogueStore
from bot.conversation.handlers import HandlerRegistry
from bot.conversation.ports import JobQueue, OrderDesk, OutgoingWeChat, PreferenceBook
from bot.conversation.replies import Replies
from bot.conversation.users import UserStore
from bot.platform.clock import Clock
from bot.platform.config import Config
from bot.understanding.intent_store import IntentStore
from bot.understanding.unmatched import UnmatchedStore


@dataclass
class Services:
    """Everything a handler or job may use; tests build one with real test dependencies.

    The last four are filled by `bot.runtime` (they live in packages above this one)."""

    config: Config
    redis: redis.Redis
    clock: Clock
    replies: Replies
    handlers: HandlerRegistry
    dialogue: DialogueStore
    users: UserStore
    intents: IntentStore
    unmatched: UnmatchedStore
    orders: OrderDesk
    prefs: PreferenceBook
    wechat: OutgoingWeChat | None = None
    jobs: JobQueue | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def current_services() -> Services:
    """The services of the app handling this request (set by `bot.create_app`)."""
    return current_app.extensions["bot"]
