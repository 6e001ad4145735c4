"""Accounts and the audit log (admins)."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for

from bot.console.accounts import ROLES, AccountError
from bot.console.blueprint import bp, console, form_text, page
from bot.console.security import ADMIN, role


@bp.route("/accounts")
@role(ADMIN)
def accounts():  # noqa: ANN201
    return page("accounts.html", accounts=console().accounts.all(), roles=ROLES)


@bp.route("/accounts/add", methods=["POST"])
@role(ADMIN)
def account_add():  # noqa: ANN201
    c = console()
    name, chosen = form_text("name", 64), form_text("role", 10)
    existing = c.accounts.get(name)
    if existing and existing.is_admin and chosen != "admin" and c.accounts.admins() <= 1:
        flash("account_last_admin", "error")
        return redirect(url_for("console.accounts"))
    try:
        c.accounts.add(name, chosen, request.form.get("password") or "", c.services.clock.now())
    except AccountError as exc:
        return page("accounts.html", status=400, accounts=c.accounts.all(), roles=ROLES,
                    error=str(exc))
    c.record("account_replaced" if existing else "account_added", name=name, role=chosen)
    flash("account_saved", "ok")
    return redirect(url_for("console.accounts"))


@bp.route("/accounts/<name>/delete", methods=["POST"])
@role(ADMIN)
def account_delete(name: str):  # noqa: ANN201
    c = console()
    target = c.accounts.get(name)
    if target is None:
        return redirect(url_for("console.accounts"))
    if target.is_admin and c.accounts.admins() <= 1:
        flash("account_last_admin", "error")
        return redirect(url_for("console.accounts"))
    c.accounts.delete(name)
    c.record("account_deleted", name=name)
    flash("account_deleted", "ok")
    if name == g.account.name:
        return redirect(url_for("console.login"))
    return redirect(url_for("console.accounts"))


@bp.route("/audit")
@role(ADMIN)
def audit():  # noqa: ANN201
    offset = max(request.args.get("offset", 0, type=int), 0)
    return page("audit.html", entries=console().audit.latest(200, offset), offset=offset)
