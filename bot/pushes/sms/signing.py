"""The `X-Signature: sha256=<hex HMAC-SHA256 of the body>` both ways of the SMS webhook: on
what the bot posts to the shop's gateway and on the replies the gateway posts back."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str) -> bool:
    return bool(secret) and hmac.compare_digest(sign(secret, body).encode(),
                                                header.strip().encode())
