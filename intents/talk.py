"""The word lists of `intents/conversation_words.yaml` and what they tell about a message:
which follow-up it asks, which entry of a list it picks, whether it hurries or complains."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.conversation.context import MessageContext
from bot.understanding.normalise import normalise

FILE = "conversation_words.yaml"
# Follow-up kinds, in the order they are checked.
LATE, EXPLAIN, ETA, LOGISTICS, STATUS = "late", "explain", "eta", "logistics", "status"
FOLLOWUPS = (LATE, EXPLAIN, ETA, LOGISTICS, STATUS)

_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9, "十": 10, "头": 1}
_EN_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
LAST, OTHER = -1, -2


@dataclass(frozen=True)
class Words:
    raw: dict[str, Any]

    def list(self, name: str) -> tuple[str, ...]:
        found = self._lists.get(name)
        if found is None:
            found = self._lists[name] = tuple(str(w).lower() for w in self.raw.get(name) or [])
        return found

    def set(self, name: str) -> frozenset[str]:
        found = self._sets.get(name)
        if found is None:
            found = self._sets[name] = frozenset(self.list(name))
        return found

    @cached_property
    def _lists(self) -> dict[str, tuple[str, ...]]:
        return {}

    @cached_property
    def _sets(self) -> dict[str, frozenset[str]]:
        return {}

    @cached_property
    def kinds(self) -> dict[str, dict]:
        return self.raw.get("kinds") or {}

    @cached_property
    def phrases(self) -> tuple[str, ...]:
        """Every follow-up and hurry phrase without gaps, longest first."""
        found = {w for spec in self.followups.values() for w in spec.get("words", [])
                 if "…" not in w} | self.set("hurry")
        return tuple(sorted(found, key=len, reverse=True))

    @property
    def followups(self) -> dict[str, dict[str, list[str]]]:
        return self.raw.get("followups") or {}

    @cached_property
    def followup_patterns(self) -> tuple[tuple[str, re.Pattern[str] | None,
                                               re.Pattern[str] | None], ...]:
        """Per follow-up kind, in order: one pattern for any of its `unless` words and one
        for any of its words (a "…" gap as in `_has`). Asked twice of every chat message:
        one search each instead of a Python test per phrase."""
        patterns = []
        for kind in FOLLOWUPS:
            spec = self.followups.get(kind) or {}
            unless = [re.escape(u) for u in spec.get("unless", [])]
            said = [_gapped(w).pattern for w in spec.get("words", [])]
            patterns.append((kind, re.compile("|".join(unless)) if unless else None,
                             re.compile("|".join(said)) if said else None))
        return tuple(patterns)


@lru_cache(maxsize=4)
def _load(path: Path) -> Words:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return Words(_lowered(raw))


def words_of(ctx: MessageContext) -> Words:
    return _load(ctx.services.config.intents_path / FILE)


def _lowered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lowered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [str(v).lower() if not isinstance(v, dict) else _lowered(v) for v in value]
    return value


def text_of(ctx: MessageContext) -> str:
    """The normalised message (what the matcher saw)."""
    return ctx.match.normalised if ctx.match is not None else normalise(ctx.text)


def followup_kind(words: Words, text: str) -> str | None:
    """Which follow-up `text` asks about an order (late, explain, eta, logistics, status)."""
    for kind, unless, said in words.followup_patterns:
        if unless is not None and unless.search(text):
            continue
        if said is not None and said.search(text):
            return kind
    return None


def _has(text: str, phrase: str) -> bool:
    """`phrase` in `text`; a "…" in the phrase stands for up to three characters ("哪天…到"
    finds 哪天到, 哪天能到, 哪天可以到)."""
    if "…" not in phrase:
        return phrase in text
    return _gapped(phrase).search(text) is not None


@lru_cache(maxsize=512)
def _gapped(phrase: str) -> re.Pattern[str]:
    return re.compile(".{0,3}".join(re.escape(part) for part in phrase.split("…")))


def followup_phrases(words: Words) -> tuple[str, ...]:
    """Every follow-up and hurry phrase without gaps, longest first."""
    return words.phrases


_NUMBERED = re.compile(r"第\s*([0-9]{1,2}|[一二两三四五六七八九十])")
_EN_NUMBERED = re.compile(r"\b(?:the\s+)?(first|second|third|fourth|fifth)(?:\s+one)?\b")


def ordinal(words: Words, text: str) -> tuple[int | None, str]:
    """(position, the rest of the message): 1-based, LAST or OTHER; None when `text` picks
    nothing. The rest is what the message says besides the pick ("什么时候到")."""
    spec = words.raw.get("ordinals") or {}
    for name, value in (("last", LAST), ("other", OTHER)):
        for phrase in sorted(spec.get(name) or [], key=len, reverse=True):
            if phrase in text:
                return value, text.replace(phrase, " ", 1)
    found = _NUMBERED.search(text)
    if found:
        raw = found.group(1)
        number = int(raw) if raw.isdigit() else _NUMERALS[raw]
        rest = text[:found.start()] + " " + text[found.end():]
        for suffix in spec.get("numbered_suffixes") or []:
            if rest.lstrip().startswith(suffix):
                rest = rest.replace(suffix, " ", 1)
                break
        return number, rest
    found = _EN_NUMBERED.search(text)
    if found:
        return _EN_ORDINALS[found.group(1)], text[:found.start()] + " " + text[found.end():]
    return None, text


def is_hurry(words: Words, text: str) -> bool:
    return any(w in text for w in words.list("hurry"))


def mentions_damage(words: Words, text: str) -> bool:
    return any(w in text for w in words.list("damage"))
