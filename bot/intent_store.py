"""Intents live in Redis so merchants' edits reach every worker within a second, no restart.

Built-in intents come from `intents/builtin.yaml` (refreshed at start-up); merchant FAQ intents
are imported or edited at run time. A version counter changes on every edit; each process
checks it at most every RELOAD_CHECK seconds and rebuilds its matcher only when it moved.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import redis

from bot.intent_io import load_intent_file

DATA = "intents:data"
VERSION = "intents:version"
TERMS = "intents:terms"
SEEDED = "intents:seeded"
RELOAD_CHECK = 0.5


class IntentStore:
    """CRUD over intents in Redis plus a per-process matcher cache that follows edits."""

    def __init__(self, client: redis.Redis, intents_dir: Path) -> None:
        self.redis = client
        self.intents_dir = intents_dir
        self._lock = threading.Lock()
        self._matcher: Any = None
        self._version: int | None = None
        self._checked_at = 0.0

    # Reading.
    def all(self) -> list[dict[str, Any]]:
        docs = [json.loads(v) for v in self.redis.hgetall(DATA).values()]
        return sorted(docs, key=lambda d: (not d.get("builtin"), d["id"]))

    def get(self, intent_id: str) -> dict[str, Any] | None:
        raw = self.redis.hget(DATA, intent_id)
        return json.loads(raw) if raw else None

    def version(self) -> int:
        return int(self.redis.get(VERSION) or 0)

    def export(self, include_builtin: bool = False) -> list[dict[str, Any]]:
        """Intents in the import format (what `intents export` writes)."""
        return [
            {k: v for k, v in doc.items() if k != "builtin"}
            for doc in self.all()
            if include_builtin or not doc.get("builtin")
        ]

    # Writing: each write bumps the version in the same transaction.
    def upsert(self, doc: dict[str, Any], builtin: bool = False) -> None:
        self.import_docs([doc], replace=False, builtin=builtin)

    def delete(self, intent_id: str) -> bool:
        doc = self.get(intent_id)
        if doc is None or doc.get("builtin"):
            return False
        pipe = self.redis.pipeline()
        pipe.hdel(DATA, intent_id)
        pipe.incr(VERSION)
        pipe.execute()
        return True

    def import_docs(
        self, docs: list[dict[str, Any]], replace: bool = False, builtin: bool = False
    ) -> dict[str, int]:
        """Add or update intents; with `replace`, remove the (same-kind) intents not given."""
        existing = {d["id"]: d for d in self.all()}
        clash = [
            d["id"] for d in docs
            if existing.get(d["id"], {}).get("builtin", builtin) != builtin
        ]
        if clash:
            kind = "built-in" if not builtin else "FAQ"
            raise ValueError(f"id(s) already used by a {kind} intent: {', '.join(clash)}")
        given = {d["id"] for d in docs}
        removed = [
            i for i, d in existing.items()
            if replace and bool(d.get("builtin")) == builtin and i not in given
        ]
        pipe = self.redis.pipeline()
        for doc in docs:
            pipe.hset(DATA, doc["id"], json.dumps({**doc, "builtin": builtin}, ensure_ascii=False))
        if removed:
            pipe.hdel(DATA, *removed)
        pipe.incr(VERSION)
        pipe.execute()
        added = len(given - set(existing))
        return {"added": added, "updated": len(given) - added, "removed": len(removed)}

    def add_terms(self, *terms: str) -> None:
        """The merchant's own words for the segmenter (product names, brands)."""
        terms = tuple(t.strip() for t in terms if t.strip())
        if terms:
            pipe = self.redis.pipeline()
            pipe.sadd(TERMS, *terms)
            pipe.incr(VERSION)
            pipe.execute()

    def add_example(self, intent_id: str, example: str) -> dict[str, Any]:
        """Teach an intent a new phrasing (support staff turning an unmatched query into one)."""
        doc = self.get(intent_id)
        if doc is None:
            raise KeyError(intent_id)
        examples = list(doc.get("examples", []))
        if example not in examples:
            examples.append(example)
        doc["examples"] = examples
        builtin = bool(doc.pop("builtin", False))
        self.upsert(doc, builtin=builtin)
        return doc

    def seed_defaults(self) -> None:
        """Built-ins always follow the files; the sample FAQ is seeded only into an empty shop."""
        builtin = load_intent_file(self.intents_dir / "builtin.yaml", require_answer=False)
        self.import_docs(builtin, replace=True, builtin=True)
        sample = self.intents_dir / "faq_seed.yaml"
        if sample.exists() and self.redis.set(SEEDED, 1, nx=True):
            self.import_docs(load_intent_file(sample), builtin=False)

    # Matching.
    def matcher(self) -> Any:
        """This process's matcher, rebuilt when another process (or this one) edited intents."""
        now = time.monotonic()
        if self._matcher is not None and now - self._checked_at < RELOAD_CHECK:
            return self._matcher
        with self._lock:
            if self._matcher is not None and now - self._checked_at < RELOAD_CHECK:
                return self._matcher
            version = self.version()
            if self._matcher is None or version != self._version:
                self._matcher = self._build()
                self._version = version
            self._checked_at = now
        return self._matcher

    def _build(self) -> Any:
        from bot.matcher import IntentSpec, Matcher

        specs = [
            IntentSpec.from_dict({k: v for k, v in d.items() if k != "builtin"},
                                 builtin=bool(d.get("builtin")))
            for d in self.all()
        ]
        return Matcher(specs, extra_words=sorted(self.redis.smembers(TERMS)))
