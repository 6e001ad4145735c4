"""The matcher's general vocabulary, read from data files under `intents/vocabulary/`.

Each group of words there says in one line (`why`) why it is general, i.e. would help a shop
that sells something else. Loading checks the format and names the file and group of any
error; nothing here knows about one shop (a merchant's own words come with its intents).

- `synonyms.yaml`: groups of words read as one canonical form;
- `shop_words.yaml`: everyday words of a shopping chat, known but not topics;
- `off_topic.yaml`: topics no shop answers, and how much their words weigh against an intent;
- `language.yaml`: function and question words, common English, politeness, fixed readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FOLDER = Path(__file__).resolve().parents[2] / "intents" / "vocabulary"


class VocabularyError(ValueError):
    """A vocabulary file that is not in the expected format; the message names where."""


@dataclass(frozen=True)
class Vocabulary:
    synonyms: dict[str, str]              # variant -> canonical form(s), "a b" for two
    synonym_groups: tuple[tuple[str, tuple[str, ...]], ...]   # (canonical, words) in order
    # A member of a class (榴莲 of 生鲜, 顺丰 of 快递) -> the class: a group with `names` is a
    # class, and its words other than the names are its members.
    members: dict[str, str]
    shop_words: frozenset[str]
    off_topic: frozenset[str]
    off_topic_weight: float
    stopwords: frozenset[str]
    light: frozenset[str]
    english_common: frozenset[str]
    english_phrases: tuple[str, ...]
    combined: dict[tuple[str, str], str]
    intensified: str
    politeness: tuple[str, ...]
    numerals: str                         # 一二两…: with a measure word, a count of items
    measures: frozenset[str]              # 件 个 盒…: measure words of goods


def load_vocabulary(folder: Path = FOLDER) -> Vocabulary:
    """Read and check every vocabulary file of `folder`."""
    synonyms_file = folder / "synonyms.yaml"
    groups: list[tuple[str, tuple[str, ...]]] = []
    class_names: dict[str, tuple[str, ...]] = {}
    for at, group in enumerate(_list(_read(synonyms_file), synonyms_file), start=1):
        where = f"{synonyms_file.name}, group {at}"
        _keys(group, {"canonical", "why", "words"}, where, optional={"names"})
        canonical = _text(group, "canonical", where)
        _why(group, where)
        words = _words(group, "words", f"{where} ({canonical})")
        groups.append((canonical, words))
        if "names" in group:
            names = _words(group, "names", f"{where} ({canonical}), names")
            if not set(names) <= set(words):
                raise VocabularyError(f"{where} ({canonical}): names must be words of the group")
            class_names[canonical] = names
    synonyms = {word: canonical for canonical, words in groups for word in words}
    members = {word: canonical for word, canonical in synonyms.items()
               if canonical in class_names and word not in class_names[canonical]}

    shop_file = folder / "shop_words.yaml"
    shop: set[str] = set()
    for at, group in enumerate(_list(_read(shop_file), shop_file), start=1):
        where = f"{shop_file.name}, group {at}"
        _keys(group, {"group", "why", "words"}, where)
        _text(group, "group", where)
        _why(group, where)
        shop.update(_words(group, "words", where))

    off_file = folder / "off_topic.yaml"
    off = _read(off_file)
    _keys(off, {"weight", "topics"}, off_file.name)
    weight = off["weight"]
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
        raise VocabularyError(f"{off_file.name}: weight must be a number >= 0")
    topics: set[str] = set()
    for at, topic in enumerate(_list(off["topics"], off_file), start=1):
        where = f"{off_file.name}, topic {at}"
        _keys(topic, {"topic", "why", "words"}, where)
        _text(topic, "topic", where)
        _why(topic, where)
        topics.update(_words(topic, "words", where))

    language_file = folder / "language.yaml"
    language = _read(language_file)
    sections = {"stopwords": {"words"}, "light": {"words"}, "english_common": {"words"},
                "english_phrases": {"phrases"}, "combined": {"readings"},
                "intensified": {"characters"}, "politeness": {"phrases"},
                "quantities": {"numerals", "measures"}}
    _keys(language, set(sections), language_file.name)
    for name, fields in sections.items():
        _keys(language[name], {"why", *fields}, f"{language_file.name}, {name}")
        _why(language[name], f"{language_file.name}, {name}")
    where = f"{language_file.name}, english_phrases"
    phrases = language["english_phrases"]["phrases"]
    if not isinstance(phrases, list) or not all(
            isinstance(p, str) and p == p.lower().strip() and " " in p for p in phrases):
        raise VocabularyError(f"{where}: phrases must be lowercase English of several words")
    combined: dict[tuple[str, str], str] = {}
    for reading in language["combined"]["readings"]:
        if not (isinstance(reading, list) and len(reading) == 3
                and all(isinstance(w, str) and w for w in reading)):
            raise VocabularyError(f"{language_file.name}, combined: each reading is "
                                  f"[first, second, what they say together], got {reading!r}")
        combined[(reading[0], reading[1])] = reading[2]
    characters = _chinese_run(language["intensified"], "characters",
                              f"{language_file.name}, intensified")
    numerals = _chinese_run(language["quantities"], "numerals",
                            f"{language_file.name}, quantities")
    return Vocabulary(
        synonyms=synonyms,
        synonym_groups=tuple(groups),
        members=members,
        shop_words=frozenset(shop),
        off_topic=frozenset(topics),
        off_topic_weight=float(weight),
        stopwords=frozenset(_words(language["stopwords"], "words", "stopwords")),
        light=frozenset(_words(language["light"], "words", "light")),
        english_common=frozenset(_words(language["english_common"], "words",
                                        "english_common")),
        english_phrases=tuple(phrases),
        combined=combined,
        intensified=characters,
        politeness=_words(language["politeness"], "phrases", "politeness"),
        numerals=numerals,
        measures=frozenset(_words(language["quantities"], "measures", "quantities")),
    )


def _read(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as error:
        raise VocabularyError(f"{path.name}: {error}") from error


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _list(value: Any, path: Path) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise VocabularyError(f"{path.name}: expected a list of groups")
    return value


def _keys(value: Any, keys: set[str], where: str, optional: set[str] = frozenset()) -> None:
    if not isinstance(value, dict) or not keys <= set(value) <= keys | optional:
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        wanted = sorted(keys) + [f"{key} (optional)" for key in sorted(optional)]
        raise VocabularyError(f"{where}: expected the keys {wanted}, got {found}")


def _chinese_run(value: dict[str, Any], key: str, where: str) -> str:
    text = value[key]
    if not isinstance(text, str) or not text or any(
            not "\u4e00" <= c <= "\u9fff" for c in text):
        raise VocabularyError(f"{where}: {key} must be a run of Chinese characters")
    return text


def _text(value: dict[str, Any], key: str, where: str) -> str:
    text = value[key]
    if not isinstance(text, str) or not text.strip():
        raise VocabularyError(f"{where}: {key} must be a non-empty string")
    return text.strip()


def _why(value: dict[str, Any], where: str) -> None:
    why = _text(value, "why", where)
    if "\n" in why or len(why) > 300:
        raise VocabularyError(f"{where}: why must be one line (say why the group is general)")


def _words(value: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    words = _text(value, key, where).split()
    if len(set(words)) != len(words):
        raise VocabularyError(f"{where}: a word is listed twice")
    if any(word != word.lower() for word in words):
        raise VocabularyError(f"{where}: words are written in lowercase (as normalised)")
    return tuple(words)
