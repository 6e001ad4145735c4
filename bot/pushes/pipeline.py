"""`PushPipeline`: the push machinery built once per process from its `Services`.

The web app uses it to create the consumer group; the worker to consume changes, run the
leader's scheduler and deliver pushes; the CLI to show, count and preview. Other features
(SMS fallback, scans) reach pushes through `enqueue`, `chooser` and `scheduler`.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from bot.orders.model import Order
from bot.orders.validation import parse_event
from bot.pushes.channels import (
    ChannelChooser,
    KfChannel,
    SubscribeChannel,
    Target,
    TemplateChannel,
)
from bot.pushes.consumer import ChangeConsumer, ensure_group
from bot.pushes.delivery import CLAIM_TTL, Delivery
from bot.pushes.follows import FollowStore
from bot.pushes.grants import Grants
from bot.pushes.kinds import push_id
from bot.pushes.log import QUEUED, PushLog
from bot.pushes.planner import exception_sig, plan_change
from bot.pushes.policy import UserView, decide
from bot.pushes.render import Part, PushRenderer
from bot.pushes.scheduler import Scheduler
from bot.pushes.settings import PushSettings
from bot.pushes.settings_store import PushSettingsStore
from bot.pushes.stats import PushStats
from bot.pushes.store import PushRecord, PushStore
from bot.pushes.templates import PushTemplates

log = logging.getLogger(__name__)

# A push due within this long is handed to Dramatiq with a delay; later ones wait in the due
# index for the scheduler's sweep.
DIRECT = 60.0
# A push handed to a job is swept (enqueued again) only if still undecided this long after it
# was due: its job was lost. Dramatiq requeues a dead worker's jobs within ~15 s itself.
SWEEP_GRACE = 60.0

EnqueueJob = Callable[[str, float], None]   # (push id, delay in seconds)


class PushPipeline:
    def __init__(self, services: Any, enqueue_job: EnqueueJob | None = None) -> None:
        self.services = services
        config = services.config
        self.redis = services.redis
        self.clock = services.clock
        self.settings = PushSettings.from_config(config)
        # The merchant's overrides of quiet hours, cap and interval (console, CLI).
        self.rules = PushSettingsStore(self.redis, self.settings)
        self.store = PushStore(self.redis)
        self.log = PushLog(self.redis, config.timezone)
        self.stats = PushStats(self.redis, config.timezone)
        self.follows = FollowStore(self.redis)
        self.grants = Grants(self.redis)
        self.templates = PushTemplates.load(self.settings.templates_path)
        self.renderer = PushRenderer(services.replies, config.timezone, services.orders.link)
        reset = self.settings.next_midnight
        self.chooser = ChannelChooser()
        if services.wechat is not None:
            self.chooser.add(KfChannel(services.wechat, self.store, self.settings.kf_quota,
                                       reset))
            self.chooser.add(TemplateChannel(services.wechat, self.templates, reset))
            self.chooser.add(SubscribeChannel(services.wechat, self.templates, self.grants,
                                              reset))
        self.delivery = Delivery(
            redis_client=self.redis, clock=self.clock, orders=services.orders,
            users=services.users, prefs=services.prefs, store=self.store, push_log=self.log,
            settings=self.settings, chooser=self.chooser, follows=self.follows,
            grants=self.grants, renderer=self.renderer, default_lang=config.default_lang,
            rules=self.rules)
        name = f"{socket.gethostname()}-{os.getpid()}"
        self.scheduler = Scheduler(self.redis, name)
        self.scheduler.every("due_pushes", 1.0, self.sweep)
        self.consumer_name = name
        self._enqueue_job = enqueue_job
        # Other features' hooks: each change entry after planning (the SMS fallback takes
        # orders with no openid), and when a planned push should go (the best hour).
        self.change_listeners: list[Callable[[dict[str, str]], object]] = []
        self.placer: Callable[[str, str, float], float] | None = None

    def bind_jobs(self, enqueue_job: EnqueueJob) -> None:
        self._enqueue_job = enqueue_job

    # In ---------------------------------------------------------------------------------------

    def ensure_group(self, create_stream: bool = True) -> None:
        ensure_group(self.redis, create_stream)

    def consumer(self, n: int = 0, **kw: Any) -> ChangeConsumer:
        """Consumer `n` of this process (each thread reads as its own group member)."""
        return ChangeConsumer(self.redis, f"{self.consumer_name}-{n}", self.handle_changes,
                              **kw)

    def handle_change(self, fields: dict[str, str]) -> list[str]:
        """Plan and enqueue the pushes of one `orders:changes` entry; their ids."""
        return self.handle_changes([fields])

    def handle_changes(self, batch: list[dict[str, str]]) -> list[str]:
        """Plan and enqueue the pushes of a batch of entries in a few round trips."""
        exceptions = sorted({f.get("order_id", "") for f in batch
                             if f.get("new_status") == "exception" and f.get("order_id")})
        last_exception: dict[str, str] = {}
        if exceptions:
            pipe = self.redis.pipeline(transaction=False)
            for order_id in exceptions:
                pipe.hget(f"pushes:order:{order_id}", "planned_exception")
            last_exception = {o: v or "" for o, v in zip(exceptions, pipe.execute(),
                                                           strict=True)}
        planned = []
        for fields in batch:
            order_id = fields.get("order_id", "")
            for plan in plan_change(fields, last_exception.get(order_id, "")):
                if plan.kind == "order_exception":
                    last_exception[order_id] = exception_sig(fields)
                planned.append(plan)
        for listener in self.change_listeners:
            for fields in batch:
                listener(fields)
        if not planned:
            return []
        now = self.clock.now()
        due = now + self.settings.merge_delay
        direct = self._enqueue_job is not None
        # Placed later (the user's best hour): left to the sweep, like a held push.
        placed = {id(p): self.placer(p.kind, p.openid, now) if self.placer else now
                  for p in planned}
        later = {key for key, at in placed.items() if at > due}
        pipe = self.redis.pipeline(transaction=False)
        for order_id, sig in last_exception.items():
            if order_id in exceptions:
                self.store.set_order_state(order_id, pipe, planned_exception=sig)
        ids = [push_id(p.order_id, p.kind, p.version) for p in planned]
        for pid, plan in zip(ids, planned, strict=True):
            if id(plan) in later:
                at = placed[id(plan)]
                self.store.create(pid, order_id=plan.order_id, openid=plan.openid,
                                  kind=plan.kind, version=plan.version, due_at=at,
                                  created_at=now, sweep_at=at, pipe=pipe)
                continue
            self.store.create(pid, order_id=plan.order_id, openid=plan.openid, kind=plan.kind,
                              version=plan.version, due_at=due, created_at=now,
                              sweep_at=due + SWEEP_GRACE if direct else due, pipe=pipe)
        created_flags = pipe.execute()[-len(planned):]
        created = [(pid, plan) for pid, plan, ok in zip(ids, planned, created_flags,
                                                         strict=True) if ok]
        if created:
            pipe = self.redis.pipeline(transaction=False)
            for pid, plan in created:
                self.log.record(plan.order_id, push_id=pid, kind=plan.kind, status=QUEUED,
                                at=now, pipe=pipe)
            self.log.execute(pipe)
            if self._enqueue_job is not None:
                for pid, plan in created:
                    if id(plan) not in later:
                        self._enqueue_job(pid, self.settings.merge_delay)
        return [pid for pid, _ in created]

    def enqueue(self, order_id: str, kind: str, version: int, *, openid: str | None = None,
                due_at: float | None = None, reason: str = "",
                data: dict[str, str] | None = None) -> str | None:
        """Record a push and hand it to a job; None when this (order, kind, version) exists."""
        if openid is None:
            order = self.services.orders.get(order_id)
            if order is None or not order.openid:
                return None
            openid = order.openid
        now = self.clock.now()
        due = due_at if due_at is not None else now + self.settings.merge_delay
        pid = push_id(order_id, kind, version)
        direct = due - now <= DIRECT and self._enqueue_job is not None
        if not self.store.create(pid, order_id=order_id, openid=openid, kind=kind,
                                 version=version, due_at=due, created_at=now, data=data,
                                 reason=reason, sweep_at=due + SWEEP_GRACE if direct else due):
            return None
        self.log.record(order_id, push_id=pid, kind=kind, status=QUEUED, at=now, reason=reason)
        if direct:
            assert self._enqueue_job is not None
            self._enqueue_job(pid, max(due - now, 0.0))
        return pid

    # Out --------------------------------------------------------------------------------------

    def deliver(self, pid: str) -> str:
        return self.delivery.run(pid)

    def sweep(self, now: float | None = None) -> int:
        """The leader's periodic task: enqueue held and delayed pushes that are now due, and
        finish messages a dead worker left in the outbox."""
        now = self.clock.now() if now is None else now
        if self._enqueue_job is None:
            return 0
        due = self.store.due(now)
        stuck = self.store.stuck_messages(now - 2 * CLAIM_TTL)
        self.store.swept(due, stuck, now + SWEEP_GRACE)
        for pid in due:
            self._enqueue_job(pid, 0.0)
        for msg_id in stuck:
            message = self.store.message(msg_id)
            if message and message["members"]:
                self._enqueue_job(message["members"][0], 0.0)
        return len(due) + len(stuck)

    # Tools ------------------------------------------------------------------------------------

    def preview(self, payload: Any) -> dict[str, Any]:
        """What an order event would push, to whom, in which words, without sending or
        storing anything (the rules see the stored order with the event's fields)."""
        services = self.services
        event = parse_event(payload, services.config.timezone, self.clock.now())
        stored = services.orders.get(event.order.order_id)
        order = _merged(stored, event.order, event.occurred_at)
        fields = {"order_id": order.order_id, "openid": order.openid,
                  "old_status": stored.status if stored else "", "new_status": order.status,
                  "occurred_at": event.occurred_at, "stale": "0", "source": "event",
                  "tracking_added": str(len(event.order.tracking)),
                  "exception_reason": order.exception_reason,
                  "exception_new_eta": order.exception_new_eta}
        state = self.store.order_state(order.order_id)
        out: dict[str, Any] = {"order_id": order.order_id, "openid": order.openid, "pushes": []}
        now = self.clock.now()
        rules = self.rules.current()
        for planned in plan_change(fields, state.get("planned_exception", "")):
            rec = PushRecord(push_id(order.order_id, planned.kind, planned.version),
                             order.order_id, order.openid, planned.kind, planned.version,
                             "queued", now, now)
            user = UserView(order.openid, services.prefs.get(order.openid),
                            following=services.users.get(order.openid).get("following") != "0",
                            followed_orders=set(self.follows.orders(order.openid)))
            d = decide(rec, order, user, rules, now, state, lambda _pid: False)
            user_hash = services.users.get(order.openid)
            lang = user_hash.get("lang") or services.config.default_lang
            part = Part(rec.push_id, d.kind or planned.kind, order, {})
            content = self.renderer.message([part], lang, now)
            out["pushes"].append({"push_id": rec.push_id, "kind": planned.kind,
                                  "decision": d.action, "reason": d.reason,
                                  "until": d.until or None, "text": content["text"],
                                  "channels": self._channels_for(order.openid, user_hash,
                                                                 content, now)})
        return out

    def _channels_for(self, openid: str, user_hash: dict[str, str], content: dict[str, Any],
                      now: float) -> dict[str, str]:
        """Each channel and whether it could carry `content` now ("ok", or why not)."""
        last = float(user_hash.get("last_message_at") or 0)
        target = Target(
            openid=openid, lang=content["lang"], kind=content["kind"], now=now,
            last_message_at=last,
            stopped=self.grants.stopped(openid, float(user_hash.get("subscribed_at") or 0)),
            kf_used=self.store.kf_count(openid, str(int(last))))
        usable, skipped = self.chooser.candidates(target, content)
        return {**{c.name: "ok" for c in usable}, **skipped}


def _merged(stored: Order | None, new: Order, occurred_at: str) -> Order:
    """The order as it would read after the event (enough for a preview)."""
    from dataclasses import replace

    if stored is None:
        return replace(new, occurred_at=occurred_at)
    keep = {f: getattr(stored, f) for f in ("openid", "phone", "carrier", "tracking_no",
                                            "address", "amount", "items") if not getattr(new, f)}
    tracking = tuple(sorted({(p.time, p.description): p for p in (*stored.tracking,
                                                                  *new.tracking)}.values(),
                            key=lambda p: p.time))
    return replace(new, **keep, tracking=tracking, history=stored.history,
                   occurred_at=occurred_at)

