"""Intents live in Redis so merchants' edits reach every worker within a second, no restart.

Built-in intents come from `intents/builtin.yaml`: every process looks at the file's mtime at
most every BUILTIN_CHECK seconds and, when it changed, loads it into Redis if its content did.
Merchant FAQ intents (and their `terms`, the shop's own words for jieba) are imported or edited
at run time. A version counter changes on every edit; each process checks it at most every
RELOAD_CHECK seconds and rebuilds its matcher only when it moved.

Support staff teach the matcher through two calls (the console's, when it shows a query the
bot could not place): `add_example(intent_id, text)` makes the query a phrasing of an intent,
`add_negative(text)` marks it "not for the shop", so that it and its look-alikes stay
unmatched (`remove_negative(text)` undoes that; `negatives()` lists them). Both are edits
like any other: every worker answers from them within RELOAD_CHECK, the calling process at
its next message.

A Redis that comes back empty (restarted without persistence, a fresh replica promoted) is
noticed by its missing generation key, read with the version: one process reseeds the
built-ins at once and restores the merchant's FAQs from the snapshot written to
BOT_DATA_DIR on every FAQ change (staff negatives too), and says so loudly in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import redis

from bot.platform.outage import redis_outage
from bot.understanding.intent_file import IntentFileError, load_intent_file

log = logging.getLogger(__name__)

DATA = "intents:data"
VERSION = "intents:version"
SEEDED = "intents:seeded"
BUILTIN_HASH = "intents:builtin-sha256"
# Set once per store's life: gone means Redis lost everything since this bot last wrote to it.
GENERATION = "store:generation"
HEALING = "store:healing"
SNAPSHOT = "faq-snapshot.json"
NEGATIVES = "intents:negatives"   # hash: text staff dismissed -> JSON {"added_at": epoch s}
MAX_NEGATIVE = 500                # characters: a chat message, not a document
RELOAD_CHECK = 0.5
BUILTIN_CHECK = 1.0
# An index build slower than this runs in a background thread next time. Only the build is
# timed: loading jieba (most of a second, once per process) would otherwise send every later
# rebuild to the background and make the first message after an edit get the old answers.
BACKGROUND_BUILD = 0.25


class IntentClash(ValueError):
    """Ids that a built-in intent uses given for an FAQ, or the other way round."""

    def __init__(self, ids: list[str], used_by: str) -> None:
        super().__init__(f"id(s) already used by a {used_by} intent: {', '.join(ids)}")
        self.ids = ids
        self.used_by = used_by


class IntentStore:
    """CRUD over intents in Redis plus a per-process matcher cache that follows edits."""

    def __init__(self, client: redis.Redis, intents_dir: Path,
                 snapshot_dir: Path | None = None) -> None:
        self.redis = client
        self.intents_dir = intents_dir
        self.snapshot_path = snapshot_dir / SNAPSHOT if snapshot_dir is not None else None
        self._generation: str | None = None
        self._lock = threading.Lock()
        self._matcher: Any = None
        self._version: int | None = None
        self._checked_at = 0.0
        self._build_seconds = 0.0
        self._rebuilding = False
        self._builtin_stat: tuple[int, int] | None = None
        self._builtin_checked_at = 0.0

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
        self.save_snapshot()
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
            raise IntentClash(clash, "built-in" if not builtin else "FAQ")
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
        if not builtin:
            self.save_snapshot()
        added = len(given - set(existing))
        return {"added": added, "updated": len(given) - added, "removed": len(removed)}

    def add_example(self, intent_id: str, example: str) -> dict[str, Any]:
        """Teach an intent a new phrasing (support staff turning an unmatched query into one).
        It is evidence at once: this process's next match uses it, other workers' within
        RELOAD_CHECK. A text staff had dismissed as not for the shop is no longer a negative.
        KeyError for an unknown intent."""
        doc = self.get(intent_id)
        if doc is None:
            raise KeyError(intent_id)
        example = example.strip()
        if not example:
            raise ValueError("an example needs some text")
        examples = list(doc.get("examples", []))
        if example not in examples:
            examples.append(example)
        doc["examples"] = examples
        builtin = bool(doc.pop("builtin", False))
        self.redis.hdel(NEGATIVES, example)
        self.upsert(doc, builtin=builtin)
        self._checked_at = 0.0
        return doc

    # Surviving a Redis that lost its data.
    def save_snapshot(self) -> None:
        """Write the merchant's FAQs to BOT_DATA_DIR (atomically), for `heal` to restore."""
        if self.snapshot_path is None:
            return
        doc = {"saved_at": time.time(), "faqs": self.export(),
               "negatives": self.redis.hgetall(NEGATIVES)}
        try:
            self.snapshot_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.snapshot_path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.snapshot_path)
        except OSError:
            # The edit is in Redis; only the safety copy failed. Say so, do not fail the edit.
            log.exception("cannot write the FAQ snapshot %s", self.snapshot_path)

    def load_snapshot(self) -> tuple[list[dict[str, Any]], float, dict[str, str]] | None:
        """(FAQs, when saved, staff negatives) from the snapshot, or None."""
        if self.snapshot_path is None or not self.snapshot_path.exists():
            return None
        try:
            doc = json.loads(self.snapshot_path.read_text(encoding="utf-8"))
            return (list(doc["faqs"]), float(doc["saved_at"]),
                    dict(doc.get("negatives") or {}))
        except (OSError, ValueError, KeyError, TypeError):
            log.exception("FAQ snapshot %s unreadable", self.snapshot_path)
            return None

    def check_store(self) -> int:
        """The intents version; heals the store first when its generation key is gone."""
        version, generation = self.redis.mget(VERSION, GENERATION)
        if generation is None:
            self.heal()
            version, generation = self.redis.mget(VERSION, GENERATION)
        if self._generation is not None and generation != self._generation:
            self._version = None     # another store's counter: rebuild whatever it says
        self._generation = generation
        return int(version or 0)

    def heal(self, wait: float = 5.0) -> None:
        """Reseed built-ins and restore FAQs from the snapshot into a store without them.
        One process does it (a short Redis lock); the others wait for its generation key."""
        if not self.redis.set(HEALING, os.getpid(), nx=True, ex=30):
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and not self.redis.exists(GENERATION):
                time.sleep(0.05)
            return
        try:
            if self.redis.exists(GENERATION):
                return                         # healed by another process meanwhile
            docs = self.all()
            builtins = sum(1 for d in docs if d.get("builtin"))
            faqs = len(docs) - builtins
            if not builtins:
                self.redis.delete(BUILTIN_HASH)
            reseeded = self.ensure_builtins()
            snapshot = self.load_snapshot()
            restored = 0
            if not faqs and snapshot and snapshot[0]:
                restored = self.import_docs(snapshot[0], builtin=False)["added"]
            if snapshot and snapshot[2] and not self.redis.exists(NEGATIVES):
                self.redis.hset(NEGATIVES, mapping=snapshot[2])
                self.redis.incr(VERSION)
            self.redis.set(GENERATION, secrets.token_hex(8))
            if restored or self._generation is not None:
                saved = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snapshot[1])) \
                    if snapshot else "never"
                log.error(
                    "REDIS LOST ITS DATA (the store's generation key was gone): built-in intents "
                    "reseeded (%s), %d merchant FAQ(s) restored from %s (saved %s). Orders, "
                    "dialogues and reply records kept only in Redis are gone; the shop's events "
                    "and order API refill orders. Give Redis persistence (see README).",
                    "yes" if reseeded else "already there", restored, self.snapshot_path, saved)
            else:
                log.info("intent store initialised (built-ins %s, %d FAQ(s))",
                         "loaded" if reseeded else "present", faqs)
        finally:
            self.redis.delete(HEALING)

    def offline_matcher(self) -> Any:
        """A matcher that needs no Redis: this process's current one, else the built-ins read
        from the file (for the few answers the bot must give while Redis is down)."""
        if self._matcher is not None:
            return self._matcher
        from bot.understanding.matcher import IntentSpec

        specs = [IntentSpec.from_dict(d, builtin=True)
                 for d in load_intent_file(self.builtin_path, require_answer=False)]
        return self._build(specs, [])
    def negatives(self) -> list[str]:
        """Texts staff dismissed as not for the shop, oldest first."""
        raw = self.redis.hgetall(NEGATIVES)
        added = {text: json.loads(meta).get("added_at", 0) for text, meta in raw.items()}
        return sorted(added, key=lambda text: (added[text], text))

    def add_negative(self, text: str) -> bool:
        """Mark a message as not for the shop (support staff dismissing an unmatched query):
        it and messages that read like it more than like any intent stay unmatched, in every
        worker within RELOAD_CHECK and at this process's next match. True if it was new.
        ValueError for an empty text or one over MAX_NEGATIVE characters."""
        text = text.strip()
        if not text or len(text) > MAX_NEGATIVE:
            raise ValueError(f"a negative example is 1-{MAX_NEGATIVE} characters")
        pipe = self.redis.pipeline()
        pipe.hsetnx(NEGATIVES, text, json.dumps({"added_at": round(time.time(), 3)}))
        pipe.incr(VERSION)
        added = bool(pipe.execute()[0])
        self._checked_at = 0.0
        self.save_snapshot()
        return added

    def remove_negative(self, text: str) -> bool:
        """Undo `add_negative`; True if the text was a negative."""
        text = text.strip()
        if not self.redis.hdel(NEGATIVES, text):
            return False
        self.redis.incr(VERSION)
        self._checked_at = 0.0
        self.save_snapshot()
        return True

    @property
    def builtin_path(self) -> Path:
        return self.intents_dir / "builtin.yaml"

    def builtin_ids(self) -> set[str]:
        """The ids `intents/builtin.yaml` defines (read from the file, Redis untouched)."""
        return {d["id"] for d in load_intent_file(self.builtin_path, require_answer=False)}

    def ensure_builtins(self) -> bool:
        """Load `intents/builtin.yaml` into Redis when the file changed; True if it did."""
        path = self.builtin_path
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
        """This process's matcher, following other processes' edits and builtin.yaml.

        The first build happens here. Later ones too, unless the last build was slow (a shop
        with thousands of FAQs): then the old matcher keeps answering while a thread rebuilds.
        Threads arriving while another one checks or rebuilds wait for it (a fast build takes
        a few tens of milliseconds) rather than answer from the matcher being replaced.
        """
        if self._matcher is not None and time.monotonic() - self._checked_at < RELOAD_CHECK:
            return self._matcher
        with self._lock:
            if self._matcher is not None and time.monotonic() - self._checked_at < RELOAD_CHECK:
                return self._matcher   # checked by the thread this one waited for
            if self._matcher is None:
                from bot.understanding.normalise import warm_up

                warm_up()   # once per process, and not part of the timed build
                self._builtin_stat = self._stat_builtins()
                self._builtin_checked_at = time.monotonic()
                self.check_store()
                self.ensure_builtins()
                self._rebuild()
            else:
                try:
                    self._follow_edits()
                except redis.RedisError as exc:
                    # Keep answering with what we have; the next check tries again.
                    redis_outage.failed(exc, "intent check")
            self._checked_at = time.monotonic()
            return self._matcher

    def _follow_edits(self) -> None:
        if time.monotonic() - self._builtin_checked_at >= BUILTIN_CHECK:
            self._builtin_checked_at = time.monotonic()
            self._follow_builtin_file()
        if self.check_store() != self._version and not self._rebuilding:
            if self._build_seconds < BACKGROUND_BUILD:
                self._rebuild()
            else:
                self._rebuilding = True
                threading.Thread(target=self._rebuild_in_background, daemon=True,
                                 name="matcher-rebuild").start()

    def _stat_builtins(self) -> tuple[int, int] | None:
        try:
            stat = self.builtin_path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _follow_builtin_file(self) -> None:
        # One stat a second; the file is read and hashed only when its mtime or size moved,
        # and loaded (bumping the version every process follows) only when its content did.
        stat = self._stat_builtins()
        if stat is None or stat == self._builtin_stat:
            return
        self._builtin_stat = stat
        try:
            if self.ensure_builtins():
                log.info("builtin intents reloaded from %s", self.builtin_path)
        except (IntentFileError, ValueError):
            # A half-saved or broken edit: keep answering with the intents we have; the next
            # save changes the mtime again and is tried then.
            log.exception("builtin.yaml changed but cannot be loaded; keeping the old intents")

    def _rebuild(self) -> None:
        # Read the version first: an edit landing during the build triggers another one.
        version = self.version()
        specs = self._specs()
        negatives = self.negatives()
        started = time.monotonic()
        matcher = self._build(specs, negatives)
        self._build_seconds = time.monotonic() - started
        self._matcher, self._version = matcher, version
        from bot.understanding.normalise import serve_terms

        serve_terms(matcher.terms)   # for the conversation layer's item matching

    def _rebuild_in_background(self) -> None:
        try:
            self._rebuild()
        except Exception:  # Redis hiccup: keep the old matcher, try again on the next check
            log.exception("matcher rebuild failed")
        finally:
            self._rebuilding = False

    def _specs(self) -> list[Any]:
        from bot.understanding.matcher import IntentSpec

        return [
            IntentSpec.from_dict({k: v for k, v in d.items() if k != "builtin"},
                                 builtin=bool(d.get("builtin")))
            for d in self.all()
        ]

    def _build(self, specs: list[Any], negatives: list[str]) -> Any:
        from bot.understanding.matcher import Matcher

        # The intents' `terms` belong to the matcher built here (jieba is not changed).
        return Matcher(specs, negatives=negatives)
