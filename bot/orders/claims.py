"""Claiming a phone-only order: proof that the customer holds the order's phone, and a log.

The last four digits of a phone are printed on every parcel, and order numbers are sequential:
knowing both proves nothing. A claim needs either
- a one-time code sent by SMS to the order's phone (6 digits, valid 5 minutes, 3 tries; at
  most one code per order a minute and five per customer an hour), when an SMS sender is
  configured; or
- without SMS, the full phone number together with the order number the customer gave.

Each claim is logged (Redis and the log, openid masked) and its owner can list and revoke it.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Protocol

import redis

from bot.platform.masking import mask_id

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_TTL = 300
CODE_TRIES = 3
ORDER_RESEND = 60            # one code per order per minute
OPENID_CODES = 5             # codes one customer may ask for ...
OPENID_WINDOW = 3600         # ... per hour

SMS, PHONE = "sms", "phone"  # how a claim was proven

# Code check: KEYS[1] the code hash. ARGV[1] the answer. Returns 1 right, 0 wrong (tries left),
# -1 none or expired, -2 out of tries (the code is then gone). In one script, so two answers
# racing cannot both use the last try.
_CHECK = """
local code = redis.call('HGET', KEYS[1], 'code')
if not code then return -1 end
if code == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if tries >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) return -2 end
return 0
"""


class CodeSender(Protocol):
    """Sends a claim code by SMS (the SMS package's provider implements it)."""

    def send_code(self, phone: str, code: str, minutes: int) -> None:
        """Send `code`, valid `minutes`, to `phone`; raise on failure."""


class SendRefused(RuntimeError):
    """No code now: too many asked for this order or by this customer, or SMS failed."""


class SendFailed(SendRefused):
    """The SMS provider did not take the code (down, refused): nothing was throttled."""


@dataclass(frozen=True)
class Claim:
    order_id: str
    method: str
    at: float


class ClaimCodes:
    """One-time codes for claiming orders, in Redis (every worker shares them)."""

    def __init__(self, client: redis.Redis, sender: CodeSender) -> None:
        self.redis = client
        self.sender = sender
        self._check = client.register_script(_CHECK)

    @staticmethod
    def key(openid: str, order_id: str) -> str:
        return f"orders:claim_code:{openid}:{order_id}"

    def send(self, openid: str, order_id: str, phone: str) -> None:
        """Send a fresh code to `phone` for this customer and order; raises SendRefused."""
        # SET NX with a TTL: the first request of a minute wins, a second is refused at once.
        if not self.redis.set(f"orders:claim_resend:{order_id}", 1, nx=True, ex=ORDER_RESEND):
            raise SendRefused("a code was sent for this order less than a minute ago")
        counter = f"orders:claim_sends:{openid}"
        pipe = self.redis.pipeline()
        pipe.incr(counter)
        pipe.expire(counter, OPENID_WINDOW)   # from the last code: a steady drip waits too
        sent, _ = pipe.execute()
        if int(sent) > OPENID_CODES:
            raise SendRefused("too many codes asked for by this customer")
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        key = self.key(openid, order_id)
        self.redis.delete(key)
        self.redis.hset(key, mapping={"code": code, "tries": 0})
        self.redis.expire(key, CODE_TTL)
        try:
            self.sender.send_code(phone, code, CODE_TTL // 60)
        except Exception as exc:
            # The throttles stay: a provider that timed out may still have sent it.
            self.redis.delete(key)
            log.warning("claim code for order %s not sent: %s", order_id, type(exc).__name__)
            raise SendFailed("SMS failed") from exc
        log.info("claim code sent for order %s to %s", order_id, mask_id(openid))

    def check(self, openid: str, order_id: str, answer: str) -> int:
        """1 right · 0 wrong, tries left · -1 no code (expired or never sent) · -2 no tries left."""
        if not answer.isascii() or not answer.isdigit() or len(answer) != CODE_DIGITS:
            answer = "-"   # never equal to a code, still counts as a try
        return int(self._check(keys=[self.key(openid, order_id)], args=[answer, CODE_TRIES]))


class ClaimLog:
    """Every claim, by customer: shown to them on request, revocable by them."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def key(openid: str) -> str:
        return f"orders:claims:{openid}"

    def record(self, openid: str, order_id: str, method: str, at: float) -> None:
        self.redis.hset(self.key(openid), order_id, json.dumps({"method": method, "at": at}))
        log.info("order %s claimed by %s (proof: %s)", order_id, mask_id(openid), method)

    def claims(self, openid: str) -> list[Claim]:
        raw = self.redis.hgetall(self.key(openid))
        out = []
        for order_id, value in raw.items():
            try:
                data = json.loads(value)
                out.append(Claim(order_id, str(data["method"]), float(data["at"])))
            except (ValueError, KeyError, TypeError):
                continue
        return sorted(out, key=lambda c: c.at, reverse=True)

    def forget(self, openid: str, order_id: str) -> bool:
        removed = bool(self.redis.hdel(self.key(openid), order_id))
        if removed:
            log.info("claim of order %s revoked by %s", order_id, mask_id(openid))
        return removed


def same(expected: str, given: str) -> bool:
    """Constant-time equality; compare_digest refuses non-ASCII str, so compare bytes."""
    return hmac.compare_digest(expected.encode(), given.encode())
