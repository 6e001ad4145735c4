"""Per-user dialogue state: a small JSON document in Redis; its TTL is the conversation timeout."""

from __future__ import annotations

import json
from typing import Any

import redis


class Conversation:
    """A user's state: the handler awaiting an answer (`pending`) and remembered slots (`data`)."""

    def __init__(self, store: DialogueStore, openid: str, doc: dict[str, Any]) -> None:
        self._store = store
        self.openid = openid
        self.pending: str | None = doc.get("pending")
        self.data: dict[str, Any] = dict(doc.get("data") or {})
        self._dirty = False

    def expect(self, handler: str, **data: Any) -> None:
        """Remember that `handler` asked a question and should receive the next message."""
        self.pending = handler
        self.data.update(data)
        self._dirty = True

    def resolve(self) -> None:
        """The pending question was answered (or dropped); keep remembered slots."""
        if self.pending is not None:
            self.pending = None
            self._dirty = True

    def remember(self, **data: Any) -> None:
        self.data.update(data)
        self._dirty = True

    def forget(self, *keys: str) -> None:
        for key in keys:
            if key in self.data:
                del self.data[key]
                self._dirty = True

    def clear(self) -> None:
        self.pending = None
        self.data = {}
        self._dirty = True

    def save(self, pipe: redis.client.Pipeline | None = None) -> None:
        """Write only when something changed (into `pipe` if given); each write renews the TTL."""
        if self._dirty:
            self._store.write(self.openid, {"pending": self.pending, "data": self.data}, pipe)
            self._dirty = False


class DialogueStore:
    """Loads and saves Conversations; shared by every worker through Redis."""

    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self.redis = client
        self.ttl = ttl

    @staticmethod
    def key(openid: str) -> str:
        return f"dlg:{openid}"

    def load(self, openid: str) -> Conversation:
        return self.from_raw(openid, self.redis.get(self.key(openid)))

    def from_raw(self, openid: str, raw: str | None) -> Conversation:
        """A Conversation from the stored document (read by the caller, e.g. in a pipeline)."""
        return Conversation(self, openid, json.loads(raw) if raw else {})

    def write(self, openid: str, doc: dict[str, Any],
              pipe: redis.client.Pipeline | None = None) -> None:
        target = self.redis if pipe is None else pipe
        if doc.get("pending") is None and not doc.get("data"):
            target.delete(self.key(openid))
        else:
            target.set(self.key(openid), json.dumps(doc, ensure_ascii=False), ex=self.ttl)
