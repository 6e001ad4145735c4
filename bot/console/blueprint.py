"""The console blueprint: its state, guards, template helpers and error pages. The routes live
in the `views_*` modules, each about one page; `mount` puts it all on the app."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import redis
from flask import Blueprint, current_app, g, render_template, request, session

from bot.console.accounts import AccountStore
from bot.console.audit import AuditLog
from bot.console.i18n import DEFAULT, LANGS, translate
from bot.console.security import generate_csrf, guard, secure_headers
from bot.console.throttle import LoginThrottle
from bot.conversation.handoffs import HandoffBook
from bot.conversation.services import Services
from bot.conversation.transcript import Transcript, mask
from bot.platform.daily import DailyStats
from bot.pushes.pipeline import PushPipeline

log = logging.getLogger(__name__)

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static")


@dataclass
class Console:
    """What the console keeps beside the bot's services."""

    services: Services
    accounts: AccountStore
    throttle: LoginThrottle
    audit: AuditLog
    transcripts: Transcript
    handoffs: HandoffBook
    stats: DailyStats
    pushes: PushPipeline | None = None

    def record(self, action: str, **detail: object) -> None:
        """Audit a change made by the logged-in account."""
        self.audit.record(g.account.name, action, self.services.clock.now(), **detail)


def build_console(services: Services, pushes: PushPipeline | None = None) -> Console:
    client, config = services.redis, services.config
    return Console(
        services=services,
        accounts=AccountStore(client),
        throttle=LoginThrottle(client),
        audit=AuditLog(client),
        transcripts=Transcript(client, config.transcript_days),
        handoffs=HandoffBook(client),
        stats=DailyStats(client, config.timezone),
        pushes=pushes,
    )


def console() -> Console:
    return current_app.extensions["console"]


def lang() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGS else DEFAULT


# The app's MAX_BODY_BYTES suits WeChat's callbacks; an FAQ file may be larger.
LARGE_BODIES = {"console.faq_import": 3 * 1024 * 1024}


@bp.before_request
def _guard():  # noqa: ANN202
    if request.endpoint in LARGE_BODIES:
        request.max_content_length = LARGE_BODIES[request.endpoint]
    return guard(console().accounts)


@bp.after_request
def _headers(response):  # noqa: ANN001, ANN202
    return secure_headers(response)


@bp.app_template_filter("when")
def _when(ts: float | int | None) -> str:
    if not ts:
        return "-"
    tz = ZoneInfo(console().services.config.timezone)
    return datetime.fromtimestamp(float(ts), tz=UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M")


@bp.app_template_filter("masked")
def _masked(text: str | None) -> str:
    """Customer text as the chat shows it: phone numbers masked (escaping is Jinja's)."""
    return mask(text or "")


@bp.context_processor
def _helpers() -> dict:
    current = lang()
    return {
        "t": lambda key, **kw: translate(current, key, **kw),
        "lang": current,
        "csrf_token": generate_csrf,
        "account": g.get("account"),
    }


def page(template: str, status: int = 200, **values: object):  # noqa: ANN201
    return render_template(f"console/{template}", **values), status


@bp.errorhandler(400)
@bp.errorhandler(401)
@bp.errorhandler(403)
@bp.errorhandler(404)
@bp.errorhandler(413)
def _error(exc):  # noqa: ANN001, ANN202
    code = getattr(exc, "code", 400)
    key = "error_csrf" if getattr(exc, "description", "") == "csrf" else f"error_{code}"
    return page("error.html", status=code, message_key=key)


@bp.errorhandler(redis.RedisError)
def _redis_down(exc):  # noqa: ANN001, ANN202
    log.error("console: Redis unavailable: %s", exc)
    return page("error.html", status=503, message_key="error_503")


def form_text(name: str, limit: int = 2000) -> str:
    return (request.form.get(name) or "").strip()[:limit]
