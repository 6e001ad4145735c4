"""An order named by what is in it: "保温杯做好了吗", "那双鞋到哪了", "水果什么时候到".

The message's content words are compared with the customer's own orders, strongest evidence
first, and the first kind of evidence that finds anything decides:

1. the item's name: a word of the message is a word of the name, a part of it ("保温杯" in
   "定制刻字保温杯"), or its characters in order ("跑鞋" in "跑步鞋"); or a word of the name is
   in the message;
2. a kind of goods (`kinds` in intents/conversation_words.yaml): "衣服" matches an item whose
   name has 衣/裤/裙…, "水果" one with 葡萄/苹果…, "数码" one of category electronics;
3. the shop's vocabulary classes (bot/understanding/normalise.py): the class's own name
   ("生鲜", "电器") finds an order of goods of that class ("葡萄" is 生鲜). A specific product
   does not find another of its class: "电饭煲" is not the "台灯" order, though both are 电器.

Among the orders that match, those matching the most words win. A message that names goods
(a kind word, a word of a product class, a merchant's own term) and matches no order is
reported as such, so the customer hears "没有找到" rather than about another order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bot.orders.model import Order
from bot.understanding.normalise import (
    canonical,
    dictionary_version,
    is_light,
    is_stopword,
    merchant_words,
    normalise,
    tokenise,
)
from intents.talk import Words, followup_phrases

NAME, KIND, CLASS = 3, 2, 1
# Parts of a name too short or too common to name it alone ("款", "2kg").
MIN_WORD = 2


@dataclass(frozen=True)
class ItemMatch:
    orders: tuple[Order, ...] = ()
    words: tuple[str, ...] = ()        # the message's words that could name goods
    named: bool = False                # the message names goods (matched or not)
    tier: int = 0
    hits: tuple[str, ...] = ()         # the words that found the chosen orders


def item_words(words: Words, text: str) -> list[str]:
    """The message's words that could name goods: no function, question, follow-up or
    order words. Words are cut from the whole message first, then those inside a follow-up
    or hurry phrase dropped ("雨靴做好了没" → 雨靴), so a phrase never leaves fragments."""
    generic = words.set("generic") | words.set("pointers")
    covered = _phrase_spans(words, text)
    kinds = words.kinds.keys()
    kept: list[str] = []
    at = 0
    for token in tokenise(text):
        start = text.find(token, at)
        if start < 0:
            start = at
        end = start + len(token)
        at = end
        if any(covered[start:end]):
            kept.append(" ")       # a gap: characters on either side are not one word
            continue
        kept.append(token)
    found: list[str] = []
    for token in _joined_singles(kept, generic, kinds):
        token = token.strip()
        if not token or token.isdigit() or is_stopword(token) or token in generic:
            continue
        forms = canonical(token)
        if any(f in generic for f in forms) or all(is_light(f) for f in forms):
            continue
        if len(token) < MIN_WORD and token not in kinds:
            continue
        if token not in found:
            found.append(token)
    return found


def _phrase_spans(words: Words, text: str) -> list[bool]:
    """Which characters of `text` belong to a follow-up or hurry phrase."""
    covered = [False] * len(text)
    for phrase in followup_phrases(words):
        at = text.find(phrase)
        while at >= 0:
            for i in range(at, at + len(phrase)):
                covered[i] = True
            at = text.find(phrase, at + 1)
    return covered


def _joined_singles(tokens: list[str], generic, kinds) -> list[str]:  # noqa: ANN001
    """Runs of single Chinese characters joined again: jieba cuts a word it does not know into
    characters ("雨靴" → 雨, 靴), which say nothing alone. Function words, order words and kind
    words stay apart ("的", "单", "鞋")."""
    out: list[str] = []
    run = ""
    for token in tokens:
        single = (len(token) == 1 and "\u4e00" <= token <= "\u9fff" and not is_stopword(token)
                  and token not in generic)
        if single:
            run += token
            continue
        if run:
            out.extend(_flush(run, kinds))
            run = ""
        out.append(token)
    if run:
        out.extend(_flush(run, kinds))
    return out


def _flush(run: str, kinds) -> list[str]:  # noqa: ANN001
    if len(run) == 1:
        return [run]
    # The characters together, and a kind among them on its own too ("雨靴" and "靴").
    return [run, *[c for c in run if c in kinds]]


def residue(words: Words, text: str, matched: list[str]) -> list[str]:
    """What the message says besides the goods it names, function and order words: empty for
    "那蓝莓呢", not for "蓝莓可以退吗" (可以, 退)."""
    generic = words.set("generic")
    pointers = words.set("pointers")
    out = []
    for token in tokenise(text):
        token = token.strip()
        if not token or token.isdigit() or is_stopword(token) or token in generic \
                or token in pointers or any(token in m or m in token for m in matched):
            continue
        out.append(token)
    return out


def match_items(words: Words, text: str, orders: list[Order]) -> ItemMatch:
    """The customer's orders the message names by their goods (see the module docstring)."""
    tokens = item_words(words, text)
    if not tokens or not orders:
        return ItemMatch(words=tuple(tokens), named=_names_goods(words, tokens))
    kinds = words.kinds
    classes = words.set("product_classes")
    generic = words.set("generic")
    best_tier, scored = 0, {}
    for order in orders:
        names = [_normalised(item.name) for item in order.items if item.name]
        if not names:
            continue
        version = dictionary_version()
        name_tokens = {t for n in names for t in _tokens(n, version)
                       if len(t) >= MIN_WORD and not t.isdigit() and not is_stopword(t)
                       and t not in generic}
        for tier, check in ((NAME, _by_name), (KIND, _by_kind), (CLASS, _by_class)):
            if tier < best_tier:
                break
            hits = check(tokens, text, names, name_tokens, order, kinds, classes)
            if hits:
                if tier > best_tier:
                    best_tier, scored = tier, {}
                scored[order.order_id] = (hits, order)
                break
    if not scored:
        return ItemMatch(words=tuple(tokens), named=_names_goods(words, tokens))
    top = max(len(hits) for hits, _ in scored.values())
    chosen = [(hits, order) for hits, order in scored.values() if len(hits) == top]
    used = tuple(dict.fromkeys(h for hits, _ in chosen for h in hits))
    return ItemMatch(orders=tuple(order for _, order in chosen), words=tuple(tokens),
                     named=True, tier=best_tier, hits=used)


# Noun suffixes a customer adds that a product name leaves out: "袜子" for 羊毛袜, "鞋子" for
# 登山鞋, "盒子" for 收纳盒.
_SUFFIXES = ("子", "儿")


@lru_cache(maxsize=4096)
def _normalised(name: str) -> str:
    return normalise(name)


@lru_cache(maxsize=4096)
def _tokens(name: str, version: int) -> tuple[str, ...]:
    """A normalised item name cut into words; the same few names come up again and again
    (the cut depends on jieba's dictionary, whose `version` is part of the key)."""
    return tuple(tokenise(name))


def _by_name(tokens, text, names, name_tokens, order, kinds, classes) -> list[str]:  # noqa: ANN001
    hits = []
    for token in tokens:
        stem = token[:-1] if len(token) == 2 and token.endswith(_SUFFIXES) else ""
        if len(token) < MIN_WORD:
            continue    # one character ("包", "鞋") names a kind, not a product
        if token in name_tokens or any(token in name for name in names) \
                or any(_in_order(token, name) for name in names) \
                or (stem and any(_names_kind(name, stem) for name in names)):
            hits.append(token)
    hits += [t for t in name_tokens if t in text and not any(t in tok for tok in tokens)
             and not is_light(t)]
    return hits


def _by_kind(tokens, text, names, name_tokens, order, kinds, classes) -> list[str]:  # noqa: ANN001
    hits = []
    categories = {item.category for item in order.items}
    for token in tokens:
        spec = kinds.get(token)
        if not spec:
            continue
        if categories & set(spec.get("categories") or []) or any(
                _names_kind(name, w) for w in spec.get("words") or [] for name in names):
            hits.append(token)
    return hits


def _names_kind(name: str, word: str) -> bool:
    """`word` in the item's name, but not as the measure word of a quantity ("抽纸 24 包" is
    tissues, not a bag; "运动袜 5双装" is socks)."""
    at = name.find(word)
    while at >= 0:
        before = name[:at].rstrip()
        if not before or not before[-1].isdigit():
            return True
        at = name.find(word, at + 1)
    return False


def _by_class(tokens, text, names, name_tokens, order, kinds, classes) -> list[str]:  # noqa: ANN001
    name_classes = {f for t in name_tokens for f in canonical(t) if f in classes}
    return [token for token in tokens if token in name_classes]


def _in_order(token: str, name: str) -> bool:
    """The token's characters appear in the name in order, close together ("跑鞋" in
    "跑步鞋", not spread over a long name)."""
    at = name.find(token[0])
    if at < 0:
        return False
    start = at
    for ch in token[1:]:
        at = name.find(ch, at + 1)
        if at < 0:
            return False
    return at - start + 1 <= len(token) + 1


def _names_goods(words: Words, tokens: list[str]) -> bool:
    kinds = words.kinds
    classes = words.set("product_classes")
    own = merchant_words()
    return any(t in kinds or t in own or set(canonical(t)) & classes for t in tokens)
