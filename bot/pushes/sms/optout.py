"""Phones that replied T/TD/退订: no SMS goes to them again. Each opt-out is kept for audit
(phone, when, how, the words), and so is every later reply from an opted-out phone.

Keys: `sms:optout` hash phone → JSON record (the first opt-out); `sms:optout:audit` stream of
every opt-out reply, never trimmed (a regulator may ask when and how a number opted out).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import redis
import yaml

KEY = "sms:optout"
AUDIT = "sms:optout:audit"
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def _normalise(text: str) -> str:
    # NFKC turns full-width Ｔ and ＴＤ into T and TD; case and punctuation never matter.
    return _NOISE.sub("", unicodedata.normalize("NFKC", text)).upper()


@dataclass(frozen=True)
class OptOutWords:
    exact: frozenset[str]
    contains: tuple[str, ...]
    negations: tuple[str, ...]

    @classmethod
    def load(cls, intents_dir: Path) -> OptOutWords:
        data = yaml.safe_load((intents_dir / "push_words.yaml").read_text(encoding="utf-8"))
        return cls(
            exact=frozenset(_normalise(str(w)) for w in data.get("optout_exact", [])),
            contains=tuple(_normalise(str(w)) for w in data.get("optout_contains", [])),
            negations=tuple(_normalise(str(w)) for w in data.get("optout_negations", [])),
        )

    def opts_out(self, text: str) -> bool:
        """Whether a reply asks for no more SMS."""
        words = _normalise(text)
        if not words:
            return False
        if words in self.exact:
            return True
        for word in self.contains:
            at = words.find(word)
            while at >= 0:
                before = words[:at]
                if not any(before.endswith(neg) for neg in self.negations):
                    return True
                at = words.find(word, at + 1)
        return False


class OptOutStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def is_out(self, phone: str) -> bool:
        return bool(self.redis.hexists(KEY, phone))

    def record(self, phone: str) -> dict | None:
        raw = self.redis.hget(KEY, phone)
        return json.loads(raw) if raw else None

    def opt_out(self, phone: str, *, at: float, how: str, text: str, provider: str) -> bool:
        """Opt `phone` out; True if it was not out before. `how` says through what (an SMS
        reply to which provider, the console…); every call adds an audit entry."""
        entry = {"at": int(at), "how": how, "text": text[:70], "provider": provider}
        pipe = self.redis.pipeline(transaction=True)
        pipe.hsetnx(KEY, phone, json.dumps(entry, ensure_ascii=False))
        pipe.xadd(AUDIT, {"phone": phone, **{k: str(v) for k, v in entry.items()}})
        first, _ = pipe.execute()
        return bool(first)

    def audit(self, count: int = 100) -> list[dict[str, str]]:
        """The latest audit entries, newest first."""
        return [fields for _, fields in self.redis.xrevrange(AUDIT, count=count)]
