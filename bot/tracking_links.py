"""Signed, expiring links to an order's tracking page, bound to the order and the customer."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from bot.clock import Clock

LINK_MAX_AGE = 7 * 86_400
SALT = "bot.tracking-page"


@dataclass(frozen=True)
class LinkTarget:
    order_id: str
    openid: str
    lang: str


class TrackingLinks:
    """Makes and reads `/track/<token>` links; tokens age by the injected clock."""

    def __init__(self, secret_key: str, clock: Clock, base_url: str,
                 max_age: int = LINK_MAX_AGE) -> None:
        class _ClockSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock.now())

        self.serializer = URLSafeTimedSerializer(secret_key, salt=SALT, signer=_ClockSigner)
        self.base_url = base_url.rstrip("/")
        self.max_age = max_age

    def token(self, order_id: str, openid: str, lang: str) -> str:
        return self.serializer.dumps({"o": order_id, "u": openid, "l": lang})

    def url(self, order_id: str, openid: str, lang: str) -> str:
        return f"{self.base_url}/track/{self.token(order_id, openid, lang)}"

    def read(self, token: str) -> LinkTarget | None:
        """The link's target, or None when forged, tampered with or expired."""
        try:
            data = self.serializer.loads(token, max_age=self.max_age)
        except BadSignature:   # SignatureExpired is a BadSignature too
            return None
        if not isinstance(data, dict):
            return None
        order_id, openid, lang = data.get("o"), data.get("u"), data.get("l")
        if not all(isinstance(v, str) and v for v in (order_id, openid, lang)):
            return None
        return LinkTarget(order_id, openid, lang)
