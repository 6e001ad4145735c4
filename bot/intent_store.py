"""Intents live in Redis so merchants' edits reach every worker within a second, no restart.

Built-in intents come from `intents/builtin.yaml` (reloaded whenever the file changes);
merchant FAQ intents are imported or edited at run time. A version counter changes on every
edit; each process checks it at most every RELOAD_CHECK seconds and rebuilds its matcher only
when it moved.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import redis

from bot.intent_io import load_intent_file

log = logging.getLogger(__name__)

DATA = "intents:data"
VERSION = "intents:version"
TERMS = "intents:terms"
SEEDED = "intents:seeded"
BUILTIN_HASH = "intents:builtin-sha256"
RELOAD_CHECK = 0.5
# A rebuild slower than this runs in a background thread next time.
BACKGROUND_BUILD = 0.25


class IntentStore:
    """CRUD over intents in Redis plus a per-process matcher cache that follows edits."""

    def __init__(self, client: redis.Redis, intents_dir: Path) -> None:
        self.redis = client
        self.intents_dir = intents_dir
        self._lock = threading.Lock()
        self._matcher: Any = None
        self._version: int | None = None
        self._checked_at = 0.0
        self._build_seconds = 0.0
        self._rebuilding = False

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

    def ensure_builtins(self) -> bool:
        """Load `intents/builtin.yaml` into Redis when the file changed; True if it did."""
        path = self.intents_dir / "builtin.yaml"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if self.redis.get(BUILTIN_HASH) == digest:
            return False
        self.import_docs(load_intent_file(path, require_answer=False), replace=True,
                         builtin=True)
        self.redis.set(BUILTIN_HASH, digest)
        return True

    def seed_sample(self) -> bool:
        """The sample FAQ (`intents/faq_seed.yaml`), once, into a demo shop; True if seeded."""
        sample = self.intents_dir / "faq_seed.yaml"
        if not sample.exists() or not self.redis.set(SEEDED, 1, nx=True):
            return False
        self.import_docs(load_intent_file(sample), builtin=False)
        return True

    def seed_defaults(self) -> None:
        """Built-ins and the sample FAQ: what the demo starts with."""
        self.ensure_builtins()
        self.seed_sample()

    # Matching.
    def matcher(self) -> Any:
        """This process's matcher, following other processes' edits.

        The first build happens here. Later ones too, unless the last build was slow (a shop
        with thousands of FAQs): then the old matcher keeps answering while a thread rebuilds.
        """
        now = time.monotonic()
        if self._matcher is not None and now - self._checked_at < RELOAD_CHECK:
            return self._matcher
        with self._lock:
            if self._matcher is not None and now - self._checked_at < RELOAD_CHECK:
                return self._matcher
            self._checked_at = now
            if self._matcher is None:
                self.ensure_builtins()
                self._rebuild()
            elif self.version() != self._version and not self._rebuilding:
                if self._build_seconds < BACKGROUND_BUILD:
                    self._rebuild()
                else:
                    self._rebuilding = True
                    threading.Thread(target=self._rebuild_in_background, daemon=True,
                                     name="matcher-rebuild").start()
            return self._matcher

    def _rebuild(self) -> None:
        # Read the version first: an edit landing during the build triggers another one.
        version = self.version()
        started = time.monotonic()
        matcher = self._build()
        self._build_seconds = time.monotonic() - started
        self._matcher, self._version = matcher, version

    def _rebuild_in_background(self) -> None:
        try:
            self._rebuild()
        except Exception:  # Redis hiccup: keep the old matcher, try again on the next check
            log.exception("matcher rebuild failed")
        finally:
            self._rebuilding = False

    def _build(self) -> Any:
        from bot.matcher import IntentSpec, Matcher

        specs = [
            IntentSpec.from_dict({k: v for k, v in d.items() if k != "builtin"},
                                 builtin=bool(d.get("builtin")))
            for d in self.all()
        ]
        return Matcher(specs, extra_words=sorted(self.redis.smembers(TERMS)))
