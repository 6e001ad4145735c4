"""Typed incoming messages: wechatpy's objects become one frozen dataclass at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Kinds that carry media the bot cannot read; they get a friendly "here is what I can do".
MEDIA_KINDS = frozenset({"image", "video", "shortvideo", "location", "link", "file"})


@dataclass(frozen=True)
class Incoming:
    """One message or event from a user, as the bot needs it."""

    openid: str
    account: str                   # ToUserName: the official account's id
    kind: str                      # text, voice, image, ..., or "event"
    create_time: int
    msg_id: str = ""
    text: str = ""                 # text content, or voice Recognition
    event: str = ""                # subscribe, unsubscribe, click, scan, view, location, ...
    event_key: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def dedup_key(self) -> str:
        """Identity of one delivery attempt group: MsgId alone collides across users."""
        if self.kind == "event":
            return f"e:{self.openid}:{self.create_time}:{self.event}:{self.event_key}"
        return f"m:{self.msg_id}:{self.openid}:{self.create_time}"

    @property
    def is_event(self) -> bool:
        return self.kind == "event"


def from_wechatpy(message: Any) -> Incoming:
    """Convert a parsed wechatpy message or event into an Incoming."""
    raw = dict(getattr(message, "_data", {}) or {})
    kind = str(raw.get("MsgType") or getattr(message, "type", "unknown")).lower()
    text = ""
    event = ""
    event_key = ""
    if kind == "text":
        text = str(raw.get("Content") or "")
    elif kind == "voice":
        # Recognition is only present when the account enabled speech recognition.
        text = str(raw.get("Recognition") or "")
    if kind == "event":
        event = str(raw.get("Event") or "").lower()
        event_key = str(raw.get("EventKey") or "")
        if event == "subscribe" and event_key.startswith("qrscene_"):
            event_key = event_key[len("qrscene_"):]
    create_time = raw.get("CreateTime") or 0
    try:
        create_time = int(create_time)
    except (TypeError, ValueError):
        create_time = 0
    return Incoming(
        openid=str(raw.get("FromUserName") or ""),
        account=str(raw.get("ToUserName") or ""),
        kind=kind,
        create_time=create_time,
        msg_id=str(raw.get("MsgId") or raw.get("MsgID") or ""),
        text=text.strip(),
        event=event,
        event_key=event_key,
        raw=raw,
    )
