"""Match a customer message to an intent: pure Python, no Flask, no Redis.

How a message is scored:

1. Normalise it (width, traditional→simplified, case, punctuation, emoji), find its entities
   and stand a placeholder word in for each number ("订单号", "运单号", "手机号"), so that
   "SF123… 到哪了" reads like "运单号到哪了". A message that is only numbers matches nothing:
   the dialogue layer acts on its entities.
2. Cut it with jieba and the domain dictionary, map each word to its canonical synonym
   ("邮费"→"运费", "顺丰"→"快递", "车厘子"→"生鲜") and set function words aside. Features are the
   words (and the dictionary words inside long compounds) plus character bigrams of each run
   of text, which survive segmentation differences and typos.
3. A feature weighs its IDF over intents (shared by many intents → light) times how rare the
   word the customer typed is in general Chinese (jieba's counts: "是"/"现在" → light,
   "退货"/"运单号" → heavy), but a word of one of the shop's synonym classes weighs at least
   CLASS_WORD_WEIGHT ("日本" → 海外 names the topic, however common it is in the news). A
   number's placeholder, and the word naming it, weigh little beside other content ("发票
   怎么开 订单号 123…" asks about the invoice). A feature no intent has weighs like the rarest
   known one: it is what keeps "今天天气怎么样" off the intents however well "怎么样" matches.
4. One posting list per feature over intents gives each intent the share of the query its
   texts cover, together and weighted by how typical each word is of the intent; an FAQ's
   answer counts too, at half weight and never alone. The best few intents then have their
   examples scored (how much of the query each explains, and how much of itself is in the
   query), are compared with rapidfuzz, get a bonus for their keywords, and are discounted
   when the only shared words are question words ("什么", "在") or a class the message names
   by one of its members ("榴莲怎么挑" shares only 生鲜 with the spoilt-fresh-food FAQ), and
   when content the shop knows nothing of outweighs what they share.
5. The blend is mapped onto 0-100 so that the default threshold is 50. Each intent's
   threshold is moved, by at most 10 points, by what the message offers besides its score
   (`acceptance.Bar`): a message of many topic words needs less, one whose words the
   intents mostly do not know, or with a close runner-up, needs more. The best intent over
   that bar is the answer, "ambiguous" when another one that could be is within
   the ambiguity margin (2 points; optionally a share of the best score), "unmatched" when the
   message reads at least as much like one the shop's staff dismissed as not for the shop
   (`negatives`, see `IntentStore.add_negative`).

Before any of this, politeness that wraps a message ("你好 请问…谢谢") is set aside when the
rest says something ("你好" alone is still a greeting), and a homophone typo that falls apart
into single characters is read as the intents' word it sounds like ("快第" → 快递, by pinyin).

Two readings use the index's own vocabulary. A two-character word no intent has that
shortens a three-character word an intent has, keeping its first and last character, is read
as that word ("开票" for "开发票"): the common way three-character words get clipped,
learnt from whatever the intents say instead of listed. And a message whose content words
are exactly an example's is that example's intent even when they are only question words
("在吗" is "亲在吗" without the "亲"). A message of several clauses that matches nothing as a
whole is answered by its best-understood clause ("货到哪了 急用"; a space between English
words is no clause break). A-not-A questions are read as their A before any of this ("包不包邮"
→ 包邮, see `normalise.tokenise`).

The blend weights and the threshold were chosen on the dev set plus hand-written queries
(flat optimum); bench/matcher_eval.py measures the development sets and, once per round, a
final set nobody changing the matcher has read. The index is built once in
`Matcher.__init__`; callers build a new Matcher when intents change. The general vocabulary
is data (intents/vocabulary/); a shop's own terms belong to its Matcher.
"""

from __future__ import annotations

import heapq
import math
import re
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from rapidfuzz.fuzz import ratio

from bot.understanding import pinyin
from bot.understanding.acceptance import DEFAULT_BAR, Bar, Evidence
from bot.understanding.entities import ORDER, PHONE, TRACKING, Entities, extract_entities, scan
from bot.understanding.normalise import (
    CLASS_MEMBERS,
    COMBINED_READINGS,
    LIGHT_WORDS,
    NO_TERMS,
    OFF_TOPIC_WEIGHT,
    OFF_TOPIC_WORDS,
    POLITENESS,
    SYNONYMS,
    Terms,
    canonical,
    cut,
    ensure_domain_dictionary,
    general_count,
    gram_weight,
    is_cjk,
    is_domain_word,
    is_light,
    is_stopword,
    join_phrases,
    make_terms,
    normalise,
    strip_politeness,
    subwords,
    tokenise,
    word_weight,
)

__all__ = [
    "Entities", "IntentSpec", "MatchResult", "Matcher", "extract_entities", "normalise",
]

DEFAULT_THRESHOLD = 50.0
DEFAULT_MARGIN = 2.0

# A number in the text stands for what it is, so "SF123… 到哪了" reads like "运单号到哪了".
PLACEHOLDERS = {ORDER: "订单号", TRACKING: "运单号", PHONE: "手机号"}
_IDENTIFIERS = frozenset(PLACEHOLDERS.values())
# Where a message breaks into clauses: a space with Chinese on either side. Spaces between
# English words are word breaks ("hello world" is one clause, not a greeting and a word).
_CLAUSE_BREAK = re.compile(r"(?<![a-z0-9]) | (?![a-z0-9])")

IDENTIFIER_WEIGHT = 0.2   # a number's placeholder (and its label) beside other content
# A word of one of the shop's vocabulary classes weighs at least this much, however common it
# is in general Chinese: "日本" (→ 海外) or "苹果" (→ 生鲜) name what the question is about.
CLASS_WORD_WEIGHT = 0.6
WORD_WEIGHT = 1.0         # feature type weights, before IDF and general-language weight
BIGRAM_WEIGHT = 0.5
STOP_IN_BIGRAMS = True    # "发货了" keeps its "货了": function words still shape bigrams
UNKNOWN_DF = 1.0          # an unseen feature weighs like one only a single intent uses
QUERY_COVERAGE = 0.5      # share of an example's score from how much of the query it explains
EXAMPLE_COVERAGE = 1.0 - QUERY_COVERAGE
# The blend (before rapidfuzz): best example, share of the query the intent's texts cover
# together, and the same weighted by how typical each word is of the intent.
EXAMPLE_SHARE = 0.3
UNION_SHARE = 0.4
TYPICAL_SHARE = 0.3
# An FAQ's answer says what the intent is about in more words than its examples: "防伪码" in
# the authenticity answer is evidence for "吊牌上的防伪码在哪扫". A word only the answer has
# counts for this share of the union coverage, is in no example and reads no typo. Over the
# development sets (898 in-domain, 414 off-topic): 0.5 gave 6 more right answers, 9 fewer
# wrong and 1 more off-topic unmatched; 0.25/0.75/1.0 +1/+8/+8 right, -7/-8/-6 wrong.
ANSWER_SHARE = 0.5
# Only the start of an answer is read: it says what the answer is about, and a merchant's
# answer of several paragraphs would otherwise add hundreds of features per intent.
ANSWER_CHARS = 200
FUZZY_SHARE = 0.1        # of the final score, from the rapidfuzz ratio
QUESTION_VOTES = 2        # the question counts as two examples when judging typicality
MIN_EVIDENCE = 0.25       # general-language weight of topic words the intent must share
KEYWORD_BONUS = 8.0       # raw points for an intent whose keyword is in the message
# Content the shop knows nothing of: topic words (general-language weight at least
# UNEXPLAINED_MIN_WEIGHT) that no intent has and that are not shop vocabulary ("征信", "装修",
# "python"). When they outweigh UNEXPLAINED_RATIO times an intent's evidence, the message is
# about something else that happens to share a word with the intent ("信用卡逾期影响征信吗" is
# not about paying by card): the intent's score shrinks in proportion.
UNEXPLAINED_MIN_WEIGHT = 0.5
UNEXPLAINED_RATIO = 1.5
# A message whose only topic words an intent shares are classes of things it names by a member
# (生鲜 by 榴莲 in "榴莲怎么挑", 快递 by 申通 in "申通老板是谁") asks about that thing, not the
# shop's rule for the class: the intent's score is scaled by MEMBER_ONLY. Over the development
# sets (1,114 in-domain, 562 off-topic), alone: 11 more off-topic messages unmatched, nothing
# lost; with MEMBER_WEIGHT below, 3 more than that weight alone.
MEMBER_ONLY = 0.8
# The goods a message names by a member of their class (T恤, 榴莲, 耳机) are what it is about,
# not what it asks: their class word weighs MEMBER_WEIGHT of its weight, so "买两件t恤要付邮费不"
# is mostly the shipping fee. Over the development sets, alone: 4 more right answers, 9 more
# off-topic unmatched, nothing lost (with countries and colours as classes too, 0.8: +3/+1,
# 0.6: +0/+2, 0.5: -3 right/+3; they are the question, not the goods, and are no class now).
MEMBER_WEIGHT = 0.7
# Raw blend scores of good paraphrases sit around 35-70; a power curve maps the raw score that
# best separates answerable from off-topic queries (33) to 50, so the default threshold reads
# as "half sure" and merchants' per-intent thresholds have room on both sides.
RAW_AT_THRESHOLD = 33.0
SCORE_CURVE = math.log(0.5) / math.log(RAW_AT_THRESHOLD / 100.0)
# When only one clause of a message is understood well enough to answer, and the whole message
# reads more like another intent scoring at least CLAUSE_RIVAL of the clause's answer, the bot
# asks between the two. Over the development sets (685 in-domain queries) 0.6 turned 2 wrong
# answers and 1 right one into a question; 0.7 one wrong; 0.8 and above nothing.
CLAUSE_RIVAL = 0.6
# The id the staff's negative examples are indexed under (no intent id can start with "~":
# they are never shown or answered).
NOT_FOR_THE_SHOP = "~not-for-the-shop"
# A runner-up within this share of the leader's score (or DEFAULT_MARGIN points, whichever is
# more) could as well be what was meant: the bot asks which ("您是想问:1…2…") rather than
# answer. Off by default: at 5% it took 2 wrong answers off 685 development queries but asked
# about 1 right one and, worse, about "100001 发货了吗" (order status or the shipping-time FAQ,
# 75 against 73), which an order number settles; 8-10% cost 18-23 right answers for 4-7 wrong.
RELATIVE_MARGIN = 0.0
SHORTLIST_INTENTS = 8     # intents whose examples are scored and compared with rapidfuzz
# Beyond the best SHORTLIST_MIN, an intent whose coverage of the message is under
# SHORTLIST_FLOOR of the leader's is not scored: that far behind, its examples do not lift it
# to the top two. On 8,213 dev, held-out and bench queries no outcome, intent, score, option or
# best candidate changed (only some of the runners-up listed after the best), for 13% fewer
# instructions per query at 1,000 intents.
SHORTLIST_MIN = 3
SHORTLIST_FLOOR = 0.6
FUZZY_EXAMPLES = 2        # closest examples per shortlisted intent compared with rapidfuzz
_OTHER_SHARE = 1 - FUZZY_SHARE
# Features in more than this share of intents are not walked in the index (their postings
# are long and their weight small); they are added back for the shortlisted intents.
COMMON_SHARE = 0.05
COMMON_MIN = 200
# Texts whose entities and analysis each Matcher keeps (least recently used go first):
# customers send the same few messages ("你好", "转人工") over and over.
ANALYSIS_CACHE = 256
# Tokens whose reading (canonical words and weights) is kept, for all matchers together.
TOKEN_READINGS = 8192


@dataclass(frozen=True)
class IntentSpec:
    id: str
    question: str
    examples: tuple[str, ...] = ()
    answer: str | None = None
    keywords: tuple[str, ...] = ()
    threshold: float | None = None   # per-intent override of the match threshold (0-100)
    builtin: bool = False
    # The merchant's own words this intent needs cut whole (product names, brands):
    # "人工泪液" must not fall apart into "人工" (a hand-off word) and "泪液".
    terms: tuple[str, ...] = ()
    # The question in other languages, as (language, text) pairs: ("en", "Track my parcel").
    questions: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, d: dict, builtin: bool = False) -> IntentSpec:
        """From the import format; unknown keys are the caller's business and are ignored."""
        if not d.get("id") or not d.get("question"):
            raise ValueError("an intent needs an id and a question")
        threshold = d.get("threshold")
        answer = d.get("answer")
        questions = d.get("questions") or {}
        return cls(
            id=str(d["id"]).strip(),
            question=str(d["question"]).strip(),
            examples=_strings(d.get("examples")),
            answer=str(answer).strip() if answer is not None else None,
            keywords=_strings(d.get("keywords")),
            threshold=float(threshold) if threshold is not None else None,
            builtin=builtin,
            terms=_strings(d.get("terms")),
            questions=tuple(sorted(
                (str(lang), str(text).strip()) for lang, text in questions.items()
                if str(text).strip()
            )),
        )

    def to_dict(self) -> dict:
        """The import/export format: id and question, then only the optional fields in use."""
        out: dict[str, Any] = {"id": self.id, "question": self.question}
        if self.questions:
            out["questions"] = dict(self.questions)
        if self.examples:
            out["examples"] = list(self.examples)
        if self.answer:
            out["answer"] = self.answer
        if self.keywords:
            out["keywords"] = list(self.keywords)
        if self.terms:
            out["terms"] = list(self.terms)
        if self.threshold is not None:
            out["threshold"] = self.threshold
        return out

    def question_for(self, lang: str) -> str:
        """The question to show a user of `lang` (in a clarification).

        The question in that language if the intent has one; else, for a user who does not
        read Chinese, an example written in their script (a merchant's English phrasing reads
        better than a Chinese question); else the question itself.
        """
        own = dict(self.questions)
        if lang in own:
            return own[lang]
        base = lang.split("-")[0]
        for code, text in self.questions:
            if code.split("-")[0] == base:
                return text
        if base != "zh":
            for example in self.examples:
                if example.isascii() and any(c.isalpha() for c in example):
                    return example
        return self.question


@dataclass(frozen=True)
class MatchResult:
    text: str
    normalised: str
    outcome: str                  # "matched" | "ambiguous" | "unmatched"
    intent: str | None            # the chosen id when matched, else None
    score: float                  # best score 0-100
    candidates: tuple[tuple[str, float], ...]   # best first, at most 3, rounded to 1 decimal
    entities: Entities
    options: tuple[str, ...] = ()   # when ambiguous: the two intents to offer, best first
    bar: float = 0.0                # the score the best candidate had to reach
    evidence: Evidence | None = None   # what the message offered besides its score


@dataclass(frozen=True)
class _Analysis:
    features: dict[str, float]    # feature -> type weight x general-language weight (no IDF)
    compact: str                  # canonical words joined, for rapidfuzz
    tokens: frozenset[str]        # canonical content words, for keywords
    has_content: bool             # any content word besides number placeholders
    topical: dict[str, float]     # "w:" features of topic words -> general-language weight
    unexplained: float = 0.0      # weight of topic words no intent has (see _unexplained)
    members: frozenset[str] = frozenset()   # "w:" classes named only by a member (榴莲 → 生鲜)


def analyse(normalised: str, spans: list[tuple[int, int, str]] | None = None,
            terms: Terms = NO_TERMS) -> _Analysis:
    """Features of normalised text; `spans` are entity spans to replace by placeholders,
    `terms` the shop's own words, cut whole."""
    if spans is None:
        spans = scan(normalised)[1]
    readings = _token_readings()
    words: list[tuple[str, int, bool, bool]] = []   # (word, kind, in a bigram run, Chinese)
    extra: list[str] = []            # words inside compounds: features, not part of the text
    weights: dict[str, float] = {}
    evidence: dict[str, float] = {}   # what a word says of the topic (see _words)
    placeholders = set()
    by_member: set[str] = set()   # classes the text names by a member, and words it says
    said: set[str] = set()
    at = 0
    for start, end, kind in spans:
        _words(normalised[at:start], words, extra, weights, evidence, readings, terms,
               by_member, said)
        placeholder = PLACEHOLDERS[kind]
        words.append((placeholder, _SLOT, False, is_cjk(placeholder)))
        weights[placeholder] = 1.0
        placeholders.add(placeholder)
        at = end
    _words(normalised[at:], words, extra, weights, evidence, readings, terms, by_member, said)
    # Two words that together say a third ("换" + "尺码" → 换货): the third is a feature too.
    for (first, second), word in COMBINED_READINGS.items():
        if first in weights and second in weights and word not in weights:
            extra.append(word)
            weights[word] = min(weights[first], weights[second])
            evidence[word] = min(evidence.get(first, 1.0), evidence.get(second, 1.0))
    # A number and the word naming it ("订单号 123…") say which order, not what is wanted:
    # beside other content they weigh little, so "发票怎么开 订单号 123…" is about the invoice.
    if placeholders and any(kind == _CONTENT and word not in placeholders
                            for word, kind, _, _ in words):
        for word in placeholders:
            weights[word] = IDENTIFIER_WEIGHT

    features: dict[str, float] = {}
    content: list[str] = []
    parts: list[str] = []            # content words, a space between Chinese and other words
    has_content = False
    previous_cjk = False
    run = ""
    for word, kind, joins, cjk in words:
        # A placeholder was not typed: it ends a run instead of making bigrams.
        if joins:
            run += word
        elif run:
            _bigrams(run, features)
            run = ""
        if kind == _CONTENT or kind == _SLOT:
            if content and not (cjk and previous_cjk):
                parts.append(" ")
            parts.append(word)
            previous_cjk = cjk
            content.append(word)
            if kind == _CONTENT:
                has_content = True
    if run:
        _bigrams(run, features)
    topical: dict[str, float] = {}
    only_members = by_member - said
    for word in (*content, *extra):
        key = "w:" + word
        weight = weights[word]
        features[key] = WORD_WEIGHT * weight * (MEMBER_WEIGHT if word in only_members else 1.0)
        if word not in LIGHT_WORDS:
            topical[key] = min(weight, evidence.get(word, 1.0))
    return _Analysis(
        features=features,
        compact="".join(parts),
        tokens=frozenset(content),
        has_content=has_content,
        topical=topical,
        members=frozenset("w:" + word for word in only_members),
    )


def _bigrams(run: str, features: dict[str, float]) -> None:
    for i in range(len(run) - 1):
        gram = run[i:i + 2]
        key = "b:" + gram
        if key not in features:
            features[key] = BIGRAM_WEIGHT * gram_weight(gram)


_CONTENT, _STOP, _BREAK, _SLOT = 0, 1, 2, 3
_RUN_BREAK = ("", _BREAK, False, False)


def _words(
    text: str, words: list[tuple[str, int, bool, bool]], extra: list[str],
    weights: dict[str, float], evidence: dict[str, float], readings: dict[str, _Reading],
    terms: Terms, by_member: set[str], said: set[str],
) -> None:
    # A space between words (a new clause, or text around a number) ends a bigram run.
    words.append(_RUN_BREAK)
    for piece in join_phrases(text).split():
        for token in tokenise(piece, terms):
            if token in terms.words:
                # A shop's term reads per shop (kept whole, weighs as a name): not cached
                # with the general words every matcher shares.
                reading = _read(token, terms)
            else:
                reading = readings.get(token)
                if reading is None:
                    reading = _read(token)
                    if len(readings) < TOKEN_READINGS:
                        readings[token] = reading
            heads, parts = reading
            member_of = CLASS_MEMBERS.get(token)
            for entry, own, share in heads:
                words.append(entry)
                if own is not None:
                    word = entry[0]
                    (by_member if word == member_of else said).add(word)
                    known = weights.get(word, 0.0)
                    weights[word] = own if own > known else known
                    known = evidence.get(word, 0.0)
                    evidence[word] = share if share > known else known
            for word, own in parts:
                extra.append(word)
                said.add(word)
                known = weights.get(word, 0.0)
                weights[word] = own if own > known else known
                known = evidence.get(word, 0.0)
                evidence[word] = own if own > known else known
        words.append(_RUN_BREAK)


# What a token contributes, the same every time it is typed: its canonical words as entries
# of `words` with the weight each takes and its share of the token's evidence (None for a
# function word, which weighs nothing), and the canonical words inside it (a compound's parts)
# with theirs (a part's weight is its evidence too).
_Reading = tuple[tuple[tuple[tuple[str, int, bool, bool], float | None, float | None], ...],
                 tuple[tuple[str, float], ...]]


def _read(token: str, terms: Terms = NO_TERMS) -> _Reading:
    if is_stopword(token):
        return ((_entry(token, _STOP), None, None),), ()
    heads = []
    # A canonical word weighs what the customer actually typed: "查一下" is everyday
    # chat, "查询" is not, though both become "查询". A term jieba has no count for is a
    # name, as telling as the rarest word.
    weight = 1.0 if token in terms.words and not general_count(token) else word_weight(token)
    forms = canonical(token)
    for word in forms:
        own = weight
        if (word != token or token in SYNONYMS) and not is_light(word):
            own = max(weight, CLASS_WORD_WEIGHT)
        # One typed word is one piece of evidence for a topic, however many canonical
        # words it stands for ("信用卡" is 信用卡 and 付款): its forms share it.
        heads.append((_entry(word, _STOP if is_stopword(word) else _CONTENT), own,
                      own / len(forms)))
    parts = []
    for part in subwords(token, terms):
        for word in canonical(part):
            if not is_stopword(word):
                parts.append((word, word_weight(part)))
    return tuple(heads), tuple(parts)


def _entry(word: str, kind: int) -> tuple[str, int, bool, bool]:
    cjk = is_cjk(word)
    return word, kind, kind < _BREAK and cjk and (kind == _CONTENT or STOP_IN_BIGRAMS), cjk


# Readings of the tokens seen (but a shop's terms): customers and intents use the same few
# thousand words, and jieba's dictionary never changes once loaded.
_readings: dict[str, _Reading] = {}


def _token_readings() -> dict[str, _Reading]:
    return _readings


class Matcher:
    """An immutable index over intents; `match` is safe to call from many threads."""

    def __init__(
        self,
        intents: Iterable[IntentSpec],
        extra_words: Iterable[str] = (),
        threshold: float = DEFAULT_THRESHOLD,
        ambiguity_margin: float = DEFAULT_MARGIN,
        relative_margin: float = RELATIVE_MARGIN,
        negatives: Iterable[str] = (),
        bar: Bar | None = DEFAULT_BAR,
    ) -> None:
        """Build the index; `extra_words` and the intents' `terms` are the merchant's own
        words, cut whole by this matcher (no other matcher or process state sees them). `negatives`
        are messages the shop's staff dismissed as not for the shop: a message that reads
        more like one of them than like any intent (or about as much) stays unmatched.
        `bar` moves each intent's threshold by what the message says (see `acceptance`);
        with None, a candidate needs only its threshold."""
        ensure_domain_dictionary()
        specs = list(intents)
        # Keywords are matched as sets of words, so they are not terms: that would glue
        # "订单状态" into one token and hide its parts from the synonyms.
        self._terms = make_terms([*extra_words, *(t for spec in specs for t in spec.terms)])
        self.threshold = threshold
        self.ambiguity_margin = ambiguity_margin
        self.relative_margin = relative_margin
        self.bar = bar
        self._specs = {spec.id: spec for spec in specs}
        self._negatives = tuple(dict.fromkeys(
            text.strip() for text in negatives if text and text.strip()))
        # The negatives are indexed as one more intent, last, that is never an answer.
        indexed = list(self._specs.values())
        self._negative = -1
        if self._negatives:
            self._negative = len(indexed)
            indexed.append(IntentSpec(id=NOT_FOR_THE_SHOP, question=self._negatives[0],
                                      examples=self._negatives[1:]))
        self._indexed = indexed
        self._ids = [spec.id for spec in indexed]
        self._thresholds = [
            spec.threshold if spec.threshold is not None else threshold for spec in indexed
        ]
        self._build()

    @property
    def intents(self) -> Mapping[str, IntentSpec]:
        return MappingProxyType(self._specs)

    @property
    def terms(self) -> frozenset[str]:
        """The shop's own words this matcher cuts whole (normalised)."""
        return self._terms.words

    def tokens(self, text: str) -> list[str]:
        """How this matcher cuts a message into words (the shop's terms whole)."""
        return tokenise(normalise(text), self._terms)

    @property
    def negatives(self) -> tuple[str, ...]:
        """The messages staff dismissed as not for the shop, as given."""
        return self._negatives

    def _build(self) -> None:
        # One posting list per feature, over intents (not examples: far fewer entries to walk
        # per query). Each entry carries the intent's blend coefficient for the feature and a
        # bit mask of which of the intent's texts have it, so the examples of the few
        # shortlisted intents can be scored without a second index.
        vocab: dict[str, int] = {}
        postings: list[Any] = []   # array("I"), a list once known to be walked (below)
        shares: list[Any] = []     # array("f"), likewise
        masks: list[list[int]] = []
        # Every example's (feature, weight) pairs in two flat arrays, kept only until the IDF
        # is known; flat arrays keep the build's memory peak (and the RSS it leaves) small.
        flat_fids = array("I")
        flat_weights = array("f")
        ex_ends = array("I")
        self._ex_compact: list[str] = []
        self._ex_start = array("I")
        self._keywords: list[tuple[frozenset[str], ...]] = []
        question_word_examples: list[tuple[int, int]] = []

        def feature_id(feature: str) -> int:
            fid = vocab.get(feature)
            if fid is None:
                fid = vocab[feature] = len(vocab)
                postings.append(array("I"))
                shares.append(array("f"))
                masks.append([])
            return fid

        for index, spec in enumerate(self._indexed):
            self._ex_start.append(len(self._ex_compact))
            counts: dict[int, int] = {}
            bits: dict[int, int] = {}
            size = 0
            texts = dict.fromkeys((spec.question, *spec.examples, *spec.keywords))
            for text in texts:
                analysis = analyse(normalise(text), terms=self._terms)
                if not analysis.features:
                    continue
                # The question is the merchant's own summary of the intent: it counts double
                # when judging how typical a word is of the intent.
                votes = QUESTION_VOTES if text == spec.question else 1
                size += votes
                bit = 1 << (len(self._ex_compact) - self._ex_start[index])
                for feature, weight in analysis.features.items():
                    fid = feature_id(feature)
                    counts[fid] = counts.get(fid, 0) + votes
                    bits[fid] = bits.get(fid, 0) | bit
                    flat_fids.append(fid)
                    flat_weights.append(weight)
                ex_ends.append(len(flat_fids))
                if analysis.compact and not analysis.topical:
                    # Only question words ("亲在吗"): matched by saying exactly that.
                    question_word_examples.append((index, len(self._ex_compact)))
                self._ex_compact.append(analysis.compact)
            if spec.answer and ANSWER_SHARE:
                # Words only the answer has are weaker evidence: no example of theirs.
                answer = normalise(spec.answer)[:ANSWER_CHARS]
                for feature in analyse(answer, terms=self._terms).features:
                    fid = feature_id(feature)
                    if fid not in counts:
                        counts[fid] = 0
                        bits[fid] = 0
            for fid, count in counts.items():
                postings[fid].append(index)
                shares[fid].append(count / size if count else -1.0)
                masks[fid].append(bits[fid])
            keyword_tokens = (analyse(normalise(k), terms=self._terms).tokens
                              for k in spec.keywords)
            self._keywords.append(tuple(t for t in keyword_tokens if t))
        self._ex_start.append(len(self._ex_compact))

        self._vocab = vocab
        # Answers count in how common a word is: they repeat the shop's everyday words
        # (订单, 退款, 售后), which makes those lighter. Counting only the phrasings gave 6
        # more wrong answers on the development sets (31 against 25 of 1,114).
        # The staff's negatives do not: a dismissed message that uses the shop's words
        # ("支付宝花呗怎么关") must not make them lighter for every real question.
        negative = self._negative
        n = max(len(self._indexed) - (negative >= 0), 1)
        self._idf = idf = array("d", (
            _idf(n, max(len(posting) - (negative >= 0 and posting[-1] == negative),
                        UNKNOWN_DF))
            for posting in postings))
        self._idf_unknown = _idf(n, UNKNOWN_DF)
        # Features only the answers have: no customer phrasing of any intent.
        answer_only = frozenset(
            feature for feature, fid in vocab.items() if max(shares[fid]) < 0)
        # Union coverage and typical-weighted coverage folded into one coefficient per entry.
        for feature_shares in shares:
            for at, share in enumerate(feature_shares):
                feature_shares[at] = (UNION_SHARE + TYPICAL_SHARE * share if share >= 0
                                      else ANSWER_SHARE * UNION_SHARE)
        self._common_cut = max(COMMON_MIN, int(COMMON_SHARE * n))
        # The postings walked per query as lists rather than arrays: an array makes a new int
        # and float object for every entry read, a list hands out the ones it holds. Every list
        # shares one int object per intent and one float per distinct coefficient (a few dozen:
        # shares are small fractions), so a list costs 8 bytes per entry more than the array.
        # Common features keep their arrays: they are only bisected for shortlisted intents.
        # Features in the same intents (a word and its own bigram, "w:电池" and "b:电池", most
        # often) share one posting: less memory, and each is bisected once per query.
        intents = list(range(len(self._indexed)))
        floats: dict[float, float] = {}
        unique: dict[bytes, Any] = {}
        for fid, posting in enumerate(postings):
            walked = len(posting) <= self._common_cut
            key = posting.tobytes()
            same = unique.get(key)
            if same is None:
                same = unique[key] = [intents[i] for i in posting] if walked else posting
            postings[fid] = same
            if walked:
                shares[fid] = [floats.setdefault(c, c) for c in shares[fid]]
        del unique
        self._postings = postings
        self._coefs = shares
        self._masks = masks
        # Per feature, its (posting, coefficients) if it is walked per query, None if common.
        self._walk: list[tuple[list[int], list[float]] | None] = [
            (posting, feature_coefs) if len(posting) <= self._common_cut else None
            for posting, feature_coefs in zip(postings, shares, strict=True)
        ]
        self._ex_weight = array("d")
        begin = 0
        for end in ex_ends:
            self._ex_weight.append(sum(
                flat_weights[k] * idf[flat_fids[k]] for k in range(begin, end)
            ))
            begin = end
        self._exact: dict[str, set[int]] = {}
        for index, at in question_word_examples:
            self._exact.setdefault(self._ex_compact[at], set()).add(index)
        clipped: dict[str, str | None] = {}
        for feature in vocab:
            word = feature[2:]
            if feature.startswith("w:") and len(word) == 3 and is_cjk(word) \
                    and feature not in answer_only:
                short = word[0] + word[2]
                clipped[short] = word if clipped.get(short, word) == word else None
        # A clipping two words share is no reading of either.
        self._clipped = {short: word for short, word in clipped.items()
                         if word and "w:" + short not in vocab}
        # What the intents say: the features of the staff's negatives alone are no topic the
        # shop knows (a message about them is still about something else).
        dismissed: frozenset[str] = frozenset()
        if self._negative >= 0:
            only = [self._negative]
            dismissed = frozenset(
                feature for feature, fid in vocab.items() if list(postings[fid]) == only)
        # What the intents' phrasings say: a word only an answer uses reads no typo and
        # explains nothing of a message by itself (the same outcomes on every development
        # set as counting it as known, and one notion of "known" fewer).
        self._dismissed = dismissed
        known = _Known(vocab, dismissed | answer_only)
        self._homophones = _homophones(known)
        self._understand = _understanding(self._clipped, self._homophones, known, self._terms)

    def match(self, text: str) -> MatchResult:
        """Score `text` against every intent; see the module docstring for how."""
        normalised = normalise(text)
        entities, analysis, core = self._understood(normalised)
        reading = normalised
        if core is not None:
            reading, analysis = core   # what the message says inside its politeness
        evidence = self._evidence(analysis)
        shift = self._shift(evidence)
        scored, dismissed = self._scores(analysis, shift) if analysis.has_content \
            else ([], False)
        chosen = self._choose(scored, shift)
        whole_best = scored[0] if scored else None
        from_clause = False
        if chosen is None and " " in reading and not dismissed:
            clause_scored, clause_evidence = self._best_clause(reading, analysis.unexplained)
            if clause_scored and clause_evidence is not None:
                # The clause's own bar; `evidence` stays the whole message's (what the bar's
                # model was fitted on).
                scored, from_clause = clause_scored, True
                shift = self._shift(clause_evidence)
            chosen = self._choose(scored, shift)
        if dismissed:
            chosen = None   # reads like what staff said is not for the shop
        ids = self._ids
        candidates = tuple([(ids[i], round(s, 1)) for s, i in scored[:3]])
        outcome, intent, options = "unmatched", None, ()
        best = scored[0][0] if scored else 0.0
        needed = self._bar(scored, scored[0], shift) if scored else self.threshold
        if chosen is not None:
            best, top = chosen
            needed = self._bar(scored, chosen, shift)
            outcome, intent = "matched", self._ids[top]
            rival = self._rival(scored, chosen, shift)
            if rival is None and from_clause and whole_best is not None \
                    and whole_best[1] != top and whole_best[0] >= CLAUSE_RIVAL * best:
                # One clause answers, but the whole message reads more like another intent
                # ("台头写成个人了 想换成公司": the invoice title, though only "换" is clear):
                # ask which, rather than answer the clause.
                rival = whole_best
            if rival is not None:
                pair = sorted((chosen, rival), reverse=True)
                outcome, intent = "ambiguous", None
                options = tuple(self._ids[i] for _, i in pair)
        return MatchResult(
            text=text,
            normalised=normalised,
            outcome=outcome,
            intent=intent,
            score=round(best, 1),
            candidates=candidates,
            entities=entities,
            options=options,
            bar=round(needed, 1),
            evidence=evidence,
        )

    def _best_clause(self, normalised: str, unexplained: float
                     ) -> tuple[list[tuple[float, int]], Evidence | None]:
        """Scores of the best-understood clause of a message made of several ("货到哪了 急用"):
        a clause about something else should not hide the one that asks for something.
        A clause that only names a number ("订单号 123…") is the last resort: beside a question
        it labels the number rather than asks about the order. What the whole message says
        that the shop knows nothing of (`unexplained`) still counts against each clause:
        "装修太吵了 烦死了" is not about the shop because its last clause could be."""
        best: list[tuple[float, int]] = []
        best_evidence: Evidence | None = None
        best_key = (False, 0.0)
        for clause in _CLAUSE_BREAK.split(normalised):
            analysis = self._understood(clause)[1]
            if not analysis.has_content:
                continue
            if unexplained > analysis.unexplained:
                analysis = replace(analysis, unexplained=unexplained)
            evidence = self._evidence(analysis)
            shift = self._shift(evidence)
            scored, dismissed = self._scores(analysis, shift)
            chosen = self._choose(scored, shift)
            if chosen is None or dismissed:
                continue
            key = (not analysis.tokens <= _IDENTIFIERS, chosen[0])
            if not best or key > best_key:
                best, best_evidence, best_key = scored, evidence, key
        return best, best_evidence

    def _evidence(self, analysis: _Analysis) -> Evidence:
        """What the message offers besides its score (see `acceptance`); the shop's own
        terms are known words even when no intent's text has them yet."""
        vocab, dismissed = self._vocab, self._dismissed
        terms = self._terms.words
        total = unknown = 0.0
        for feature, weight in analysis.features.items():
            total += weight
            if (feature not in vocab or feature in dismissed) and feature[2:] not in terms:
                unknown += weight
        return Evidence(topic_words=len(analysis.topical),
                        unknown_share=unknown / total if total > 0 else 0.0,
                        unexplained=analysis.unexplained)

    def _shift(self, evidence: Evidence) -> float | None:
        """How far the message moves every candidate's bar (None: the bar is the threshold)."""
        return self.bar.shift(evidence) if self.bar is not None else None

    def _bar(self, scored: list[tuple[float, int]], candidate: tuple[float, int],
             shift: float | None) -> float:
        """The score `candidate` must reach, against the best other candidate in `scored`."""
        threshold = self._thresholds[candidate[1]]
        if shift is None or self.bar is None:
            return threshold
        runner_up = 0.0
        for other in scored[:2]:
            if other[1] != candidate[1]:
                runner_up = other[0]
                break
        return self.bar.needed(threshold, shift, runner_up)

    def _scores(self, analysis: _Analysis, shift: float | None
                ) -> tuple[list[tuple[float, int]], bool]:
        """The intents' scores, best first, without the staff's negatives; and whether the
        message reads like a negative at least as much as like the intent that would answer
        it (or within the ambiguity margin of it): a look-alike of a dismissed message."""
        scored = self._score(analysis)
        if self._negative < 0:
            return scored, False
        negative = next((score for score, i in scored if i == self._negative), None)
        if negative is None:
            return scored, False
        scored = [entry for entry in scored if entry[1] != self._negative]
        chosen = self._choose(scored, shift)
        if chosen is None:
            return scored, False
        margin = max(self.ambiguity_margin, self.relative_margin * chosen[0])
        return scored, negative >= chosen[0] - margin

    def _choose(self, scored: list[tuple[float, int]], shift: float | None
                ) -> tuple[float, int] | None:
        # The best candidate over its own bar, not only the first one: a merchant's strict
        # threshold on one intent must not silence another that is sure enough.
        for candidate in scored:
            if candidate[0] >= self._bar(scored, candidate, shift):
                return candidate
        return None

    def _rival(
        self, scored: list[tuple[float, int]], chosen: tuple[float, int], shift: float | None
    ) -> tuple[float, int] | None:
        """The closest other candidate within the ambiguity margin (the larger of the margin
        and `relative_margin` of the best score) that could have been the answer: one over
        its own bar, or one that scored at least as high."""
        best = chosen[0]
        margin = max(self.ambiguity_margin, self.relative_margin * best)
        rivals = [
            (abs(best - score), (score, i)) for score, i in scored
            if i != chosen[1] and abs(best - score) < margin
            and (score >= best or score >= self._bar(scored, (score, i), shift))
        ]
        return min(rivals)[1] if rivals else None

    def _understood(self, normalised: str) -> tuple[Entities, _Analysis, _Core | None]:
        """Entities, (unclipped) analysis and the message inside its politeness, of normalised
        text, cached per Matcher."""
        return self._understand(normalised)

    def _score(self, analysis: _Analysis) -> list[tuple[float, int]]:
        """(score, intent index) of the shortlisted intents, best first."""
        query: dict[int, float] = {}
        topical: dict[int, float] = {}
        total = 0.0
        vocab_get = self._vocab.get
        idf = self._idf
        query_topical = analysis.topical
        for feature, weight in analysis.features.items():
            fid = vocab_get(feature)
            if fid is None:
                total += weight * self._idf_unknown
            else:
                query[fid] = part = weight * idf[fid]
                total += part
                if feature in query_topical:
                    topical[fid] = query_topical[feature]
        # Intents with an example of only the question words this message has, if it has
        # nothing else to go on.
        exact = self._exact.get(analysis.compact, ()) if not topical else ()
        if (not topical and not exact) or total <= 0:
            return []

        # Intent-level coverage of the query, from the postings of its informative features.
        acc: dict[int, float] = {}
        walk = self._walk
        for fid, weight in query.items():
            entry = walk[fid]
            if entry is None:
                continue   # a common feature: added back for the shortlisted intents below
            get = acc.get
            for i, coef in zip(entry[0], entry[1], strict=True):
                acc[i] = get(i, 0.0) + weight * coef
        if not acc:
            return []
        # The same as heapq.nlargest (ties keep the order of acc); a C sort is quicker for the
        # few intents most queries touch.
        if len(acc) <= 256:
            shortlist = sorted(acc.items(), key=itemgetter(1), reverse=True)[:SHORTLIST_INTENTS]
        else:
            shortlist = heapq.nlargest(SHORTLIST_INTENTS, acc.items(), key=itemgetter(1))
        if len(shortlist) > SHORTLIST_MIN:
            floor = shortlist[0][1] * SHORTLIST_FLOOR
            if shortlist[-1][1] < floor:
                shortlist = shortlist[:SHORTLIST_MIN] + [
                    entry for entry in shortlist[SHORTLIST_MIN:] if entry[1] >= floor]
        # In intent order (the order they are scored in does not matter: `scored` is sorted),
        # so each posting is bisected from where the previous intent was found.
        shortlist.sort()
        ids = [i for i, _ in shortlist]
        parts = [part for _, part in shortlist]
        evidences = [0.0] * len(ids)
        # Evidence from topic words other than classes named by a member (see MEMBER_ONLY).
        aspects = [0.0] * len(ids)
        members = {vocab_get(feature) for feature in analysis.members}
        ex_start = self._ex_start
        overlaps = [[0.0] * (ex_start[i + 1] - ex_start[i]) for i in ids]

        # Which of the intents' texts share each query feature, and the common features
        # skipped above, found by bisecting the (intent-ordered) postings. Features in query
        # order, as before: every intent's sums add up in the same order.
        postings, coefs, masks, bits_of = self._postings, self._coefs, self._masks, _BITS
        found: dict[int, list[tuple[int, int]]] = {}   # id(posting) -> (shortlist slot, at)
        for fid, weight in query.items():
            posting = postings[fid]
            hits = found.get(id(posting))
            if hits is None:
                hits = found[id(posting)] = []
                size = len(posting)
                at = 0
                for k, i in enumerate(ids):
                    at = bisect_left(posting, i, at)
                    if at == size:
                        break
                    if posting[at] == i:
                        hits.append((k, at))
            if not hits:
                continue
            common = walk[fid] is None
            feature_coefs = coefs[fid]
            feature_masks = masks[fid]
            topic = topical.get(fid, 0.0)   # evidence only grows by a topic word's weight
            for k, at in hits:
                if common:
                    parts[k] += weight * feature_coefs[at]
                if topic:
                    evidences[k] += topic
                    if fid not in members:
                        aspects[k] += topic
                mask = feature_masks[at]
                overlap = overlaps[k]
                if mask < _SMALL_MASKS:
                    for b in bits_of[mask]:
                        overlap[b] += weight
                else:
                    while mask:
                        low = mask & -mask
                        overlap[low.bit_length() - 1] += weight
                        mask ^= low

        ex_weight = self._ex_weight
        ex_compact = self._ex_compact
        compact = analysis.compact
        tokens = analysis.tokens
        keywords = self._keywords
        unexplained = analysis.unexplained
        scored: list[tuple[float, int]] = []
        for i, intent_part, evidence, aspect, overlap in zip(ids, parts, evidences, aspects,
                                                            overlaps, strict=True):
            start = ex_start[i]
            # The closest examples: how much of the query each explains, and how much of
            # itself is in the query (sorted: cheaper than a heap for a handful of examples).
            examples = []
            for b, shared in enumerate(overlap):
                if shared:
                    own = shared / ex_weight[start + b]
                    examples.append((QUERY_COVERAGE * shared / total
                                     + EXAMPLE_COVERAGE * (1.0 if own > 1.0 else own), b))
            if not examples:
                continue
            if len(examples) > 1:
                examples.sort(reverse=True)
            fuzzy = ratio(compact, ex_compact[start + examples[0][1]])
            for _, b in examples[1:FUZZY_EXAMPLES]:
                if fuzzy == 100.0:
                    break   # no ratio is higher
                other = ratio(compact, ex_compact[start + b])
                if other > fuzzy:
                    fuzzy = other
            fuzzy /= 100.0
            base = EXAMPLE_SHARE * examples[0][0] + intent_part / total
            # Matching only through question words ("在干嘛呢" ~ "订单卡在…什么情况") is not
            # matching a topic, however complete the coverage.
            if i not in exact:
                scale = evidence / MIN_EVIDENCE
                if scale < 1.0:
                    base *= scale
                if unexplained > UNEXPLAINED_RATIO * evidence:
                    base *= UNEXPLAINED_RATIO * evidence / unexplained
                if evidence and not aspect:
                    base *= MEMBER_ONLY
            score = 100.0 * (_OTHER_SHARE * base + FUZZY_SHARE * fuzzy)
            intent_keywords = keywords[i]
            # A shared keyword does not decide for a message mostly about something the shop
            # knows nothing of ("快递员工资高吗" names the courier keyword, asks about pay).
            if intent_keywords and unexplained <= evidence and any(
                    kw <= tokens for kw in intent_keywords):
                score += KEYWORD_BONUS
            if score > 0:
                scored.append((100.0 * ((score if score <= 100.0 else 100.0) / 100.0)
                               ** SCORE_CURVE, i))
        scored.sort(reverse=True)
        return scored


# The bit positions of each small mask of an intent's texts, lowest first.
_SMALL_MASKS = 1 << 10
_BITS = tuple(
    tuple(b for b in range(_SMALL_MASKS.bit_length()) if mask >> b & 1)
    for mask in range(_SMALL_MASKS)
)


def _unclip(analysis: _Analysis, clipped: dict[str, str], vocab: Any) -> _Analysis:
    """Read clipped words no intent has as the full word an intent has ("开票" → 开发票)."""
    swaps = {
        feature[2:]: clipped[feature[2:]] for feature in analysis.features
        if feature.startswith("w:") and feature[2:] in clipped and feature not in vocab
    }
    if not swaps:
        return analysis
    features, topical = dict(analysis.features), dict(analysis.topical)
    compact = analysis.compact
    for short, word in swaps.items():
        weight = features.pop("w:" + short)
        features.pop("b:" + short, None)   # the clipped bigram is no evidence either way
        features["w:" + word] = max(features.get("w:" + word, 0.0), weight)
        if "w:" + short in topical:
            topical["w:" + word] = topical.pop("w:" + short)
        compact = compact.replace(short, word)
    return replace(analysis, features=features, topical=topical, compact=compact,
                   tokens=frozenset(swaps.get(t, t) for t in analysis.tokens))


class _Known:
    """The index's features less those only the staff's negatives have."""

    __slots__ = ("vocab", "excluded")

    def __init__(self, vocab: dict[str, int], excluded: frozenset[str]) -> None:
        self.vocab, self.excluded = vocab, excluded

    def __contains__(self, feature: object) -> bool:
        return feature in self.vocab and feature not in self.excluded

    def __iter__(self) -> Any:
        return (feature for feature in self.vocab if feature not in self.excluded)


def _understanding(
    clipped: dict[str, str], homophones: dict[tuple[int, ...], str], known: Any, terms: Terms,
) -> Any:
    """A bounded cache of normalised text -> (entities, unclipped analysis, the message without
    its politeness) for one index (a closure over the index's tables, not the Matcher: no
    reference cycle). Homophone typos are read as the word they sound like first."""
    def read(normalised: str) -> tuple[Entities, _Analysis]:
        entities, spans = scan(normalised)
        analysis = _unclip(analyse(normalised, spans, terms), clipped, known)
        analysis = _part_of_other(analysis, known, terms)
        unexplained = _unexplained(analysis, known, terms)
        if unexplained:
            analysis = replace(analysis, unexplained=unexplained)
        return entities, analysis

    @lru_cache(maxsize=ANALYSIS_CACHE)
    def understand(normalised: str) -> tuple[Entities, _Analysis, _Core | None]:
        entities, analysis = read(normalised)
        # A typo falls apart into single characters, one of which no intent has: only then
        # is the text cut again to look for one (most messages are read once).
        if homophones and any(len(feature) == 3 and feature.startswith("w:")
                              and feature not in known and is_cjk(feature[2])
                              for feature in analysis.features):
            corrected = _correct_homophones(normalised, homophones, terms)
            if corrected != normalised:
                normalised = corrected
                entities, analysis = read(normalised)
        return entities, analysis, _without_politeness(normalised, read)
    return understand


# Characters this common in general Chinese (jieba's counts: 有, 是, 了, 一…) are words of
# their own next to anything, never taken for half of a mistyped word.
COMMON_CHARACTER = 0.2


def _homophones(vocab: Any) -> dict[tuple[int, ...], str]:
    """Words of two or three Chinese characters the intents use (or that read as a word they
    use), by how they sound: a typo that sounds like one of them is read as it. Readings two
    different words share are no reading of either."""
    words: dict[str, str] = {}
    for feature in vocab:
        if feature.startswith("w:") and 2 <= len(feature) - 2 <= 3:
            words[feature[2:]] = feature[2:]
    for variant, forms in SYNONYMS.items():
        if 2 <= len(variant) <= 3 and all("w:" + form in vocab for form in forms.split()):
            words.setdefault(variant, forms)
    found: dict[tuple[int, ...], str | None] = {}
    meaning: dict[tuple[int, ...], str] = {}
    for word, forms in words.items():
        key = pinyin.reading(word) if is_cjk(word) else None
        if key is None:
            continue
        if key in found and meaning[key] != forms:
            found[key] = None
        else:
            found.setdefault(key, word)
            meaning.setdefault(key, forms)
    return {key: word for key, word in found.items() if word is not None}


def _correct_homophones(normalised: str, homophones: dict[tuple[int, ...], str],
                        terms: Terms = NO_TERMS) -> str:
    """The text with each homophone typo replaced by the word it sounds like ("快第" → 快递).
    Only where jieba found no word (a typo falls apart into single characters), only by a
    word of the same length that shares a character in the same place: an input method
    keeps one character right more often than not, and two-character words that merely
    sound alike are common."""
    tokens = cut(normalised, terms)
    out: list[str] = []
    run: list[str] = []
    for token in (*tokens, ""):
        if len(token) == 1 and token >= "\u4e00":
            run.append(token)
            continue
        if len(run) > 1:
            out.append(_correct_run("".join(run), homophones))
        else:
            out.extend(run)
        run = []
        out.append(token)
    corrected = "".join(out)
    return corrected


def _typo_of(window: str, word: str) -> bool:
    """Whether `window` (same reading) is `word` mistyped: they share a character in the same
    place, and neither that character nor a replaced one is among the commonest ("包有" is 包
    and 有, not a typo of 包邮; "写了" is not 谢了)."""
    shared = False
    for typed, meant in zip(window, word, strict=True):
        if word_weight(typed) <= COMMON_CHARACTER or is_stopword(typed):
            return False
        shared = shared or typed == meant
    return shared


def _correct_run(run: str, homophones: dict[tuple[int, ...], str]) -> str:
    at = 0
    out = []
    while at < len(run):
        for size in (3, 2):
            window = run[at:at + size]
            if len(window) < size:
                continue
            key = pinyin.reading(window)
            word = homophones.get(key) if key is not None else None
            if word and word != window and _typo_of(window, word):
                out.append(word)
                at += size
                break
        else:
            out.append(run[at])
            at += 1
    return "".join(out)


# A message without the politeness around it, and its analysis.
_Core = tuple[str, _Analysis]


def _without_politeness(normalised: str, read: Any) -> _Core | None:
    """What a message says inside its greetings and thanks ("你好 请问X怎么查 谢谢" → "X怎么查"),
    when that is a topic word or more: politeness wraps a question rather than becomes it. None
    when there is no politeness, or nothing but politeness and question words: the message is
    then read whole (a greeting, thanks, "好的谢谢")."""
    if _POLITE.search(normalised) is None:
        return None
    core = strip_politeness(normalised)
    # A single character left over is a particle or a dialect's tail ("多谢晒"), not a question.
    if len(core.replace(" ", "")) < 2 or core == normalised:
        return None
    analysis = read(core)[1]
    if max(analysis.topical.values(), default=0.0) < UNEXPLAINED_MIN_WEIGHT:
        return None
    return core, analysis


_POLITE = re.compile("|".join(sorted(map(re.escape, POLITENESS), key=len, reverse=True)))


def _part_of_other(analysis: _Analysis, vocab: Any, terms: Terms = NO_TERMS) -> _Analysis:
    """A compound no intent has whose other part is a topic word the shop knows nothing of
    is about that, not about the part an intent has: "人工智能" says nothing of 人工 (a human
    agent). Such parts stay features (coverage) but are no evidence for a topic, unless the
    customer also typed them as words of their own."""
    topical = analysis.topical
    drop: list[str] = []
    for feature in topical:
        word = feature[2:]
        if len(word) < 3 or feature in vocab or is_domain_word(word, terms):
            continue
        known: list[tuple[int, int, str]] = []
        unknown: list[tuple[int, int]] = []
        for part in subwords(word, terms):
            at = word.find(part)
            span = (at, at + len(part))
            forms = ["w:" + form for form in canonical(part)]
            if any(form in vocab for form in forms):
                known += [(*span, form) for form in forms]
            elif topical.get("w:" + part, 0.0) >= UNEXPLAINED_MIN_WEIGHT \
                    and not is_domain_word(part, terms):
                unknown.append(span)
        if known and any(all(b <= s or e <= a for s, e, _ in known) for a, b in unknown):
            drop += [f for _, _, f in known if f[2:] not in analysis.tokens]
    if not drop:
        return analysis
    return replace(analysis, topical={f: w for f, w in topical.items() if f not in drop})


def _unexplained(analysis: _Analysis, vocab: Any, terms: Terms = NO_TERMS) -> float:
    """Weight of the message's topic words that no intent has and the shop's vocabulary does
    not know either: what the message is about if not about the shop."""
    return sum(
        weight for feature, weight in analysis.topical.items()
        if weight >= UNEXPLAINED_MIN_WEIGHT and feature not in vocab
        and not is_domain_word(feature[2:], terms)
    ) + sum(
        OFF_TOPIC_WEIGHT * max(weight, UNEXPLAINED_MIN_WEIGHT)
        for feature, weight in analysis.topical.items() if feature[2:] in OFF_TOPIC_WORDS
    )


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    return tuple(str(v).strip() for v in value or () if str(v).strip())


def _idf(n: int, df: float) -> float:
    # BM25's IDF: close to zero for a feature every intent has.
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))
