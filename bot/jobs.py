"""Background jobs on Dramatiq's Redis broker, declared per broker (no import-time globals)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import Middleware

from bot.conversation.messages import Incoming
from bot.platform.logs import request_id
from bot.platform.metrics import LATE_REPLIES
from bot.platform.outage import redis_outage
from bot.platform.storage import connect, sentinel_parts
from bot.wechat.coordinator import payload_of

if TYPE_CHECKING:
    from bot.conversation.services import Services

log = logging.getLogger(__name__)

# A killed worker's unacked jobs return after the heartbeat timeout once maintenance runs;
# Dramatiq's defaults (60 s, 0.1% chance) left them parked for minutes.
HEARTBEAT_TIMEOUT_MS = 15_000
MAINTENANCE_CHANCE = 100_000   # per million commands: one in ten
NAMESPACE = "bot-jobs"
PUSH_RETRIES = 8
REDIS_PATIENCE = 30.0     # seconds a job waits for Redis to come back before failing


class RequestIds(Middleware):
    """Carries the log request id from where a job is sent to where it runs."""

    def before_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        message.options.setdefault("request_id", request_id.get())

    def before_process_message(self, broker: Any, message: Any) -> None:
        request_id.set(message.options.get("request_id") or message.message_id[:12])

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: Any = None) -> None:
        request_id.set("-")

    after_skip_message = after_process_message


class _HandingBackConsumer(_RedisConsumer):
    """A consumer that, replacing an earlier one of its delay queue in this process, first
    hands back to the queue what the earlier one still held.

    Dramatiq's consumer thread keeps a delay queue's messages in memory until their eta; on a
    connection error (a Redis restart, a failover) it throws that memory away and starts a new
    consumer, but the messages stay in this process's ack set, which only the heartbeat
    maintenance requeues, and only once the process is dead (Dramatiq issue #527). A live
    worker never ran them: retried late replies and SMS had no sweep to fall back on, and
    pushes waited for the push sweep (a minute past due). Before the thread starts a new
    consumer it has requeued what its delay queue held, or dropped it on that error; either
    way, what is left of this process's ack set for the queue is held by no one."""

    def __init__(self, broker: JobBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)
        self.stranded = queue_name.endswith(".DQ") and queue_name in broker.consumed
        broker.consumed.add(queue_name)

    def __next__(self) -> Any:
        if self.stranded:
            try:
                handed = self.broker.hand_back(self.queue_name)
            except redis.ConnectionError as exc:
                raise ConnectionClosed(exc) from None   # Redis still away: the next one tries
            self.stranded = False
            if handed:
                log.warning("%d delayed job(s) on %s handed back after losing Redis",
                            handed, self.queue_name)
        return super().__next__()


class JobBroker(RedisBroker):
    """Dramatiq's Redis broker whose delay-queue consumers survive losing Redis
    (`_HandingBackConsumer`). One Dramatiq worker per broker: a second one consuming the same
    delay queue alongside would have its held messages handed back, so run twice."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.consumed: set[str] = set()

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return _HandingBackConsumer

    def hand_back(self, queue_name: str) -> int:
        """Requeue every message this broker fetched from `queue_name` and never acked."""
        acks = f"{self.namespace}:__acks__.{self.broker_id}.{queue_name}"
        ids = list(self.client.smembers(acks))
        for start in range(0, len(ids), 1000):
            self.do_requeue(queue_name, *ids[start:start + 1000])
        return len(ids)


def make_broker(redis_url: str) -> JobBroker:
    """A Redis broker tuned so work held by a dead worker is requeued within seconds."""
    # Dramatiq reads bytes; through Sentinel it gets a client that follows the master.
    client = connect(redis_url, decode_responses=False) if sentinel_parts(redis_url) else None
    broker = JobBroker(
        url=None if client is not None else redis_url,
        client=client,
        namespace=NAMESPACE,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
    )
    broker.add_middleware(RequestIds())
    return broker


class Jobs:
    """Enqueues background work; in a worker process the same object runs it."""

    def __init__(self, broker: RedisBroker) -> None:
        self.broker = broker
        self.services: Services | None = None
        self.dispatch: Any = None
        self.leases: Any = None
        self.pushes: Any = None
        self.sms_fallback: Any = None   # bot.pushes.sms.fallback.SmsFallback (the runtime)
        self._late_reply = dramatiq.actor(
            self._run_late_reply,
            broker=broker,
            actor_name="deliver_late_reply",
            queue_name="replies",
            max_retries=8,
            min_backoff=500,
            max_backoff=15_000,
            time_limit=120_000,
        )
        self._user_info = dramatiq.actor(
            self._run_fetch_user_info,
            broker=broker,
            actor_name="fetch_user_info",
            queue_name="default",
            max_retries=5,
            min_backoff=1_000,
        )

        # One job per push (bot/pushes/delivery.py); WeChat busy or the network down raises
        # RetryLater and Dramatiq tries again with backoff (1 s doubling to 60 s).
        self._push = dramatiq.actor(
            self._run_push,
            broker=broker,
            actor_name="deliver_push",
            queue_name="pushes",
            max_retries=PUSH_RETRIES,
            min_backoff=1_000,
            max_backoff=60_000,
            time_limit=60_000,
        )

        # One job per SMS (bot/pushes/sms/fallback.py); the provider busy or unreachable raises
        # SmsError and Dramatiq tries again with backoff, with the same idempotency key.
        self._sms = dramatiq.actor(
            self._run_sms,
            broker=broker,
            actor_name="deliver_sms",
            queue_name="pushes",
            max_retries=PUSH_RETRIES,
            min_backoff=2_000,
            max_backoff=120_000,
            time_limit=60_000,
        )

    def bind(self, services: Services, dispatch: Any, leases: Any, pushes: Any = None) -> None:
        """Give the jobs what they need to run (a worker) or just to enqueue (the web)."""
        self.services = services
        self.dispatch = dispatch
        self.leases = leases
        self.pushes = pushes

    def queue_depths(self) -> list[tuple[str, int]]:
        """Messages waiting in each job queue (ready and delayed), for /metrics."""
        client = self.broker.client
        queues = sorted(self.broker.get_declared_queues())
        pipe = client.pipeline(transaction=False)
        for queue in queues:
            pipe.llen(f"{NAMESPACE}:{queue}")
        counts = pipe.execute()
        return [(queue, int(n)) for queue, n in zip(queues, counts, strict=True)]

    # Enqueue side.
    def late_reply(self, msg: Incoming) -> None:
        self._late_reply.send(payload_of(msg))

    def fetch_user_info(self, openid: str) -> None:
        self._user_info.send(openid)

    def push(self, push_id: str, delay: float = 0.0) -> None:
        """Deliver one push (bot.pushes), after `delay` seconds."""
        delay_ms = int(delay * 1000)
        self._push.send_with_options(args=(push_id,), delay=delay_ms or None)

    def sms(self, order_id: str, kind: str, version: int, data: dict[str, str],
            delay: float = 0.0) -> None:
        """Send one SMS (bot.pushes.sms.fallback), after `delay` seconds."""
        self._sms.send_with_options(args=(order_id, kind, version, data),
                                    delay=int(delay * 1000) or None)

    # Run side.
    def _run_late_reply(self, payload: dict[str, Any]) -> str:
        from bot.wechat.late_reply import deliver_late_reply

        assert self.services is not None, "Jobs.bind() was not called in this worker"
        outcome = self._through_outage(
            lambda: deliver_late_reply(self.services, self.dispatch, self.leases, payload))
        log.info("late reply for %s: %s", payload.get("openid"), outcome)
        LATE_REPLIES.labels(str(outcome)).inc()
        return outcome

    @staticmethod
    def _through_outage(run: Any, patience: float = REDIS_PATIENCE) -> Any:
        """Run a job, riding out a short Redis outage (a restart, a failover) in place.
        Dramatiq's own retry needs Redis to requeue the message: raised while Redis is down,
        the message would sit unacknowledged until this worker died."""
        give_up_at = time.monotonic() + patience
        while True:
            try:
                return run()
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
                if time.monotonic() > give_up_at:
                    raise
                redis_outage.failed(exc, "late-reply job (waiting for it)")
                time.sleep(0.5)

    def _run_push(self, push_id: str) -> None:
        assert self.pushes is not None, "Jobs.bind() was not called in this worker"
        outcome = self.pushes.deliver(push_id)
        log.debug("push %s: %s", push_id, outcome)

    def _run_sms(self, order_id: str, kind: str, version: int, data: dict[str, str]) -> str:
        assert self.sms_fallback is not None, "the runtime gave the jobs no SMS fallback"
        outcome = self.sms_fallback.run(order_id, kind, version, data)
        log.info("sms %s for %s: %s", kind, order_id, outcome)
        return outcome

    def _run_fetch_user_info(self, openid: str) -> None:
        assert self.services is not None, "Jobs.bind() was not called in this worker"
        from bot.conversation.replies import normalise_lang

        info = self.services.wechat.user_info(openid)
        lang = normalise_lang(info.get("language"), self.services.config.default_lang)
        # A language the user chose in chat wins over WeChat's client setting.
        current = self.services.users.get(openid)
        if current.get("lang_source") != "user":
            self.services.users.update(openid, lang=lang, lang_source="wechat")
        self.services.users.update(openid, nickname=info.get("nickname", ""))
