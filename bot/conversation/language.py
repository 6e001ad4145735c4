"""Which language to answer a message in.

A customer is answered in the language of what they wrote: a message with Chinese characters
in Chinese, one of English words in English. An explicit choice ("English", "中文") holds for
`LANG_CHOICE_HOLD` seconds after it was made, whatever the messages look like; after that the
message's language wins again. Messages that show no language (a number, an emoji, a photo)
keep the stored language: the user's choice, else WeChat's profile language, else the default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.conversation.replies import normalise_lang

_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Latin runs that are not English words: codes customers paste (waybill prefixes, sizes).
_NOT_WORDS = frozenset({"sf", "jd", "ems", "yt", "jt", "ok", "xl", "xxl", "kg", "vip"})
# Chat words Chinese speakers type as often as English speakers do: alone they show nothing.
_WEAK = frozenset({"hi", "hello", "hey", "okay", "ok", "thx", "thanks", "bye", "yes", "no",
                   "yeah", "lol", "haha", "hmm", "emm"})


@dataclass(frozen=True)
class StoredLang:
    """What the user's hash says: the language, where it came from, when it was chosen."""

    lang: str | None = None
    source: str | None = None     # "user" (typed a language command) or "wechat" (profile)
    chosen_at: float = 0.0

    @classmethod
    def from_preloaded(cls, value: object) -> StoredLang:
        """From the coordinator's preload (a [lang, source, at] list) or a bare language."""
        if isinstance(value, list | tuple):
            lang, source, at = (list(value) + [None, None, None])[:3]
            try:
                chosen = float(at) if at else 0.0
            except ValueError:
                chosen = 0.0
            return cls(lang or None, source or None, chosen)
        return cls(value if isinstance(value, str) and value else None)


def message_lang(text: str) -> str | None:
    """zh-CN for Chinese characters, en for English words, None when it shows neither."""
    if _HAN.search(text):
        return "zh-CN"
    words = [w.lower() for w in _LATIN_WORD.findall(text) if w.lower() not in _NOT_WORDS]
    if words and not all(w in _WEAK for w in words):
        return "en"
    return None


def reply_lang(stored: StoredLang, text: str, now: float, hold: float, default: str) -> str:
    """The language to answer `text` in (see the module docstring)."""
    if stored.source == "user" and stored.lang and now - stored.chosen_at < hold:
        return normalise_lang(stored.lang, default)
    spoken = message_lang(text) if text else None
    if spoken:
        return spoken
    return normalise_lang(stored.lang, default)
