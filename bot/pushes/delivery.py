"""The push job's body: decide a user's due pushes together, then send one message.

Phase 1, under a short per-user lock: every due push of the user is decided (`policy.decide`);
held and suppressed ones are recorded; the rest are grouped per order (the newest speaks for
the order, older ones are merged into it) and across orders (one message); the rendered
message is written to the outbox in the same transaction that marks its pushes "sending".

Phase 2: the message is claimed (one sender at a time, `CLAIM_TTL`), sent through the first
channel that can carry it, and recorded. A worker killed in between leaves the claim to lapse
and the job (or the scheduler's sweep) to send the same stored message again; template
messages carry a `client_msg_id`, so WeChat itself sends such a retry once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import defaultdict
from typing import Any

import redis

from bot.orders.model import Order
from bot.pushes.channels import ChannelChooser, ChannelFailed, Target
from bot.pushes.follows import FollowStore
from bot.pushes.grants import Grants
from bot.pushes.kinds import ORDER_EXCEPTION, TRANSIT_RHYTHM, kind_of
from bot.pushes.log import FAILED, HELD, MERGED, RETRYING, SENT, SUPPRESSED, PushLog
from bot.pushes.policy import HOLD, SEND, SUPPRESS, Decision, UserView, decide, nothing_new
from bot.pushes.render import Part, PushRenderer
from bot.pushes.settings import PushSettings
from bot.pushes.store import FINAL, PushRecord, PushStore

log = logging.getLogger(__name__)

CLAIM_TTL = 12          # s; longer than a send (5 s timeout) and shorter than a job's requeue
LOCK_TTL = 30
MAX_ATTEMPTS = 6        # sends of one message before it is failed


class RetryLater(Exception):
    """Raised so Dramatiq retries the job with backoff (WeChat busy, network, lock busy)."""


class Delivery:
    def __init__(self, *, redis_client: redis.Redis, clock: Any, orders: Any, users: Any,
                 prefs: Any, store: PushStore, push_log: PushLog, settings: PushSettings,
                 chooser: ChannelChooser, follows: FollowStore, grants: Grants,
                 renderer: PushRenderer, default_lang: str) -> None:
        self.redis = redis_client
        self.clock = clock
        self.orders = orders
        self.users = users
        self.prefs = prefs
        self.store = store
        self.log = push_log
        self.settings = settings
        self.chooser = chooser
        self.follows = follows
        self.grants = grants
        self.renderer = renderer
        self.default_lang = default_lang
        # (push, order, reason) for a push WeChat cannot carry to this user (no consent,
        # unfollowed): the SMS fallback (bot/pushes/sms/fallback.py) may take it.
        self.on_suppressed: Any = None
        # kind → whether the merchant switched it off for the whole shop (bot/pushes/switches).
        self.switched_off: Any = None

    # Entry point ----------------------------------------------------------------------------

    def run(self, push_id: str) -> str:
        """Do what is due for `push_id` (and whatever of its user's pushes is due with it)."""
        rec = self.store.get(push_id)
        if rec is None:
            return "missing"
        if rec.msg:
            return self.send_message(rec.msg)
        if rec.status in FINAL:
            return rec.status
        now = self.clock.now()
        if rec.due_at > now + 0.001:
            return "not due"     # held or delayed: the scheduler enqueues it when due
        lock = self.redis.lock(f"pushes:lock:{rec.openid}", timeout=LOCK_TTL,
                               blocking_timeout=LOCK_TTL)
        if not lock.acquire():
            raise RetryLater("user lock busy")
        try:
            msg_id = self.decide_user(rec.openid, now)
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:
                log.warning("user lock for %s lapsed while deciding", rec.openid)
        if msg_id:
            return self.send_message(msg_id)
        rec = self.store.get(push_id)
        return rec.status if rec else "missing"

    # Phase 1 --------------------------------------------------------------------------------

    def decide_user(self, openid: str, now: float) -> str | None:
        """Decide every due push of `openid`; returns the message to send, if any."""
        records = [r for r in self.store.get_many(self.store.user_due(openid, now))
                   if r.status not in FINAL and not r.msg]
        if not records:
            return None
        user_hash = self.users.get(openid)
        user = UserView(openid, self.prefs.get(openid),
                        following=user_hash.get("following") != "0",
                        followed_orders=set(self.follows.orders(openid)))
        orders: dict[str, Order | None] = {}
        states: dict[str, dict[str, str]] = {}
        pipe = self.redis.pipeline(transaction=True)
        chosen: dict[str, list[tuple[PushRecord, str]]] = defaultdict(list)
        for rec in sorted(records, key=lambda r: (r.version, r.created_at)):
            if rec.order_id not in orders:
                orders[rec.order_id] = self.orders.get(rec.order_id)
                states[rec.order_id] = self.store.order_state(rec.order_id)
            order, state = orders[rec.order_id], states[rec.order_id]
            d = decide(rec, order, user, self.settings, now, state, self.store.exists)
            if d.action != SUPPRESS and self.switched_off is not None \
                    and self.switched_off(d.kind or rec.kind):
                d = Decision(SUPPRESS, "switched_off")
            if d.action == SUPPRESS:
                self._finish(pipe, rec, SUPPRESSED, d.reason, now)
                if self.on_suppressed is not None and order is not None:
                    self.on_suppressed(rec, order, d.reason)
            elif d.action == HOLD:
                if not (rec.status == "held" and rec.due_at == d.until):
                    self.store.hold(rec, d.until, d.reason, pipe)
                    self.log.record(rec.order_id, push_id=rec.push_id, kind=rec.kind,
                                    status=HELD, reason=d.reason, at=now, until=d.until,
                                    pipe=pipe)
            elif d.action == SEND:
                chosen[rec.order_id].append((rec, d.kind))
        parts: list[Part] = []
        members: list[PushRecord] = []
        cap_used = self.store.cap_count(openid, self.settings.day(now))
        for order_id, candidates in chosen.items():
            # The newest push speaks for the order; older ones of it are merged into it.
            rec, kind = candidates[-1]
            order, state = orders[order_id], states[order_id]
            assert order is not None
            for older, _ in candidates[:-1]:
                self._finish(pipe, older, MERGED, "same order, newer state", now,
                             into=rec.push_id)
            if nothing_new(kind, order, state):
                self._finish(pipe, rec, SUPPRESSED, "nothing_new", now)
                continue
            if (not kind_of(kind).cap_exempt and order_id not in user.followed_orders
                    and cap_used >= self.settings.daily_cap):
                self._finish(pipe, rec, SUPPRESSED, "cap", now)
                continue
            if not kind_of(kind).cap_exempt:
                cap_used += 1
            parts.append(Part(rec.push_id, kind, order, rec.data))
            members.append(rec)
        if not parts:
            pipe.execute()
            return None
        lang = user_hash.get("lang") or self.default_lang
        content = self.renderer.message(parts, lang, now)
        content["parts"] = [{"push_id": p.push_id, "kind": p.kind, "order_id": p.order.order_id,
                             "point": p.order.tracking[-1].time if p.order.tracking else "",
                             "exception": _exception_sig(p.order)} for p in parts]
        msg_id = "m:" + members[0].push_id
        self.store.open_message(msg_id, openid, members, content, now, pipe)
        for rec, part in zip(members, parts, strict=True):
            if len(parts) > 1:
                self.log.record(rec.order_id, push_id=rec.push_id, kind=part.kind, status=MERGED,
                                reason=f"{len(parts)} orders in one message", at=now,
                                into=msg_id, pipe=pipe)
        pipe.execute()
        return msg_id

    def _finish(self, pipe: Any, rec: PushRecord, status: str, reason: str, now: float,
                **detail: Any) -> None:
        self.store.finish(rec, status, reason, pipe)
        self.log.record(rec.order_id, push_id=rec.push_id, kind=rec.kind, status=status,
                        reason=reason, at=now, pipe=pipe, **detail)

    # Phase 2 --------------------------------------------------------------------------------

    def send_message(self, msg_id: str) -> str:
        token = secrets.token_hex(8)
        state, attempt = self.store.claim_message(msg_id, token, CLAIM_TTL)
        if state == "busy":
            # Another worker is sending it; if that one dies the claim lapses and the job's
            # retry (or the scheduler's sweep of the outbox) finishes the message.
            raise RetryLater("message being sent by another worker")
        if state != "claimed":
            return state
        message = self.store.message(msg_id)
        assert message is not None
        content, openid = message["content"], message["openid"]
        now = self.clock.now()
        members = self.store.get_many(message["members"])
        user_hash = self.users.get(openid)
        target = Target(
            openid=openid, lang=content["lang"], kind=content["kind"], now=now,
            last_message_at=float(user_hash.get("last_message_at") or 0),
            stopped=self.grants.stopped(openid, float(user_hash.get("subscribed_at") or 0)),
            client_msg_id=hashlib.sha1(msg_id.encode()).hexdigest()[:32],
            quota_until=self._quotas(),
        )
        interrupted = attempt > 1 and not message.get("last_error")
        channels, skipped = self.chooser.candidates(target, content)
        errors: list[str] = []
        for channel in channels:
            try:
                sent = channel.send(target, content)
            except ChannelFailed as failed:
                errors.append(f"{channel.name}:{failed.code}")
                if failed.stop:
                    self.grants.stop(openid, failed.stop, failed.code, now)
                if failed.retry_at:
                    # TTL from the service clock (not Redis's), so an injected clock agrees.
                    self.redis.set(f"pushes:quota:{channel.name}", repr(failed.retry_at),
                                   ex=max(1, int(failed.retry_at - now) + 1))
                if failed.retry:
                    return self._retry(msg_id, message, members, channel.name, failed, attempt,
                                       now)
                if failed.next_channel:
                    continue
                return self._fail(msg_id, members, channel.name, failed.code, failed.reason, now)
            return self._sent(msg_id, message, members, sent.channel, sent.msg_id, now,
                              interrupted)
        if any(c.startswith(("kf:45009", "template:45009", "subscribe:45009", "sms:night"))
               for c in errors) \
                or (not channels and target.quota_until):
            return self._defer(msg_id, members, min(self._quotas().values() or [now + 3600]),
                               now)
        reason = "; ".join(errors) or "; ".join(f"{k}: {v}" for k, v in skipped.items())
        code = errors[-1].split(":", 1)[1] if errors else "no_channel"
        return self._fail(msg_id, members, "", code, reason, now)

    def _quotas(self) -> dict[str, float]:
        out = {}
        for channel in self.chooser.channels:
            until = self.redis.get(f"pushes:quota:{channel.name}")
            if until:
                out[channel.name] = float(until)
        return out

    def _sent(self, msg_id: str, message: dict[str, Any], members: list[PushRecord],
              channel: str, wechat_msgid: str, now: float, interrupted: bool) -> str:
        content, openid = message["content"], message["openid"]
        pipe = self.redis.pipeline(transaction=True)
        self.store.close_message(msg_id, "sent", pipe, channel=channel, wechat_msgid=wechat_msgid,
                                 sent_at=repr(now))
        parts = {p["push_id"]: p for p in content.get("parts", [])}
        day = self.settings.day(now)
        for rec in members:
            part = parts.get(rec.push_id, {})
            kind = part.get("kind", rec.kind)
            self.store.finish(rec, "sent", "", pipe, channel=channel, sent_at=repr(now))
            self.log.record(rec.order_id, push_id=rec.push_id, kind=kind, status=SENT,
                            channel=channel, at=now, pipe=pipe, msg_id=msg_id,
                            wechat_msgid=wechat_msgid,
                            reason="resent after an interrupted attempt" if interrupted else "")
            state = {"last_sent_at": repr(now), "last_kind": kind}
            if kind in TRANSIT_RHYTHM:
                state["last_transit_at"] = repr(now)
            if part.get("point"):
                state["last_point"] = part["point"]
            if kind == ORDER_EXCEPTION:
                state["exception_sig"] = part.get("exception", "")
            self.store.set_order_state(rec.order_id, pipe, **state)
            if not kind_of(kind).cap_exempt:
                pipe.incr(self.store.cap_key(openid, day))
                pipe.expire(self.store.cap_key(openid, day), 2 * 86_400)
        if channel == "kf":
            user_hash = self.users.get(openid)
            window = str(int(float(user_hash.get("last_message_at") or 0)))
            pipe.incr(self.store.kf_key(openid, window))
            pipe.expire(self.store.kf_key(openid, window), 3 * 86_400)
        if wechat_msgid:
            pipe.set(f"pushes:wxmsg:{wechat_msgid}", msg_id, ex=7 * 86_400)
        pipe.execute()
        return "sent"

    def _retry(self, msg_id: str, message: dict[str, Any], members: list[PushRecord],
               channel: str, failed: ChannelFailed, attempt: int, now: float) -> str:
        if attempt >= MAX_ATTEMPTS:
            return self._fail(msg_id, members, channel, failed.code,
                              f"{failed.reason} (after {attempt} attempts)", now)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(f"pushes:m:{msg_id}", "last_error", f"{channel}:{failed.code}")
        for rec in members:
            self.log.record(rec.order_id, push_id=rec.push_id, kind=rec.kind, status=RETRYING,
                            channel=channel, reason=failed.reason, code=failed.code, at=now,
                            attempt=attempt, pipe=pipe)
        pipe.execute()
        self.store.release_claim(msg_id)
        raise RetryLater(f"{channel} {failed.code}")

    def _fail(self, msg_id: str, members: list[PushRecord], channel: str, code: str,
              reason: str, now: float) -> str:
        pipe = self.redis.pipeline(transaction=True)
        self.store.close_message(msg_id, "failed", pipe, error=code)
        for rec in members:
            self.store.finish(rec, "failed", reason, pipe, code=code)
            self.log.record(rec.order_id, push_id=rec.push_id, kind=rec.kind, status=FAILED,
                            channel=channel, reason=reason, code=code, at=now, pipe=pipe)
        pipe.execute()
        return "failed"

    def _defer(self, msg_id: str, members: list[PushRecord], until: float, now: float) -> str:
        """Every channel's quota is used (45009): the pushes wait for the reset and are then
        decided and rendered again."""
        pipe = self.redis.pipeline(transaction=True)
        self.store.close_message(msg_id, "deferred", pipe)
        for rec in members:
            pipe.hdel(f"pushes:p:{rec.push_id}", "msg")
            self.store.hold(rec, until, "quota", pipe)
            self.log.record(rec.order_id, push_id=rec.push_id, kind=rec.kind, status=HELD,
                            reason="quota", at=now, until=until, pipe=pipe)
        pipe.execute()
        return "held"


def _exception_sig(order: Order) -> str:
    return f"{order.exception_reason}|{order.exception_new_eta}"
