"""SMS_PROVIDER=webhook: the shop's own gateway gets a signed JSON POST per message."""

from __future__ import annotations

import json

import requests

from bot.pushes.sms.provider import Sent, SmsError, SmsMessage
from bot.pushes.sms.signing import HEADER, sign

TIMEOUT = 5.0


class WebhookProvider:
    name = "webhook"

    def __init__(self, url: str, secret: str, session: requests.Session | None = None) -> None:
        self.url = url
        self.secret = secret
        self.session = session or requests.Session()

    def send(self, message: SmsMessage) -> Sent:
        body = json.dumps({
            "phone": message.phone, "text": message.text, "kind": message.kind,
            "order_id": message.order_id, "idempotency_key": message.idempotency_key,
        }, ensure_ascii=False).encode()
        try:
            response = self.session.post(
                self.url, data=body, timeout=TIMEOUT,
                headers={"Content-Type": "application/json", HEADER: sign(self.secret, body),
                         # Also as a header, so a gateway can dedupe before parsing.
                         "Idempotency-Key": message.idempotency_key})
        except requests.RequestException as exc:
            raise SmsError(f"network:{type(exc).__name__}", retry=True) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise SmsError(f"http:{response.status_code}", retry=True)
        if response.status_code >= 400:
            raise SmsError(f"http:{response.status_code}", retry=False)
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return Sent(str(answer.get("id", "")) if isinstance(answer, dict) else "")
