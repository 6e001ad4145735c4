"""Signed, expiring links to an order's tracking page, bound to the order and the customer.

The token is signed, not encrypted: anyone holding a link can read what is inside. So it
carries no openid, only a keyed hash of it (`owner`), which the page compares with the hash of
the order's current openid; the openid cannot be read back from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from bot.platform.clock import Clock

LINK_MAX_AGE = 7 * 86_400
SALT = "bot.tracking-page"
OWNER_SALT = b"bot.tracking-page.owner"


@dataclass(frozen=True)
class LinkTarget:
    order_id: str
    owner: str      # owner_tag() of the openid the link was made out to
    lang: str


class TrackingLinks:
    """Makes and reads `/track/<token>` links; tokens age by the injected clock."""

    def __init__(self, secret_key: str, clock: Clock, base_url: str,
                 max_age: int = LINK_MAX_AGE) -> None:
        class _ClockSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock.now())

        self.serializer = URLSafeTimedSerializer(secret_key, salt=SALT, signer=_ClockSigner)
        # Its own key, so the owner tag is not a signature usable anywhere else.
        self._owner_key = hmac.new(secret_key.encode(), OWNER_SALT, hashlib.sha256).digest()
        self.base_url = base_url.rstrip("/")
        self.max_age = max_age

    def owner_tag(self, openid: str) -> str:
        """A keyed hash of `openid` (128 bits, URL-safe): matches only that openid."""
        digest = hmac.new(self._owner_key, openid.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def token(self, order_id: str, openid: str, lang: str) -> str:
        return self.serializer.dumps({"o": order_id, "h": self.owner_tag(openid), "l": lang})

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
        order_id, owner, lang = data.get("o"), data.get("h"), data.get("l")
        if not all(isinstance(v, str) and v for v in (order_id, owner, lang)):
            return None
        return LinkTarget(order_id, owner, lang)

    def is_owner(self, target: LinkTarget, openid: str) -> bool:
        """Was the link made out to `openid` (the order's customer now)?"""
        return bool(openid) and hmac.compare_digest(self.owner_tag(openid).encode(),
                                                    target.owner.encode())
