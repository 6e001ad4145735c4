"""Log lines: plain text or one JSON object a line (LOG_FORMAT=json), each with the request id,
and every line redacted (no full openid, phone number or configured secret).

The request id follows a message: the callback sets it from the message's identity (WeChat's
retries of one message share it), the job queue carries it to the late reply.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets as random_ids
from contextvars import ContextVar
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot.platform.config import Config
from bot.platform.masking import Redactor

request_id: ContextVar[str] = ContextVar("request_id", default="-")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_HANDLER_NAME = "bot"


def new_request_id() -> str:
    return random_ids.token_hex(6)


def request_id_for(key: str) -> str:
    """A stable id for a message's identity (its dedup key), so its retries share it."""
    return hashlib.blake2b(key.encode(), digest_size=6).hexdigest()


def secrets_of(config: Config) -> list[str]:
    """Every configured value that must never be written to a log."""
    values = [config.wechat_token, config.wechat_secret, config.wechat_aes_key,
              config.wechat_aes_key_previous, config.order_webhook_secret, config.secret_key,
              config.order_api_token]
    for url in (config.redis_url,):
        password = urlsplit(url).password if url else None
        if password:
            values.append(password)
    return [v for v in values if v]


class Formatter(logging.Formatter):
    """Text or JSON lines, redacted after formatting (tracebacks included)."""

    def __init__(self, json_lines: bool, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self.json_lines = json_lines
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None) or request_id.get()
        record.request_id = rid
        if not self.json_lines:
            return self.redact(super().format(record))
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": rid,
            "pid": record.process,
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(doc, ensure_ascii=False))


def configure_logging(config: Config, level: int | str | None = None) -> Formatter:
    """Install the bot's handler on the root logger (once; again replaces it) and give
    gunicorn's own loggers, when present, the same format and redaction."""
    level = level or os.environ.get("LOG_LEVEL", "INFO").upper()
    formatter = Formatter(config.log_format == "json", Redactor(secrets_of(config)))
    root = logging.getLogger()
    for handler in list(root.handlers):
        # Ours from an earlier call, or logging.basicConfig's plain one (the CLI's): replaced,
        # so no line is written twice. Test harnesses' capture handlers are left alone.
        if handler.get_name() == _HANDLER_NAME or type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("gunicorn.error", "gunicorn.access"):
        for gunicorn_handler in logging.getLogger(name).handlers:
            gunicorn_handler.setFormatter(formatter)
    return formatter
