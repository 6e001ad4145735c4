"""Put the console on the app: sessions, its state, and the blueprint with every page's routes."""

from __future__ import annotations

from flask import Flask

from bot.console import (
    views_admin,
    views_auth,
    views_conversations,
    views_faqs,
    views_followups,
    views_inbox,
    views_overview,
    views_pushes,
)
from bot.console.blueprint import bp, build_console
from bot.console.security import configure_sessions
from bot.conversation.services import Services
from bot.pushes.pipeline import PushPipeline

# Importing a views module registers its routes on `bp`.
PAGES = (views_auth, views_inbox, views_faqs, views_conversations, views_overview, views_admin,
         views_pushes, views_followups)


def register(app: Flask, services: Services, pushes: PushPipeline | None = None) -> None:
    """Mount the console on `app` (called by `bot.create_app`)."""
    config = services.config
    configure_sessions(app, config.secret_key, config.public_base_url.startswith("https://"))
    app.extensions["console"] = build_console(services, pushes)
    app.register_blueprint(bp)
