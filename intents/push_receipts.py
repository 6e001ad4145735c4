"""WeChat's events about our pushes: delivery receipts and one-time subscribe choices. They are
recorded (for support staff) and fed to the push log and grants; nothing is answered."""

from __future__ import annotations

from bot.conversation.context import MessageContext
from bot.conversation.handlers import Handler
from bot.pushes.receipts import Receipts


def push_event(ctx: MessageContext) -> None:
    services, msg = ctx.services, ctx.msg
    now = services.clock.now()
    receipts = Receipts(services.redis, services.config.timezone)
    detail: dict[str, object] = {}
    if msg.event == "templatesendjobfinish":
        detail = {"status": msg.raw.get("Status"), "msg_id": msg.raw.get("MsgID")}
        receipts.template_finished(ctx.openid, msg.raw, now)
    elif msg.event == "subscribe_msg_sent_event":
        detail = {"messages": receipts.subscribe_sent(msg.raw, now)}
    else:   # subscribe_msg_popup_event, subscribe_msg_change_event
        detail = {"granted": receipts.popup(ctx.openid, msg.raw)}
    services.users.record_event(ctx.openid, msg.event, now, **detail)
    return None


HANDLERS = [
    Handler(name="push_events", handle=push_event,
            events=("templatesendjobfinish", "subscribe_msg_popup_event",
                    "subscribe_msg_change_event", "subscribe_msg_sent_event")),
]
