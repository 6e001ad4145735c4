"""The unmatched inbox: groups of near-identical queries the bot could not place, busiest
first; one click turns one into an example, a new FAQ, or dismisses it."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from bot.console import teaching
from bot.console.blueprint import bp, console, form_text, page
from bot.console.security import AGENT, role

PAGE_SIZE = 30


def intent_titles() -> dict[str, str]:
    return {d["id"]: d.get("question", "") for d in console().services.intents.all()}


@bp.route("/inbox")
@role(AGENT)
def inbox():  # noqa: ANN201
    services = console().services
    offset = max(request.args.get("offset", 0, type=int), 0)
    groups = services.unmatched.groups(limit=PAGE_SIZE, offset=offset)
    titles = intent_titles()
    for group in groups:
        group["candidates"] = [(c, s, titles.get(c, "")) for c, s in group["candidates"]
                               if c in titles]
    return page("inbox.html", groups=groups, titles=titles, offset=offset,
                page_size=PAGE_SIZE)


def _group_or_404(group_id: str) -> dict:
    group = console().services.unmatched.get(group_id)
    if group is None:
        abort(404)
    return group


@bp.route("/inbox/<group_id>/example", methods=["POST"])
@role(AGENT)
def inbox_example(group_id: str):  # noqa: ANN201
    c = console()
    group = _group_or_404(group_id)
    intent_id = form_text("intent", 200).split(" ", 1)[0]
    text = form_text("text", 500) or group.get("text", "")
    try:
        teaching.add_example(c.services, intent_id, text)
    except KeyError:
        flash("inbox_no_such_intent", "error")
        return redirect(url_for("console.inbox"))
    teaching.resolve(c.services, group_id)
    c.record("example_added", intent=intent_id, example=text, group=group_id)
    flash("inbox_example_added", "ok")
    return redirect(url_for("console.inbox"))


@bp.route("/inbox/<group_id>/dismiss", methods=["POST"])
@role(AGENT)
def inbox_dismiss(group_id: str):  # noqa: ANN201
    c = console()
    group = _group_or_404(group_id)
    teaching.dismiss(c.services, group_id)
    c.record("unmatched_dismissed", text=group.get("text", ""), group=group_id)
    flash("inbox_dismissed", "ok")
    return redirect(url_for("console.inbox"))
