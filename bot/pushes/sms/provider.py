"""What every SMS provider takes and answers, and the one place that picks one from config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class SmsMessage:
    """One SMS. `text` is the full text (sign name, body, 回T退订) for a gateway that sends
    text; `template_code` and `params` are what Alibaba Cloud sends (its template holds the
    wording). `idempotency_key` is the same on every retry of one send."""

    phone: str
    text: str
    kind: str
    order_id: str
    idempotency_key: str
    template_code: str = ""
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    provider_id: str = ""       # the provider's id of the message (BizId, gateway id)


class SmsError(Exception):
    """A send that did not go out. `retry` says whether trying again later may succeed
    (network, 5xx, throttling) or never will (bad number, rejected template, opted out)."""

    def __init__(self, code: str, retry: bool) -> None:
        super().__init__(code)
        self.code = code
        self.retry = retry


class SmsProvider(Protocol):
    name: str

    def send(self, message: SmsMessage) -> Sent: ...
