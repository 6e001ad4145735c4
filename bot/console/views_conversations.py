"""Hand-offs and conversations: the queue of customers waiting for a person (they asked, they
complained, they sent a photo of damage), each conversation so far with the customer's orders
beside it, and a reply box that sends 客服消息 while WeChat's 48-hour window is open."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for

from bot.console.blueprint import bp, console, form_text, page
from bot.console.security import AGENT, role
from bot.conversation.handoffs import Handoff
from bot.conversation.transcript import MAX_TURNS
from bot.orders.masking import mask_address, mask_phone
from bot.wechat.api import WeChatError, WeChatRejected

# WeChat's answers when the 48-hour window is closed, or the customer unfollowed.
WINDOW_CLOSED = {45015, 43004}
REPLY_MAX = 600
QUEUE_SHOWN = 200
# WeChat accepts 客服消息 for 48 hours after the customer last wrote (or clicked, followed…).
WINDOW_SECONDS = 48 * 3600


def window_ends(openid: str) -> float | None:
    """When WeChat's window for 客服消息 to this customer closes (None: never opened)."""
    last = console().services.users.get(openid).get("last_message_at")
    return float(last) + WINDOW_SECONDS if last else None


def window_open(openid: str, now: float) -> bool:
    ends = window_ends(openid)
    return ends is not None and now < ends


def waiting() -> list[Handoff]:
    book = console().handoffs
    found = (book.get(i) for i in book.open_ids(QUEUE_SHOWN))
    return [h for h in found if h is not None]


@bp.route("/handoffs")
@role(AGENT)
def handoffs():  # noqa: ANN201
    return page("handoffs.html", waiting=waiting())


@bp.route("/conversations")
@role(AGENT)
def conversations():  # noqa: ANN201
    c = console()
    openid = (request.args.get("openid") or "").strip()
    if openid:
        return redirect(url_for("console.conversation", openid=openid))
    offset = max(request.args.get("offset", 0, type=int), 0)
    recent = c.transcripts.recent(limit=50, offset=offset)
    return page("conversations.html", recent=recent, waiting={h.openid for h in waiting()},
                offset=offset)


def _orders(openid: str) -> list[dict]:
    orders = console().services.orders.recent(openid, limit=10)
    return [{
        "id": o.order_id, "status": o.status, "carrier": o.carrier,
        "tracking_no": o.tracking_no, "eta": o.eta, "amount": o.amount,
        "goods": ", ".join(f"{i.name} ×{i.quantity}" for i in o.items),
        "phone": mask_phone(o.phone), "address": mask_address(o.address),
        "exception": o.exception_reason, "updated_at": o.updated_at,
    } for o in orders]


def _photos(handoff: Handoff | None) -> list[dict]:
    # Only web links: a customer-supplied "javascript:" URL must never become a link.
    return [p for p in (handoff.photos if handoff else [])
            if str(p.get("url", "")).startswith(("https://", "http://"))]


@bp.route("/conversations/<openid>")
@role(AGENT)
def conversation(openid: str):  # noqa: ANN201
    c = console()
    now = c.services.clock.now()
    handoff = c.handoffs.current(openid)
    return page(
        "conversation.html",
        openid=openid,
        turns=c.transcripts.last(openid, MAX_TURNS),
        handoff=handoff,
        photos=_photos(handoff),
        orders=_orders(openid),
        window_open=window_open(openid, now),
        window_ends=window_ends(openid),
        user=c.services.users.get(openid),
        reply_max=REPLY_MAX,
    )


@bp.route("/conversations/<openid>/reply", methods=["POST"])
@role(AGENT)
def conversation_reply(openid: str):  # noqa: ANN201
    c = console()
    text = form_text("text", REPLY_MAX)
    here = url_for("console.conversation", openid=openid)
    if not text:
        flash("reply_empty", "error")
        return redirect(here)
    now = c.services.clock.now()
    if not window_open(openid, now):
        flash("reply_window_closed", "error")
        return redirect(here)
    try:
        c.services.wechat.send_text(openid, text)
    except WeChatRejected as exc:
        flash("reply_window_closed" if exc.errcode in WINDOW_CLOSED else "reply_rejected",
              "error")
        c.record("reply_failed", openid=openid, errcode=exc.errcode)
        return redirect(here)
    except WeChatError:
        flash("reply_unavailable", "error")
        return redirect(here)
    c.transcripts.add_reply(openid, now, text, g.account.name)
    handoff = c.handoffs.current(openid)
    if handoff is not None:
        c.handoffs.close(handoff.id)
    c.record("reply_sent", openid=openid, text=text, handoff=handoff.id if handoff else "")
    flash("reply_sent", "ok")
    return redirect(here)


@bp.route("/conversations/<openid>/close", methods=["POST"])
@role(AGENT)
def conversation_close(openid: str):  # noqa: ANN201
    c = console()
    handoff = c.handoffs.current(openid)
    if handoff is None:
        abort(404)
    c.handoffs.close(handoff.id)
    c.record("handoff_closed", openid=openid, handoff=handoff.id)
    flash("handoff_closed", "ok")
    return redirect(url_for("console.handoffs"))
