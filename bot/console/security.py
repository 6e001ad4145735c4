"""The console's guards: who is logged in, which role a route needs, CSRF, safe redirects and
the security headers. Every route declares its role with `@role(...)`; a route without one is
refused, so a forgotten decorator fails closed."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import generate_csrf, validate_csrf
from werkzeug.wrappers import Response
from wtforms import ValidationError

from bot.console.accounts import Account, AccountStore

log = logging.getLogger(__name__)

PUBLIC, AGENT, ADMIN = "public", "agent", "admin"
ROLE_ATTR = "_console_role"
SESSION_HOURS = 12
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

F = TypeVar("F", bound=Callable)


def role(needed: str) -> Callable[[F], F]:
    """Declare the role a console route needs (PUBLIC, AGENT or ADMIN)."""
    def mark(view: F) -> F:
        setattr(view, ROLE_ATTR, needed)
        return view
    return mark


def configure_sessions(app: Flask, secret_key: str, https: bool) -> None:
    """Signed-cookie sessions under /console; the key is derived from SECRET_KEY so the console
    never signs with the same key as the tracking links."""
    from datetime import timedelta

    app.secret_key = hmac.new(secret_key.encode(), b"console-session",
                              hashlib.sha256).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME="console_session",
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )


def log_in(account: Account) -> None:
    session.clear()
    session.permanent = True
    session["user"] = account.name
    session["gen"] = account.generation


def current_account(accounts: AccountStore) -> Account | None:
    name, generation = session.get("user"), session.get("gen")
    if not name or not isinstance(generation, int):
        return None
    return accounts.current(name, generation)


def guard(accounts: AccountStore) -> Response | None:
    """Before every console request: the route's role, the session, CSRF on writes."""
    view = current_app.view_functions.get(request.endpoint or "")
    needed = PUBLIC if request.endpoint == "console.static" else getattr(view, ROLE_ATTR, None)
    if needed is None:
        log.error("console route %s declares no role; refused", request.endpoint)
        abort(403)
    g.account = current_account(accounts) if needed != PUBLIC or "user" in session else None
    if "user" in session and g.account is None:
        session.clear()   # deleted account or an old generation: the cookie is worthless
    if needed != PUBLIC:
        if g.account is None:
            if request.method == "GET":
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            abort(401)
        if needed == ADMIN and not g.account.is_admin:
            abort(403)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        try:
            validate_csrf(request.form.get("csrf_token") or request.headers.get("X-CSRFToken"))
        except ValidationError:
            abort(400, description="csrf")
    return None


def safe_next(target: str | None, default: str) -> str:
    """A redirect target after login: only a path inside the console, never another site."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/console") \
            or target.startswith("//") or "\\" in target:
        return default
    return target


def secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


__all__ = ["ADMIN", "AGENT", "PUBLIC", "configure_sessions", "generate_csrf", "guard", "log_in",
           "role", "safe_next", "secure_headers"]
