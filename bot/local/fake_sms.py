"""Loopback stand-ins for the two SMS providers, for tests and the demo.

- `FakeSmsGateway`: a shop's own gateway (SMS_PROVIDER=webhook). It checks the X-Signature,
  treats a repeated `idempotency_key` as the same message (as a real gateway must), and records
  what it would have sent.
- `FakeAliyunSms`: Alibaba Cloud's Dysmsapi `SendSms`, as the official SDK calls it. It checks
  the ACS3-HMAC-SHA256 signature against the access key, answers in Alibaba Cloud's JSON, and
  records messages by `OutId`.

Both can be told to fail the next N calls (an HTTP status, or an Alibaba Cloud `Code`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from flask import Flask, Response, request
from werkzeug.serving import make_server

from bot.pushes.sms.signing import HEADER, signature_ok


@dataclass
class _Failure:
    status: int = 500
    code: str = ""
    times: int = 1


@dataclass
class _State:
    received: list[dict[str, Any]] = field(default_factory=list)   # every accepted call
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)  # one per message key
    failures: list[_Failure] = field(default_factory=list)
    rejected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def take_failure(self) -> _Failure | None:
        with self.lock:
            if not self.failures:
                return None
            failure = self.failures[0]
            failure.times -= 1
            if failure.times <= 0:
                self.failures.pop(0)
            return failure


class _Server:
    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = make_server(host, port, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self):  # noqa: ANN201
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=type(self).__name__)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, status: int = 500, code: str = "", times: int = 1) -> None:
        """The next `times` calls fail with HTTP `status` (and Alibaba Cloud `code`)."""
        self.state.failures.append(_Failure(status, code, times))

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Each distinct message once, in the order first received."""
        with self.state.lock:
            return list(self.state.delivered.values())

    @property
    def received(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.received)


class FakeSmsGateway(_Server):
    """POST / with the bot's signed JSON; 200 {"id": ...}."""

    def __init__(self, secret: str, **kw: Any) -> None:
        self.state = _State()
        self.secret = secret
        app = Flask("fake_sms_gateway")
        state = self.state

        @app.post("/")
        def send() -> Response:
            body = request.get_data()
            if not signature_ok(secret, body, request.headers.get(HEADER, "")):
                with state.lock:
                    state.rejected += 1
                return Response('{"error": "bad signature"}', 401, mimetype="application/json")
            failure = state.take_failure()
            if failure:
                return Response('{"error": "failure injected"}', failure.status,
                                mimetype="application/json")
            payload = json.loads(body)
            with state.lock:
                state.received.append(payload)
                known = state.delivered.get(payload["idempotency_key"])
                if known is None:
                    known = {**payload, "id": f"gw-{next(state.ids)}"}
                    state.delivered[payload["idempotency_key"]] = known
            return Response(json.dumps({"id": known["id"]}), 200, mimetype="application/json")

        super().__init__(app, **kw)


def _pct(value: str) -> str:
    return quote(value, safe="-_.~")


def acs3_signature(secret: str, method: str, path: str, query: list[tuple[str, str]],
                   headers: dict[str, str], signed: list[str], payload_hash: str) -> str:
    """Alibaba Cloud's V3 request signature (ACS3-HMAC-SHA256), as its servers check it."""
    canonical_query = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(query))
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
    canonical = "\n".join([method, path, canonical_query, canonical_headers, ";".join(signed),
                           payload_hash])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


class FakeAliyunSms(_Server):
    """Dysmsapi SendSms at POST /?…; point the SDK's endpoint at `url`."""

    def __init__(self, access_key_id: str, access_key_secret: str, **kw: Any) -> None:
        self.state = _State()
        app = Flask("fake_aliyun_sms")
        state = self.state

        def answer(status: int, **body: Any) -> Response:
            body.setdefault("RequestId", f"req-{next(state.ids)}")
            return Response(json.dumps(body, ensure_ascii=False), status,
                            mimetype="application/json")

        @app.post("/")
        def send() -> Response:
            auth = request.headers.get("Authorization", "")
            fields = dict(part.split("=", 1) for part in
                          auth.removeprefix("ACS3-HMAC-SHA256 ").split(",") if "=" in part)
            signed = fields.get("SignedHeaders", "").split(";")
            headers = {k.lower(): v for k, v in request.headers.items()}
            query = parse_qsl(urlsplit(request.full_path).query, keep_blank_values=True)
            expected = acs3_signature(access_key_secret, "POST", "/", query, headers, signed,
                                      headers.get("x-acs-content-sha256", ""))
            if (fields.get("Credential") != access_key_id
                    or not hmac.compare_digest(expected, fields.get("Signature", ""))):
                with state.lock:
                    state.rejected += 1
                return answer(400, Code="SignatureDoesNotMatch", Message="bad signature")
            if headers.get("x-acs-action") != "SendSms":
                return answer(400, Code="InvalidAction.NotFound", Message="unknown action")
            failure = state.take_failure()
            if failure:
                return answer(failure.status if not failure.code else 200,
                              Code=failure.code or "ServiceUnavailable",
                              Message="failure injected")
            params = dict(query)
            entry = {"phone": params.get("PhoneNumbers", ""), "sign_name": params.get("SignName"),
                     "template_code": params.get("TemplateCode"),
                     "params": json.loads(params.get("TemplateParam") or "{}"),
                     "out_id": params.get("OutId", "")}
            with state.lock:
                state.received.append(entry)
                # The real service does not dedupe by OutId; recording by it shows whether
                # the bot sent one message twice.
                key = entry["out_id"] or f"none-{len(state.received)}"
                if key in state.delivered:
                    state.delivered[key]["times"] += 1
                else:
                    state.delivered[key] = {**entry, "times": 1,
                                            "biz_id": f"{next(state.ids)}^0"}
                biz_id = state.delivered[key]["biz_id"]
            return answer(200, Code="OK", Message="OK", BizId=biz_id)

        super().__init__(app, **kw)
