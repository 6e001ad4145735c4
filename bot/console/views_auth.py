"""Log in, log out, and the language switch."""

from __future__ import annotations

from flask import g, redirect, request, session, url_for

from bot.console.blueprint import bp, console, form_text, page
from bot.console.i18n import LANGS
from bot.console.security import AGENT, PUBLIC, log_in, role, safe_next


@bp.route("/login", methods=["GET", "POST"])
@role(PUBLIC)
def login():  # noqa: ANN201
    target = safe_next(request.values.get("next"), url_for("console.home"))
    if request.method == "GET":
        return page("login.html", next=target)
    c = console()
    name, password = form_text("name", 64), request.form.get("password") or ""
    address = request.remote_addr or "-"
    if c.throttle.blocked(name, address):
        return page("login.html", status=429, next=target, error="login_throttled", name=name)
    account = c.accounts.verify(name, password[:1024])
    if account is None:
        c.throttle.failed(name, address)
        # The same words whether the name exists or not.
        return page("login.html", status=401, next=target, error="login_failed", name=name)
    c.throttle.succeeded(name)
    lang = session.get("lang")
    log_in(account)
    if lang:
        session["lang"] = lang
    c.audit.record(account.name, "login", c.services.clock.now(), address=address)
    return redirect(target)


@bp.route("/logout", methods=["POST"])
@role(AGENT)
def logout():  # noqa: ANN201
    session.clear()
    return redirect(url_for("console.login"))


@bp.route("/lang/<code>")
@role(PUBLIC)
def switch_lang(code: str):  # noqa: ANN201
    if code in LANGS:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("console.home")))


@bp.route("/")
@role(AGENT)
def home():  # noqa: ANN201
    if g.account.is_admin:
        return redirect(url_for("console.overview"))
    return redirect(url_for("console.inbox"))
