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
from dataclasses import dataclass
from typing import Any

import redis

from bot.orders.model import Order
from bot.orders.store import order_key
from bot.pushes.channels import ChannelChooser, ChannelFailed, Target
from bot.pushes.follows import FollowStore
from bot.pushes.grants import Grants
from bot.pushes.kinds import ORDER_EXCEPTION, TRANSIT_RHYTHM, kind_of
from bot.pushes.log import FAILED, HELD, MERGED, RETRYING, SENT, SUPPRESSED, PushLog
from bot.pushes.policy import HOLD, SEND, SUPPRESS, Decision, UserView, decide, nothing_new
from bot.pushes.preferences import Preferences, PreferenceStore
from bot.pushes.render import Part, PushRenderer
from bot.pushes.settings import PushSettings
from bot.pushes.settings_store import PushSettingsStore
from bot.pushes.store import FINAL, PushRecord, PushStore, record_key, user_key

log = logging.getLogger(__name__)

CLAIM_TTL = 12          # s; longer than a send (5 s timeout) and shorter than a job's requeue
LOCK_TTL = 30
MAX_ATTEMPTS = 6        # sends of one message before it is failed


# Release the user's decision lock only if it is still ours.
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RetryLater(Exception):
    """Raised so Dramatiq retries the job with backoff (WeChat busy, network, lock busy)."""


class Delivery:
    def __init__(self, *, redis_client: redis.Redis, clock: Any, orders: Any, users: Any,
                 prefs: Any, store: PushStore, push_log: PushLog, settings: PushSettings,
                 chooser: ChannelChooser, follows: FollowStore, grants: Grants,
                 renderer: PushRenderer, default_lang: str,
                 rules: PushSettingsStore | None = None) -> None:
        self.redis = redis_client
        self.clock = clock
        self.orders = orders
        self.users = users
        self.prefs = prefs
        self.store = store
        self.log = push_log
        self.settings = settings
        # Quiet hours, cap and interval as the merchant set them (read at most every 0.5 s).
        self.rules = rules or PushSettingsStore(redis_client, settings)
        self.chooser = chooser
        self.follows = follows
        self.grants = grants
        self.renderer = renderer
        self.default_lang = default_lang
        self._unlock = redis_client.register_script(_UNLOCK)
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
            if rec.due_at - now <= 5:
                raise RetryLater("not due yet")     # a delayed job that woke a little early
            return "not due"     # held or delayed: the scheduler enqueues it when due
        token = secrets.token_hex(8)
        user = self._read_user(rec.openid, now, lock=token)
        if user is None:
            raise RetryLater("user lock busy")
        try:
            opened = self.decide_user(user, now, unlock=token)
        except BaseException:
            self._unlock(keys=[_lock_key(rec.openid)], args=[token])
            raise
        if opened:
            msg_id, message, members = opened
            return self.send_message(msg_id, message=message, members=members, user=user)
        rec = self.store.get(push_id)
        return rec.status if rec else "missing"

    # Reads, batched: a push costs a handful of round trips, not one per fact ------------------

    def _read_user(self, openid: str, now: float, lock: str = "") -> UserSnapshot | None:
        """Everything the rules and channels need to know of the user, in one round trip;
        with `lock`, the user's decision lock is taken first in the same trip (None: busy)."""
        pipe = self.redis.pipeline(transaction=False)
        if lock:
            pipe.set(_lock_key(openid), lock, nx=True, ex=LOCK_TTL)
        # Pushes due within the merge delay go with this one: several orders changing
        # together become one message.
        pipe.zrangebyscore(user_key(openid), "-inf", repr(now + self.settings.merge_delay))
        pipe.hgetall(self.users.key(openid))
        pipe.hgetall(PreferenceStore.key(openid))
        pipe.smembers(self.follows.key(openid))
        pipe.get(self.store.cap_key(openid, self.settings.day(now)))
        pipe.hgetall(self.grants.stop_key(openid))
        names = [c.name for c in self.chooser.channels]
        for name in names:
            pipe.get(f"pushes:quota:{name}")
        out = pipe.execute()
        if lock:
            if not out[0]:
                return None
            out = out[1:]
        due, user_hash, prefs, follows, cap, stops = out[:6]
        quotas = {name: float(v) for name, v in zip(names, out[6:], strict=True) if v}
        return UserSnapshot(openid=openid, due=due, user_hash=user_hash,
                            prefs=PreferenceStore.from_hash(prefs), followed=set(follows),
                            cap_used=int(cap or 0), raw_stops=stops, quotas=quotas)

    # Phase 1 --------------------------------------------------------------------------------

    def decide_user(self, user: UserSnapshot, now: float,
                    unlock: str = "") -> tuple[str, dict[str, Any], list[PushRecord]] | None:
        """Decide every due push of the user; returns the message to send, if any. The
        decision lock (`unlock` = its token) is released in the same transaction."""
        openid = user.openid
        rules = self.rules.current()
        pipe = self.redis.pipeline(transaction=False)
        for pid in user.due:
            pipe.hgetall(record_key(pid))
        order_ids = sorted({pid.split(":", 1)[0] for pid in user.due})
        for order_id in order_ids:
            pipe.hgetall(order_key(order_id))
            pipe.hgetall(f"pushes:order:{order_id}")
        pipe.get(self.store.kf_key(openid, _window(user.user_hash)))
        raw = pipe.execute()
        n = len(user.due)
        records = [rec for pid, fields in zip(user.due, raw[:n], strict=True)
                   if (rec := PushRecord.from_hash(pid, fields)) is not None
                   and rec.status not in FINAL and not rec.msg]
        orders: dict[str, Order | None] = {}
        states: dict[str, dict[str, str]] = {}
        for i, order_id in enumerate(order_ids):
            orders[order_id] = Order.from_hash(order_id, raw[n + 2 * i])
            states[order_id] = raw[n + 2 * i + 1]
        user.kf_used = int(raw[-1] or 0)
        view = UserView(openid, user.prefs, following=user.user_hash.get("following") != "0",
                        followed_orders=user.followed)
        pipe = self.redis.pipeline(transaction=True)
        chosen: dict[str, list[tuple[PushRecord, str]]] = defaultdict(list)
        for rec in sorted(records, key=lambda r: (r.version, r.created_at)):
            order = orders.get(rec.order_id)
            state = states.get(rec.order_id, {})
            d = decide(rec, order, view, rules, now, state, self.store.exists)
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
        cap_used = user.cap_used
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
            if (not kind_of(kind).cap_exempt and order_id not in user.followed
                    and cap_used >= rules.daily_cap):
                self._finish(pipe, rec, SUPPRESSED, "cap", now)
                continue
            if not kind_of(kind).cap_exempt:
                cap_used += 1
            parts.append(Part(rec.push_id, kind, order, rec.data))
            members.append(rec)
        opened = None
        if parts:
            lang = user.user_hash.get("lang") or self.default_lang
            content = self.renderer.message(parts, lang, now)
            content["parts"] = [{"push_id": p.push_id, "kind": p.kind,
                                 "order_id": p.order.order_id,
                                 "point": p.order.tracking[-1].time if p.order.tracking else "",
                                 "exception": _exception_sig(p.order)} for p in parts]
            msg_id = "m:" + members[0].push_id
            self.store.open_message(msg_id, openid, members, content, now, pipe)
            if len(parts) > 1:
                for rec, part in zip(members, parts, strict=True):
                    self.log.record(rec.order_id, push_id=rec.push_id, kind=part.kind,
                                    status=MERGED, reason=f"{len(parts)} orders in one message",
                                    at=now, into=msg_id, pipe=pipe,
                                    outcome=False)   # a step: its outcome is the message's
            opened = (msg_id, {"openid": openid, "content": content, "attempts": 0,
                               "members": [m.push_id for m in members]}, members)
        if unlock:
            # EVAL, not EVALSHA: a pipeline would first ask SCRIPT EXISTS (a round trip).
            pipe.eval(_UNLOCK, 1, _lock_key(openid), unlock)
        self.log.execute(pipe)
        return opened

    def _finish(self, pipe: Any, rec: PushRecord, status: str, reason: str, now: float,
                **detail: Any) -> None:
        self.store.finish(rec, status, reason, pipe)
        self.log.record(rec.order_id, push_id=rec.push_id, kind=rec.kind, status=status,
                        reason=reason, at=now, pipe=pipe, **detail)

    # Phase 2 --------------------------------------------------------------------------------

    def send_message(self, msg_id: str, *, message: dict[str, Any] | None = None,
                     members: list[PushRecord] | None = None,
                     user: UserSnapshot | None = None) -> str:
        """Claim and send one outbox message (`message`, `members`, `user`: already known to
        the job that just opened it; read otherwise)."""
        token = secrets.token_hex(8)
        state, attempt = self.store.claim_message(msg_id, token, CLAIM_TTL)
        if state == "busy":
            # Another worker is sending it; if that one dies the claim lapses and the job's
            # retry (or the scheduler's sweep of the outbox) finishes the message.
            raise RetryLater("message being sent by another worker")
        if state != "claimed":
            return state
        now = self.clock.now()
        if message is None or attempt > 1:
            message = self.store.message(msg_id)
            assert message is not None
            members = None
        openid, content = message["openid"], message["content"]
        if members is None:
            members = self.store.get_many(message["members"])
        if user is None:
            user = self._read_user(openid, now)
            assert user is not None
            user.kf_used = self.store.kf_count(openid, _window(user.user_hash))
        target = Target(
            openid=openid, lang=content["lang"], kind=content["kind"], now=now,
            last_message_at=float(user.user_hash.get("last_message_at") or 0),
            stopped=self.grants.stopped(openid, float(user.user_hash.get("subscribed_at") or 0),
                                        user.raw_stops),
            client_msg_id=hashlib.sha1(msg_id.encode()).hexdigest()[:32],
            quota_until=user.quotas, kf_used=user.kf_used,
        )
        interrupted = attempt > 1 and not message.get("last_error")
        channels, skipped = self.chooser.candidates(target, content)
        errors: list[str] = []
        quota_hit = False
        for channel in channels:
            try:
                sent = channel.send(target, content)
            except ChannelFailed as failed:
                errors.append(f"{channel.name}:{failed.code}")
                if failed.stop:
                    self.grants.stop(openid, failed.stop, failed.code, now)
                if failed.retry_at:
                    quota_hit = True
                    target.quota_until[channel.name] = failed.retry_at
                    # TTL from the service clock (not Redis's), so an injected clock agrees.
                    self.redis.set(f"pushes:quota:{channel.name}", repr(failed.retry_at),
                                   ex=max(1, int(failed.retry_at - now) + 1))
                if failed.retry:
                    return self._retry(msg_id, members, channel.name, failed, attempt, now)
                if failed.next_channel:
                    continue
                return self._fail(msg_id, members, channel.name, failed.code, failed.reason, now)
            return self._sent(msg_id, message, members, sent.channel, sent.msg_id, now,
                              interrupted, _window(user.user_hash))
        waiting = {k: v for k, v in target.quota_until.items() if v > now}
        if quota_hit or (waiting and not channels):
            return self._defer(msg_id, members, min(waiting.values()), now)
        reason = "; ".join(errors) or "; ".join(f"{k}: {v}" for k, v in skipped.items())
        code = errors[-1].split(":", 1)[1] if errors else "no_channel"
        return self._fail(msg_id, members, "", code, reason, now)

    def _sent(self, msg_id: str, message: dict[str, Any], members: list[PushRecord],
              channel: str, wechat_msgid: str, now: float, interrupted: bool,
              window: str) -> str:
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
            pipe.incr(self.store.kf_key(openid, window))
            pipe.expire(self.store.kf_key(openid, window), 3 * 86_400)
        if wechat_msgid:
            pipe.set(f"pushes:wxmsg:{wechat_msgid}", msg_id, ex=7 * 86_400)
        self.log.execute(pipe)
        return "sent"

    def _retry(self, msg_id: str, members: list[PushRecord], channel: str,
               failed: ChannelFailed, attempt: int, now: float) -> str:
        if attempt >= MAX_ATTEMPTS:
            return self._fail(msg_id, members, channel, failed.code,
                              f"{failed.reason} (after {attempt} attempts)", now)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(f"pushes:m:{msg_id}", "last_error", f"{channel}:{failed.code}")
        for rec in members:
            self.log.record(rec.order_id, push_id=rec.push_id, kind=rec.kind, status=RETRYING,
                            channel=channel, reason=failed.reason, code=failed.code, at=now,
                            attempt=attempt, pipe=pipe)
        self.log.execute(pipe)
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
        self.log.execute(pipe)
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
        self.log.execute(pipe)
        return "held"


@dataclass
class UserSnapshot:
    """The user as one round trip read them."""

    openid: str
    due: list[str]
    user_hash: dict[str, str]
    prefs: Preferences
    followed: set[str]
    cap_used: int
    raw_stops: dict[str, str]
    quotas: dict[str, float]
    kf_used: int = 0


def _lock_key(openid: str) -> str:
    return f"pushes:lock:{openid}"


def _window(user_hash: dict[str, str]) -> str:
    """The user's current 48-hour window, named by when it opened."""
    return str(int(float(user_hash.get("last_message_at") or 0)))


def _exception_sig(order: Order) -> str:
    return f"{order.exception_reason}|{order.exception_new_eta}"
