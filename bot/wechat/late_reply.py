"""Deliver a reply that missed WeChat's window through 客服消息, exactly once.

Runs in a Dramatiq worker. If the web worker that claimed the message died before finishing,
its lease lapses and this job processes the message itself, so nothing is lost.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bot.conversation.messages import Incoming
from bot.conversation.services import Services
from bot.wechat.api import WeChatRejected
from bot.wechat.coordinator import (
    RECORD_TTL,
    Dispatch,
    Leases,
    lease_alive,
    message_from_payload,
    read_record,
    record_key,
    run_and_store,
)

log = logging.getLogger(__name__)

# How long one job run waits for a slow handler before handing back to Dramatiq's retry.
PATIENCE = 20.0
SENDING_TTL = 30


class NotReadyYet(Exception):
    """The reply is still being produced; Dramatiq retries the job with backoff."""


def deliver_late_reply(
    services: Services, dispatch: Dispatch, leases: Leases, payload: dict[str, Any]
) -> str:
    """Wait for (or produce) the reply to `payload` and send it once; returns what happened."""
    msg: Incoming = message_from_payload(payload)
    r = services.redis
    key = record_key(msg.dedup_key)
    give_up_at = time.time() + PATIENCE
    while True:
        record = read_record(r, key)
        if record is not None and record["state"] == "done":
            break
        if not lease_alive(r, key) and leases.try_take(key):
            log.warning("taking over %s: its worker stopped before replying", msg.dedup_key)
            leases.hold(key)
            try:
                run_and_store(r, key, msg, dispatch, None)
            finally:
                leases.release(key)
            continue
        if time.time() > give_up_at:
            raise NotReadyYet(msg.dedup_key)
        time.sleep(0.1)
    # A transfer cannot be carried by 客服消息; its text tells the user a person will answer.
    text = record.get("reply") or ""
    if not text:
        return "nothing to send"
    # "sending" expires, so a worker killed mid-send leaves the reply to the job's redelivery.
    # A redelivery can come before it expires (the broker requeues a dead worker's jobs after
    # 15 s): it waits for "sent" or for the marker to lapse, never takes "sending" as done.
    while not r.set(f"{key}:sent", "sending", nx=True, ex=SENDING_TTL):
        state = r.get(f"{key}:sent")
        if state is not None and state != "sending":
            return "already delivered"
        time.sleep(0.2)
    try:
        services.wechat.send_text(msg.openid, text)
    except WeChatRejected as exc:
        if exc.retryable:
            r.delete(f"{key}:sent")
            raise
        # 45015 (48-hour window closed), 43004 (unfollowed): no channel can carry it now.
        r.set(f"{key}:sent", f"rejected:{exc.errcode}", ex=RECORD_TTL)
        log.warning("late reply to %s rejected by WeChat: %s", msg.openid, exc)
        return f"rejected {exc.errcode}"
    except Exception:
        r.delete(f"{key}:sent")
        raise
    r.set(f"{key}:sent", "sent", ex=RECORD_TTL)
    return "sent"
