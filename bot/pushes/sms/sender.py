"""Send one SMS under the rules: only the important kinds, never to an opted-out phone, not at
night (SMS_QUIET_HOURS, 22:00-08:00) unless an exception needs the customer's action, at most
SMS_DAILY_CAP per phone per day, and once per idempotency key however often the job runs. The
merchant may change the night hours and the cap at run time (bot/pushes/settings_store.py):
each send reads the rules in force then.

Keys (per message key K, phone P, local day D):
- `sms:msg:{K}`    hash: state (sending/sent/failed), phone, kind, order, provider id, error
- `sms:lock:{K}`   held while one process talks to the provider
- `sms:day:{P}:{D}` set of the keys counted against P's day (a retry is not counted twice)
- `sms:log`        stream of every decision (sent, suppressed, held, failed), capped
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from bot.conversation.replies import Replies
from bot.platform.clock import Clock
from bot.pushes.hours import Window, local_day
from bot.pushes.settings_store import PushRules
from bot.pushes.sms.optout import OptOutStore
from bot.pushes.sms.provider import SmsError, SmsMessage, SmsProvider
from bot.pushes.sms.text import SMS_KINDS, SmsFields, aliyun_params, compose

log = logging.getLogger(__name__)

MSG_TTL = 7 * 86_400
LOCK_MS = 30_000
LOG = "sms:log"
LOG_MAXLEN = 100_000
_MOBILE = re.compile(r"1[3-9][0-9]{9}")

SENT = "sent"
SUPPRESSED = "suppressed"
HELD = "held"
FAILED = "failed"

# KEYS[1] the day's set; ARGV key, cap, ttl. 1 = counted (now or before), 0 = over the cap.
_RESERVE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


@dataclass(frozen=True)
class SmsRequest:
    phone: str
    kind: str
    fields: SmsFields
    idempotency_key: str

    @property
    def order_id(self) -> str:
        return self.fields.order_id


@dataclass(frozen=True)
class Outcome:
    status: str                 # SENT, SUPPRESSED, HELD or FAILED
    reason: str = ""            # why not sent: opted_out, night, daily_cap, … or the error
    until: float | None = None  # HELD: when it may go
    provider_id: str = ""
    text: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SmsRules:
    sign_name: str
    tz: str
    night: Window        # the environment's; the rules in force (`SmsSender.in_force`) win
    daily_cap: int
    # kind → (template code, {variable: value name}) for Alibaba Cloud
    aliyun_templates: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)


class SmsSender:
    def __init__(self, client: redis.Redis, provider: SmsProvider | None, rules: SmsRules,
                 replies: Replies, optouts: OptOutStore, clock: Clock,
                 in_force: Callable[[], PushRules] | None = None) -> None:
        self.redis = client
        self.provider = provider
        self.rules = rules
        self.replies = replies
        self.optouts = optouts
        self.clock = clock
        # The merchant's night hours and cap now, cached per process (None: `rules`' own).
        self.in_force = in_force
        self._reserve = client.register_script(_RESERVE)

    def limits(self) -> tuple[Window, int]:
        """The SMS night window and daily cap in force now."""
        if self.in_force is None:
            return self.rules.night, self.rules.daily_cap
        now = self.in_force()
        return now.sms_night, now.sms_daily_cap

    def would_send(self, phone: str, kind: str) -> str | None:
        """None if an SMS of `kind` could go to `phone` at all, else why not (for choosing a
        channel before rendering)."""
        if self.provider is None:
            return "sms_off"
        if kind not in SMS_KINDS:
            return "not_sms_kind"
        if not _MOBILE.fullmatch(phone or ""):
            return "no_mobile"
        if self.optouts.is_out(phone):
            return "opted_out"
        return None

    def send(self, req: SmsRequest) -> Outcome:
        """Send `req` or say why not. Raises SmsError(retry=True) when a later try may work
        (the caller's job retries with the same key)."""
        now = self.clock.now()
        key = req.idempotency_key
        state = self.redis.hgetall(f"sms:msg:{key}")
        if state.get("state") == SENT:
            return Outcome(SENT, "duplicate", provider_id=state.get("provider_id", ""))
        if state.get("state") == FAILED:
            return Outcome(FAILED, state.get("error", ""))
        refused = self.would_send(req.phone, req.kind)
        if refused:
            return self._decided(req, Outcome(SUPPRESSED, refused), now)
        fields = req.fields
        urgent = req.kind == "order_exception" and fields.needs_action
        night, daily_cap = self.limits()
        if night.contains(now, self.rules.tz) and not urgent:
            until = night.next_end(now, self.rules.tz)
            return self._decided(req, Outcome(HELD, "night", until=until), now)
        message = self._message(req)
        if message is None:
            return self._decided(req, Outcome(FAILED, "no_template"), now)
        lock = f"sms:lock:{key}"
        if not self.redis.set(lock, str(now), nx=True, px=LOCK_MS):
            raise SmsError("in_progress", retry=True)
        try:
            day = f"sms:day:{req.phone}:{local_day(now, self.rules.tz)}"
            if not self._reserve(keys=[day], args=[key, daily_cap, 2 * 86_400]):
                return self._decided(req, Outcome(SUPPRESSED, "daily_cap"), now)
            self._state(key, req, state="sending", at=int(now))
            try:
                sent = self.provider.send(message)  # type: ignore[union-attr]
            except SmsError as exc:
                if exc.retry:
                    self._state(key, req, state="retrying", error=exc.code)
                    self._log(req, Outcome(FAILED, exc.code, extra={"retry": "1"}), now)
                    raise
                # It never reached the phone: it does not count against the day.
                self.redis.srem(day, key)
                self._state(key, req, state=FAILED, error=exc.code)
                return self._decided(req, Outcome(FAILED, exc.code), now)
            self._state(key, req, state=SENT, provider_id=sent.provider_id, at=int(now))
            return self._decided(req, Outcome(SENT, provider_id=sent.provider_id,
                                              text=message.text), now)
        finally:
            self.redis.delete(lock)

    def _message(self, req: SmsRequest) -> SmsMessage | None:
        rules = self.rules
        text = compose(self.replies, req.kind, req.fields, rules.sign_name, rules.tz)
        code, params = "", {}
        if self.provider is not None and self.provider.name == "aliyun":
            template = rules.aliyun_templates.get(req.kind)
            if template is None:
                return None
            code, mapping = template
            params = aliyun_params(self.replies, req.fields, rules.tz, mapping)
        return SmsMessage(phone=req.phone, text=text, kind=req.kind, order_id=req.order_id,
                          idempotency_key=req.idempotency_key, template_code=code, params=params)

    def _state(self, key: str, req: SmsRequest, **values: object) -> None:
        name = f"sms:msg:{key}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(name, mapping={"phone": req.phone, "kind": req.kind, "order_id": req.order_id,
                                 **{k: str(v) for k, v in values.items()}})
        pipe.expire(name, MSG_TTL)
        pipe.execute()

    def _decided(self, req: SmsRequest, outcome: Outcome, now: float) -> Outcome:
        self._log(req, outcome, now)
        return outcome

    def _log(self, req: SmsRequest, outcome: Outcome, now: float) -> None:
        entry = {"at": str(int(now)), "phone": req.phone, "kind": req.kind,
                 "order_id": req.order_id, "key": req.idempotency_key,
                 "status": outcome.status, "reason": outcome.reason,
                 "provider": self.provider.name if self.provider else ""}
        if outcome.until is not None:
            entry["until"] = str(int(outcome.until))
        self.redis.xadd(LOG, entry, maxlen=LOG_MAXLEN, approximate=True)
        log.info("sms %s for order %s (%s): %s %s", req.kind, req.order_id,
                 req.idempotency_key, outcome.status, outcome.reason)

    def log_entries(self, count: int = 100) -> list[dict[str, str]]:
        """The latest decisions, newest first."""
        return [fields for _, fields in self.redis.xrevrange(LOG, count=count)]
