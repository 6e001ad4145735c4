"""SMS where WeChat cannot reach: the important kinds (shipped, out for delivery, delivered
with a pickup code, exceptions, pickup reminders) go to the order's phone when

- the order has no openid (bought on the web, on the phone): from the change stream;
- the user cannot get WeChat pushes (no consent asked or answered yet, unfollowed): when the
  pipeline suppresses the push for that reason;
- no WeChat channel can carry it (outside the 48-hour window with no template, channels
  stopped by WeChat): `SmsChannel`, the last channel of the pipeline's chooser.

A user who turned notifications off, or refused them, gets no SMS either. Each SMS is keyed by
its push id (`order:kind:version`), so whichever path sends it, it goes once. Decisions are
written to the push log with channel `sms`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.orders.model import Order
from bot.pushes.channels import ChannelFailed, Sent, Target
from bot.pushes.kinds import STATUS_KIND, push_id, version_of
from bot.pushes.log import FAILED, HELD, SENT, SUPPRESSED, PushLog
from bot.pushes.planner import exception_sig, plan_change
from bot.pushes.preferences import CONSENT_REFUSED, PreferenceStore
from bot.pushes.sms import sender as sms_sender
from bot.pushes.sms.kit import SmsKit
from bot.pushes.sms.provider import SmsError
from bot.pushes.sms.text import SMS_KINDS, SmsFields
from bot.pushes.store import PushStore
from bot.pushes.switches import Switches
from bot.pushes.watch.scans import pickup_of

log = logging.getLogger(__name__)

CHANNEL = "sms"
# Why the pipeline did not push that SMS may stand in for.
WECHAT_UNREACHABLE = frozenset({"consent", "unfollowed"})

# (order id, kind, version, data, delay seconds) → a `deliver_sms` job.
EnqueueSms = Callable[[str, str, int, dict[str, str], float], None]


class SmsFallback:
    def __init__(self, kit: SmsKit, orders: Any, prefs: PreferenceStore, push_log: PushLog,
                 store: PushStore, switches: Switches, clock: Any,
                 enqueue: EnqueueSms | None = None) -> None:
        self.kit = kit
        self.orders = orders
        self.prefs = prefs
        self.log = push_log
        self.store = store
        self.switches = switches
        self.clock = clock
        self.enqueue = enqueue

    # Which pushes ---------------------------------------------------------------------------

    def fields(self, order: Order, kind: str, data: dict[str, str] | None = None) -> SmsFields:
        data = data or {}
        pickup = pickup_of(order) if kind in ("order_delivered", "pickup_reminder") else None
        until = data.get("until") or order.pickup_until
        return SmsFields(
            order_id=order.order_id, carrier=order.carrier, tracking_no=order.tracking_no,
            eta=order.eta, reason=order.exception_reason, new_eta=order.exception_new_eta,
            place=pickup.place if pickup else "", code=pickup.code if pickup else "",
            until=until if pickup else "",
            needs_action=kind == "order_exception"
            and self.kit.needs_action(order.exception_reason),
        )

    def refusal(self, order: Order, kind: str) -> str | None:
        """None if `kind` may go by SMS for `order`, else why not."""
        why = self.kit.sender.would_send(order.phone, kind)
        if why:
            return why
        if kind == "order_delivered" and pickup_of(order) is None:
            return "not_sms_kind"      # a door delivery needs nothing of the customer
        if order.openid:
            prefs = self.prefs.get(order.openid)
            if prefs.consent == CONSENT_REFUSED or not prefs.notify:
                return "preference"
        return None

    # Paths in -------------------------------------------------------------------------------

    def on_change(self, fields: dict[str, str]) -> None:
        """A change of an order with no openid: the SMS kinds it calls for go by SMS."""
        if fields.get("openid") or not self.enqueue:
            return
        order_id = fields.get("order_id", "")
        state = self.store.order_state(order_id) if order_id else {}
        for planned in plan_change({**fields, "openid": "-"},
                                   state.get("planned_exception", "")):
            if planned.kind not in SMS_KINDS:
                continue
            if planned.kind == "order_exception":
                pipe = self.store.redis.pipeline(transaction=False)
                self.store.set_order_state(order_id, pipe,
                                           planned_exception=exception_sig(fields))
                pipe.execute()
            self.enqueue(order_id, planned.kind, planned.version, {}, 0.0)

    def on_suppressed(self, rec: Any, order: Order, reason: str) -> None:
        """The pipeline will not push this to WeChat for `reason`."""
        if reason in WECHAT_UNREACHABLE and rec.kind in SMS_KINDS and self.enqueue:
            self.enqueue(order.order_id, rec.kind, rec.version, dict(rec.data or {}), 0.0)

    def on_finding(self, order: Order, kind: str, version: int, data: dict[str, str],
                   due: float) -> None:
        """A scan's finding about an order with no openid."""
        if kind in SMS_KINDS and self.enqueue:
            self.enqueue(order.order_id, kind, version, data, max(due - self.clock.now(), 0.0))

    # The job --------------------------------------------------------------------------------

    def run(self, order_id: str, kind: str, version: int, data: dict[str, str]) -> str:
        """The `deliver_sms` job: decide and send one SMS, log it; raises SmsError for a
        retry. Returns the status."""
        now = self.clock.now()
        pid = push_id(order_id, kind, version)
        order = self.orders.get(order_id)
        if order is None or self._stale(order, kind, version):
            return self._record(order_id, pid, kind, SUPPRESSED, "stale", now)
        if not self.switches.is_on(kind):
            return self._record(order_id, pid, kind, SUPPRESSED, "switched_off", now)
        why = self.refusal(order, kind)
        if why:
            return self._record(order_id, pid, kind, SUPPRESSED, why, now)
        request = sms_sender.SmsRequest(order.phone, kind, self.fields(order, kind, data), pid)
        try:
            outcome = self.kit.sender.send(request)
        except SmsError as exc:
            self.log.record(order_id, push_id=pid, kind=kind, status="retrying",
                            channel=CHANNEL, reason=exc.code, at=now)
            raise
        if outcome.status == sms_sender.HELD and outcome.until is not None:
            self._record(order_id, pid, kind, HELD, outcome.reason, now, until=outcome.until)
            if self.enqueue:
                self.enqueue(order_id, kind, version, data, max(outcome.until - now, 0.0))
            return HELD
        if outcome.status == sms_sender.SENT and outcome.reason == "duplicate":
            return SENT
        status = {sms_sender.SENT: SENT, sms_sender.FAILED: FAILED}.get(outcome.status,
                                                                        SUPPRESSED)
        return self._record(order_id, pid, kind, status, outcome.reason, now,
                            provider_id=outcome.provider_id)

    def _stale(self, order: Order, kind: str, version: int) -> bool:
        from bot.pushes.kinds import kind_of

        spec = kind_of(kind)
        if spec.holds is not None:
            return not spec.holds(order, version)
        # A status kind speaks for its status only while the order is still there.
        return kind in STATUS_KIND.values() and version < version_of(order) \
            and STATUS_KIND.get(order.status) != kind

    def _record(self, order_id: str, pid: str, kind: str, status: str, reason: str,
                now: float, **detail: Any) -> str:
        self.log.record(order_id, push_id=pid, kind=kind, status=status, channel=CHANNEL,
                        reason=reason, at=now, **detail)
        return status


class SmsChannel:
    """The pipeline's last channel: when no WeChat channel can carry an important push."""

    name = CHANNEL

    def __init__(self, fallback: SmsFallback) -> None:
        self.fallback = fallback

    def _single(self, message: dict[str, Any]) -> tuple[Order, dict[str, Any]] | str:
        parts = message.get("parts") or []
        if message.get("kind") not in SMS_KINDS or len(parts) != 1:
            return "not_sms_kind"
        order = self.fallback.orders.get(parts[0]["order_id"])
        if order is None:
            return "no_order"
        return order, parts[0]

    def offer(self, target: Target, message: dict[str, Any]) -> str | None:
        found = self._single(message)
        if isinstance(found, str):
            return found
        order, part = found
        return self.fallback.refusal(order, part["kind"])

    def send(self, target: Target, message: dict[str, Any]) -> Sent:
        found = self._single(message)
        if isinstance(found, str):
            raise ChannelFailed(found, "not an SMS push")
        order, part = found
        kind, pid = part["kind"], part["push_id"]
        request = sms_sender.SmsRequest(order.phone, kind,
                                        self.fallback.fields(order, kind), pid)
        try:
            outcome = self.fallback.kit.sender.send(request)
        except SmsError as exc:
            raise ChannelFailed(exc.code, "SMS provider", retry=True, next_channel=False) \
                from exc
        if outcome.status == sms_sender.SENT:
            return Sent(CHANNEL, outcome.provider_id)
        if outcome.status == sms_sender.HELD and outcome.until is not None:
            # Night for SMS: the push waits for the morning like a quota (delivery's _defer).
            raise ChannelFailed("night", "no SMS at night", retry_at=outcome.until)
        raise ChannelFailed(outcome.reason or outcome.status, "SMS not sent")
