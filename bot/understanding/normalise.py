"""Text normalisation and tokenisation shared by the matcher and the entity extractor.

Customers type full-width digits, traditional characters, emoji and many words for the same
thing ("邮费"/"运费"/"快递费"). Everything here maps those surface differences onto one form,
so that a handful of examples per intent covers phrasings nobody wrote down.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jieba
import zhconv

from bot.understanding.vocabulary import load_vocabulary

# The general vocabulary (intents/vocabulary/*.yaml), the same for every shop.
VOCABULARY = load_vocabulary()
DOMAIN_WORDS = Path(__file__).resolve().parents[2] / "intents" / "domain_words.txt"
# jieba's dictionary holds 349k words, 200k of them seen only two or three times in its corpus
# (rare names and idioms). Dropping them saves ~35 MB per process; the eval set scores the same
# or better (bench/README.md), since such words are rare in what customers type.
MIN_WORD_COUNT = 4

_NON_WORD = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
# A-not-A questions ask whether A: "包不包邮" = 包邮吗, "能不能" = 能吗, "有没有" = 有吗,
# "可不可以" = 可以吗, "方不方便" = 方便吗. Keeping only A lets one example cover both forms.
_A_NOT_A = re.compile(r"([\u4e00-\u9fff])[不没]\1")
# "X死了" after a feeling or a judgement is an intensifier, not something dead or rotten
# (language.yaml, intensified): only the X is kept.
_INTENSIFIER = re.compile(
    "(?<=[" + VOCABULARY.intensified + "])死(?:我|人)?了?")
# Instalments with their count: "分12期" / "分三期" asks about 分期 like "能分期吗".
_INSTALMENTS = re.compile(r"分(?:[0-9]{1,2}|[一二两三四五六七八九十]{1,3})期")
# A spend-and-save offer with its amounts: "满200减30" is a 满减 (coupon) like "满减怎么用".
_SPEND_SAVE = re.compile(r"满[0-9]{1,5}(?:元|块)?减[0-9]{1,4}(?:元|块)?")

STOPWORDS = VOCABULARY.stopwords
# surface form -> canonical form(s), "a b" for two. Both queries and intent examples go
# through this, so the table only has to be consistent, not linguistically perfect.
SYNONYMS: dict[str, str] = VOCABULARY.synonyms
SYNONYM_GROUPS = VOCABULARY.synonym_groups
CLASS_MEMBERS: dict[str, str] = VOCABULARY.members   # 榴莲 -> 生鲜: one thing of a class

_weights: dict[str, float] = {}
_gram_weights: dict[str, float] = {}
_original_counts: dict[str, int | None] = {}
_domain_words: set[str] = set()

_dictionary_lock = threading.Lock()
_added_words: set[str] = set()
_dictionary_ready = False


# Invisible format characters (Unicode category Cf: zero-width space and joiners, BOM, soft
# hyphen, direction marks) arrive in pasted text and would cut "2026112\u200b40001" in two.
# Listed (Unicode 15's Cf) rather than computed: scanning every code point costs 0.1 s per start;
# tests/understanding/test_hostile_text.py checks the list against unicodedata.
_INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)


def normalise(text: str) -> str:
    """Full/half width, traditional→simplified, lowercase, no punctuation or emoji, one space;
    invisible format characters are dropped, so they join what they stood between."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = zhconv.convert(_INVISIBLE.sub("", text), "zh-cn")
    text = _NON_WORD.sub(" ", text.lower())
    return _SPACES.sub(" ", text).strip()


# Words that together say a third thing ("换" + "尺码" → 换货), read in `matcher.analyse`.
COMBINED_READINGS: dict[tuple[str, str], str] = VOCABULARY.combined
# "换个大的" / "换成小一点的" change to a size: read as 换大 / 换小 (→ 换货 换).
_CHANGE_SIZE = re.compile(r"换(?:个|一个|成|个更|成更)(?=[大小](?:[的点号码些]|一[点号码]))")

# English phrases that mean one shop word as a whole ("cash on delivery"): written joined
# in the synonym table, they are joined before the text is cut into words (`join_phrases`).
ENGLISH_PHRASES = VOCABULARY.english_phrases
_PHRASE = re.compile(r"\b(" + "|".join(sorted(ENGLISH_PHRASES, key=len, reverse=True)) + r")\b")


def join_phrases(text: str) -> str:
    """Normalised text with the shop's English phrases written as one word each."""
    if " " not in text:
        return text
    return _PHRASE.sub(lambda m: m.group(1).replace(" ", ""), text)


def ensure_domain_dictionary() -> None:
    """Load jieba once, quietly, with the domain words and every synonym variant (idempotent)."""
    global _dictionary_ready
    if _dictionary_ready:
        return
    with _dictionary_lock:
        if _dictionary_ready:
            return
        jieba.setLogLevel(logging.WARNING)
        jieba.set_dictionary(str(_trimmed_dictionary(MIN_WORD_COUNT)))
        jieba.initialize()
        if DOMAIN_WORDS.exists():
            for line in DOMAIN_WORDS.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if not parts:
                    continue
                freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                tag = parts[2] if len(parts) > 2 else None
                _domain_words.add(parts[0].lower())
                _add_word(parts[0].lower(), freq, tag)
        for variant in (*SYNONYMS, *SYNONYMS.values()):
            if len(variant) > 1 and not variant.isascii() and " " not in variant:
                _add_word(variant)
        _dictionary_ready = True


def warm_up() -> None:
    """Load what the first match would otherwise load: jieba's dictionary and zhconv's tables
    (most of a second). Callers timing an index build call this first, so they time the build
    and not the one-off loading."""
    ensure_domain_dictionary()
    normalise("訂單")


def _trimmed_dictionary(min_count: int) -> Path:
    """jieba's dictionary without words seen fewer than `min_count` times, written once per
    machine (atomically: several workers may start together)."""
    source = Path(jieba.__file__).resolve().parent / "dict.txt"
    stat = source.stat()
    target = Path(tempfile.gettempdir()) / (
        f"bot-jieba-{min_count}-{stat.st_size}-{int(stat.st_mtime)}.txt")
    if not target.exists():
        kept = [line for line in source.read_text(encoding="utf-8").splitlines()
                if int(line.split(" ", 2)[1]) >= min_count]
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text("\n".join(kept) + "\n", encoding="utf-8")
        partial.replace(target)
    return target


@dataclass(frozen=True)
class Terms:
    """A shop's own words (product names, brands), cut whole by the matcher built for that
    shop only: jieba's dictionary, shared by the process, is never changed for them."""

    words: frozenset[str]
    overlay: dict[str, int]             # the words and their prefixes -> jieba-style counts
    pattern: re.Pattern[str] | None     # finds any of them in a text

    def __contains__(self, word: object) -> bool:
        return word in self.words


NO_TERMS = Terms(frozenset(), {}, None)
# The terms of the shop this process serves (`serve_terms`, called by the intent store after
# each build), for code outside the matcher that cuts text the way the shop's matcher does
# (the conversation layer's item matching). The matcher never reads it: it cuts with its own.
_serving = NO_TERMS
_serving_version = 0


def serve_terms(words: Iterable[str]) -> None:
    """Record the terms of the shop this process now serves (see `merchant_words`)."""
    global _serving, _serving_version
    terms = make_terms(words)
    if terms.words != _serving.words:
        _serving, _serving_version = terms, _serving_version + 1


def merchant_words() -> frozenset[str]:
    """The terms of the shop this process serves (normalised); `tokenise` cuts them whole
    unless given other terms."""
    return _serving.words


def dictionary_version() -> int:
    """Changes whenever the terms of the shop this process serves change: a key for caches of
    how `tokenise` cut something."""
    return _serving_version


def make_terms(words: Iterable[str]) -> Terms:
    """The merchant's terms, normalised; one character is no term."""
    ensure_domain_dictionary()
    wanted = sorted({w for w in (normalise(word).replace(" ", "") for word in words)
                     if len(w) > 1})
    if not wanted:
        return NO_TERMS
    freq = jieba.dt.FREQ
    overlay: dict[str, int] = {}
    for word in wanted:
        if not freq.get(word):
            # What jieba.add_word(word) would give it: just enough to be cut whole.
            overlay[word] = jieba.dt.suggest_freq(word, tune=False)
        for end in range(1, len(word)):
            if word[:end] not in freq and word[:end] not in overlay:
                overlay[word[:end]] = 0   # a prefix, as jieba marks the way to a longer word
    pattern = re.compile("|".join(map(re.escape, sorted(wanted, key=len, reverse=True))))
    return Terms(frozenset(wanted), overlay, pattern)


def _add_word(word: str, freq: int | None = None, tag: str | None = None) -> None:
    if word in _added_words:
        return
    _added_words.add(word)
    _original_counts[word] = jieba.dt.FREQ.get(word)
    # Without a frequency jieba picks one just high enough for the word to be cut out whole.
    jieba.add_word(word, freq, tag)


def tokenise(text: str, terms: Terms | None = None) -> list[str]:
    """Cut normalised text into words (no HMM: unknown words fall apart into characters, which
    keeps segmentation of queries and examples consistent), the shop's `terms` whole (by
    default those of the shop this process serves). A-not-A questions are read as their A
    ("包不包邮" → 包邮)."""
    if terms is None:
        terms = _serving
    ensure_domain_dictionary()
    text = _A_NOT_A.sub(r"\1", text)
    text = _INTENSIFIER.sub("", text)
    text = _INSTALMENTS.sub("分期", text)
    if "减" in text:
        text = _SPEND_SAVE.sub("满减", text)
    text = _CHANGE_SIZE.sub("换", text)
    return [t for t in _cut(text, terms) if not t.isspace()]


# Greetings, thanks and polite openers (language.yaml, politeness), and the sentence particles
# that trail them ("你好呀", "谢谢啦"): they wrap a question rather than ask one.
POLITENESS = frozenset(VOCABULARY.politeness)
_POLITE_TOKENS = max(len(phrase) for phrase in POLITENESS)
_PARTICLES = frozenset("啊 呀 哈 哈哈 呢 吧 哦 噢 嗯 啦 呐 嘛 么 哟 喔 哈喽 的".split())


def strip_politeness(normalised: str) -> str:
    """Normalised text without the politeness that wraps it: clauses that are only politeness,
    and politeness at the start of the first clause and the end of the last one kept ("你好
    请问退货怎么弄 谢谢" → "退货怎么弄"). Phrases are matched on jieba's word boundaries, so
    "亲子装" keeps its 亲. Returns the text unchanged when nothing is politeness; "" when all of
    it is (the caller then reads the whole message: a greeting or thanks)."""
    ensure_domain_dictionary()
    clauses = [_cut(clause) for clause in normalised.split(" ")]
    kept = [tokens for tokens in clauses if tokens and _strip_edge(tokens, True) < len(tokens)]
    if kept:
        start = _strip_edge(kept[0], True)
        kept[0] = kept[0][start:]
        end = _strip_edge(kept[-1], False)
        kept[-1] = kept[-1][:len(kept[-1]) - end]
    return " ".join("".join(tokens) for tokens in kept if tokens)


def _strip_edge(tokens: list[str], from_start: bool) -> int:
    """How many tokens at one edge are politeness (with their particles): 0 unless at least
    one politeness phrase is among them."""
    sequence = tokens if from_start else tokens[::-1]
    at = polite_end = 0
    while at < len(sequence):
        for size in range(min(_POLITE_TOKENS, len(sequence) - at), 0, -1):
            piece = sequence[at:at + size] if from_start else sequence[at:at + size][::-1]
            if "".join(piece) in POLITENESS:
                at += size
                polite_end = at
                break
        else:
            if sequence[at] not in _PARTICLES:
                break
            at += 1
            if polite_end:
                polite_end = at
    return polite_end


# jieba's own block split: runs of Chinese, ASCII letters, digits and a few signs are cut with
# the dictionary; anything else is split on spaces into single characters.
_HAN_BLOCK = jieba.re_han_default
_SKIP = jieba.re_skip_default
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _cut(text: str, terms: Terms = NO_TERMS) -> list[str]:
    """`jieba.lcut(text, HMM=False)`, word for word, in about half the time: jieba's own
    dictionary, DAG and maximum-probability route, with the DAG and the route computed in one
    pass instead of a dict of lists and a generator of tuples per character (a third of a
    match went to jieba's cut). tests/test_matcher.py checks it against jieba."""
    tokenizer = jieba.dt
    tokenizer.check_initialized()
    freq_get = tokenizer.FREQ.get
    if terms.pattern is not None and terms.pattern.search(text):
        # Only for a text holding a term: a lookup through the overlay costs twice as much.
        overlay_get, base_get = terms.overlay.get, freq_get

        def freq_get(word: str) -> int | None:
            count = overlay_get(word)
            return base_get(word) if count is None else count
    logtotal = math.log(tokenizer.total)
    words: list[str] = []
    for block in _HAN_BLOCK.split(text):
        if not block:
            continue
        if _HAN_BLOCK.match(block):
            _cut_block(block, freq_get, logtotal, words)
        else:
            for piece in _SKIP.split(block):
                if _SKIP.match(piece):
                    words.append(piece)
                else:
                    words.extend(piece)
    return words


def cut(text: str, terms: Terms = NO_TERMS) -> list[str]:
    """Normalised text cut into jieba's dictionary words and the shop's `terms` as they stand
    (no readings applied, spaces kept): `"".join(cut(text)) == text`."""
    ensure_domain_dictionary()
    return _cut(text, terms)


def _cut_block(block: str, freq_get, logtotal: float, words: list[str]) -> None:
    # jieba's calc: route[k] = max((log(freq(block[k:x+1]) or 1) - logtotal + route[x+1], x))
    # over the dictionary words starting at k (k alone if none); the same sums in the same
    # order, ties to the longer word as jieba's max over tuples.
    log = math.log
    n = len(block)
    score = [0.0] * (n + 1)
    end = list(range(n))
    for k in range(n - 1, -1, -1):
        best = None
        at = k
        count = freq_get(block[k])
        while count is not None:
            if count:
                candidate = log(count) - logtotal + score[at + 1]
                if best is None or candidate >= best:
                    best = candidate
                    end[k] = at
            at += 1
            if at == n:
                break
            count = freq_get(block[k:at + 1])
        score[k] = 0.0 - logtotal + score[k + 1] if best is None else best
    # jieba's __cut_DAG_NO_HMM: single ASCII letters or digits in a row are one word.
    buffered = ""
    k = 0
    while k < n:
        stop = end[k] + 1
        word = block[k:stop]
        if stop - k == 1 and word in _ASCII_ALNUM:
            buffered += word
        else:
            if buffered:
                words.append(buffered)
                buffered = ""
            words.append(word)
        k = stop
    if buffered:
        words.append(buffered)


def subwords(token: str, terms: Terms = NO_TERMS) -> list[str]:
    """The dictionary words inside a long token ("礼品包装" → 礼品, 包装), as jieba's search
    mode finds them, so a compound in one text still meets its parts in another. A merchant's
    term is a name, not a compound: "人工泪液" says nothing about "人工" (a human agent)."""
    if len(token) < 3 or token in SYNONYMS or token in terms.words:
        return []
    freq = jieba.dt.FREQ
    found = [token[i:i + 2] for i in range(len(token) - 1) if freq.get(token[i:i + 2])]
    if len(token) > 3:
        found += [token[i:i + 3] for i in range(len(token) - 2) if freq.get(token[i:i + 3])]
    return found


def canonical(token: str) -> tuple[str, ...]:
    """The form(s) all variants of a word share; English plurals lose their 's'; a short
    number is any number (a height, a count), long ones are entities and never get here."""
    if token.isdigit() and len(token) < 6:
        return ("数字",)
    if _is_quantity(token):
        return ("数量",)
    found = SYNONYMS.get(token)
    if found is None and token.isascii() and len(token) > 3 and token.endswith("s") \
            and not token.endswith("ss"):
        token = token[:-3] + "y" if token.endswith("ies") else token[:-1]
        found = SYNONYMS.get(token)
    return tuple(found.split()) if found is not None else (token,)


# How common a word is in general Chinese (jieba's dictionary counts), mapped to a weight:
# "是"/"有"/"现在" say little about what a customer wants even when few intents use them, while
# "退货"/"运单号" say a lot. Bounds are log(total / count) for the commonest and rarest words.
_COMMON_LOG, _RARE_LOG, _MIN_WEIGHT = 5.0, 13.0, 0.15
_NUMBER_WEIGHT = 0.3
# jieba has no counts for English: the commonest English words weigh little (language.yaml).
ENGLISH_COMMON = VOCABULARY.english_common
_ENGLISH_COMMON_WEIGHT = 0.3


NUMERALS = frozenset(VOCABULARY.numerals)
MEASURES = VOCABULARY.measures


def _is_quantity(token: str) -> bool:
    """A count of items: numerals and a measure word ("两件", "一盒", "十几个")."""
    for cut_at in range(len(token) - 1, 0, -1):
        if token[cut_at:] in MEASURES:
            return all(c in NUMERALS for c in token[:cut_at])
    return False


def word_weight(word: str) -> float:
    """0.15-1.0: how much a word can say about intent, from its general-language frequency."""
    cached = _weights.get(word)
    if cached is not None:
        return cached
    ensure_domain_dictionary()
    quantity = _is_quantity(word)
    count = 0 if quantity else _general_count(word)   # a count weighs like a number
    if not count:
        if word.isdigit() or quantity:
            weight = _NUMBER_WEIGHT
        elif word in ENGLISH_COMMON:
            weight = _ENGLISH_COMMON_WEIGHT
        elif word in _domain_words or word.isascii() or len(word) == 1:
            weight = 1.0
        else:
            # A colloquial compound jieba does not know ("查一下", "干嘛"): as telling as its
            # characters on average.
            weight = sum(word_weight(c) for c in word) / len(word)
    else:
        rarity = math.log(jieba.dt.total / count)
        weight = (rarity - _COMMON_LOG) / (_RARE_LOG - _COMMON_LOG)
        weight = min(1.0, max(_MIN_WEIGHT, weight))
    if len(_weights) < 100_000:
        _weights[word] = weight
    return weight


def gram_weight(gram: str) -> float:
    """Weight of a character bigram: a word's own, else the mean of its two characters' (a
    bigram across a word boundary is weaker evidence than a word)."""
    cached = _gram_weights.get(gram)
    if cached is not None:
        return cached
    if _general_count(gram) or gram in _added_words:
        weight = word_weight(gram)
    else:
        weight = sum(word_weight(c) for c in gram) / len(gram)
    if len(_gram_weights) < 200_000:
        _gram_weights[gram] = weight
    return weight


def general_count(word: str) -> int:
    """How often jieba's corpus has the word (0 for words it does not know)."""
    ensure_domain_dictionary()
    return _general_count(word)


def _general_count(word: str) -> int:
    # Words we added carry segmentation frequencies, not counts: use jieba's own, if any.
    if word in _original_counts:
        return _original_counts[word] or 0
    return jieba.dt.FREQ.get(word) or 0


# Canonical words that ask rather than say what about: a query sharing only these with an
# intent has not matched its topic.
LIGHT_WORDS = VOCABULARY.light


def is_domain_word(word: str, terms: Terms = NO_TERMS) -> bool:
    """A word of the shop's own vocabulary: a synonym variant or class, a domain dictionary
    word or a merchant's term, whether or not an intent uses it. A number with its measure
    word ("一张", "三瓶", "第三天", "几号") says how many, which any question can: it counts too."""
    return (word in SYNONYMS or word in _SYNONYM_WORDS or word in _domain_words
            or word in terms.words or word in SHOPPING_WORDS
            or _QUANTITY.fullmatch(word) is not None)


# Everyday words of a shopping conversation that no FAQ needs to name (shop_words.yaml):
# shop vocabulary for `is_domain_word`, not synonyms (they stay out of jieba's dictionary).
SHOPPING_WORDS = VOCABULARY.shop_words


_QUANTITY = re.compile(r"[一二两三四五六七八九十百千几第半每整][\u4e00-\u9fff]{1,2}")


# Words of topics no shop answers (off_topic.yaml): each adds OFF_TOPIC_WEIGHT times its
# weight to the content the shop knows nothing of (`matcher._unexplained`).
OFF_TOPIC_WORDS = VOCABULARY.off_topic
OFF_TOPIC_WEIGHT = VOCABULARY.off_topic_weight

_SYNONYM_WORDS = frozenset(w for c in SYNONYMS.values() for w in c.split())


def is_light(word: str) -> bool:
    """A canonical word that asks (什么, 怎么) rather than names a topic."""
    return word in LIGHT_WORDS


def is_stopword(token: str) -> bool:
    """A function word: it shapes character bigrams but is not a feature itself."""
    return token in STOPWORDS


def is_cjk(token: str) -> bool:
    """Not an ASCII word or number (Chinese words take part in character bigrams)."""
    return not _ASCII_WORD.fullmatch(token)
