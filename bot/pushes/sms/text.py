"""An SMS in words, by China's rules for notification SMS: it begins with 【sign name】, states
the order number and the key time (absolute: an SMS is often read hours later), is at most 70
characters where that fits (one billed part), and ends with 回T退订.

The body comes from `replies/sms.zh-CN.yaml`; a full version first, its `_short` version when
the full one does not fit. Fields are plain strings (`SmsFields`), shared with the Alibaba Cloud
template parameters so both providers say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.conversation.replies import Replies
from bot.orders.model import timestamp_of

ONE_PART = 70
LANG = "zh-CN"
# The kinds that may go by SMS, each needing the customer to know now (issue: "important").
SMS_KINDS = ("order_shipped", "order_out_for_delivery", "order_delivered", "order_exception",
             "pickup_reminder")
# Alibaba Cloud cuts a template variable longer than this.
PARAM_LIMIT = 35


@dataclass(frozen=True)
class SmsFields:
    """Everything an SMS may say about one order, already in words."""

    order_id: str
    carrier: str = ""
    tracking_no: str = ""
    eta: str = ""               # stored ISO time, "" when unknown
    reason: str = ""            # an exception's reason
    new_eta: str = ""           # an exception's new expected time
    place: str = ""             # pickup point or locker
    code: str = ""              # pickup code
    until: str = ""             # when the pickup point returns the parcel (ISO)
    needs_action: bool = False  # an exception the customer must act on


def sms_time(replies: Replies, iso: str, tz: str) -> str:
    """`12月3日15:00` in the shop's zone; "" for no time."""
    if not iso:
        return ""
    moment = datetime.fromtimestamp(timestamp_of(iso), ZoneInfo(tz))
    return replies.text("sms_time", LANG, month=moment.month, day=moment.day,
                        hhmm=moment.strftime("%H:%M"))


def template_values(replies: Replies, fields: SmsFields, tz: str) -> dict[str, str]:
    """The named values the SMS templates (and Alibaba Cloud's parameters) are filled from."""
    def clause(name: str, iso: str) -> str:
        return replies.text(name, LANG, when=sms_time(replies, iso, tz)) if iso else ""

    new_eta = (clause("sms_new_eta", fields.new_eta) if fields.new_eta
               else replies.text("sms_new_eta_pending", LANG))
    return {
        "order_id": fields.order_id,
        "order_tail": replies.text("sms_order_tail", LANG, tail=fields.order_id[-4:]),
        "carrier": (replies.text(f"carrier_{fields.carrier}", LANG)
                    if fields.carrier and replies.has(f"carrier_{fields.carrier}")
                    else fields.carrier),
        "tracking_no": fields.tracking_no,
        "eta": sms_time(replies, fields.eta, tz),
        "eta_clause": clause("sms_eta", fields.eta),
        "reason": fields.reason,
        "new_eta": sms_time(replies, fields.new_eta, tz),
        "new_eta_clause": new_eta,
        "place": fields.place or replies.text("sms_place_unknown", LANG),
        "code": fields.code,
        "until": sms_time(replies, fields.until, tz),
        "until_clause": clause("sms_until", fields.until),
        "action": replies.text("sms_exception_action_needed" if fields.needs_action
                               else "sms_exception_action", LANG),
    }


def compose(replies: Replies, kind: str, fields: SmsFields, sign_name: str, tz: str) -> str:
    """The full SMS text for `kind`: the full body if the whole fits one part, else the short
    one (even if that is still longer: the facts are never cut)."""
    values = template_values(replies, fields, tz)
    head, tail = f"【{sign_name}】", replies.text("sms_optout_suffix", LANG)
    text = head + replies.text(f"sms_{kind}", LANG, **values) + tail
    if len(text) > ONE_PART and replies.has(f"sms_{kind}_short"):
        shorter = head + replies.text(f"sms_{kind}_short", LANG, **values) + tail
        text = min(text, shorter, key=len)
    return text


def aliyun_params(replies: Replies, fields: SmsFields, tz: str,
                  mapping: dict[str, str]) -> dict[str, str]:
    """Alibaba Cloud template parameters: `mapping` names, per template variable, which value
    fills it (PUSH_TEMPLATES: `sms: {template_code: SMS_1, params: {no: order_id}}`)."""
    values = template_values(replies, fields, tz)
    return {var: values.get(source, "")[:PARAM_LIMIT] for var, source in mapping.items()}
