"""The vocabulary data files (intents/vocabulary/*.yaml): their format, and errors naming where."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.understanding.normalise import normalise
from bot.understanding.vocabulary import FOLDER, VocabularyError, load_vocabulary

FILES = ("synonyms.yaml", "shop_words.yaml", "off_topic.yaml", "language.yaml")


def test_the_shipped_files_load_and_every_group_says_why():
    vocabulary = load_vocabulary()
    assert vocabulary.synonyms["邮费"] == "运费"
    assert "结算" in vocabulary.shop_words and "工资" in vocabulary.off_topic
    assert vocabulary.combined[("换", "尺码")] == "换货"
    assert "谢谢" in vocabulary.politeness
    assert "两" in vocabulary.numerals and "件" in vocabulary.measures
    # A class's members are its words but its names: 榴莲 is one fresh food, 水果 the class.
    assert vocabulary.members["榴莲"] == "生鲜" and "水果" not in vocabulary.members
    assert vocabulary.members["申通"] == "快递" and "物流" not in vocabulary.members
    assert "日本" not in vocabulary.members   # a place is the question, not a thing
    assert "邮费" not in vocabulary.members   # a plain synonym group has no members
    for name in ("synonyms.yaml", "shop_words.yaml"):
        groups = yaml.safe_load((FOLDER / name).read_text(encoding="utf-8"))
        assert all(len(group["why"]) >= 15 for group in groups), name
    topics = yaml.safe_load((FOLDER / "off_topic.yaml").read_text(encoding="utf-8"))["topics"]
    assert all(len(topic["why"]) >= 15 for topic in topics)


def test_every_word_is_written_as_a_message_is_normalised():
    """A word that normalises to something else could never be met in a message."""
    vocabulary = load_vocabulary()
    words = [*vocabulary.synonyms, *vocabulary.shop_words, *vocabulary.off_topic,
             *vocabulary.stopwords, *vocabulary.light, *vocabulary.politeness]
    assert [w for w in words if normalise(w) != w] == []


def _copy(tmp_path: Path) -> Path:
    for name in FILES:
        shutil.copy(FOLDER / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(("name", "broken", "named"), [
    ("synonyms.yaml", "- canonical: 快递\n  words: 快递 物流\n", "synonyms.yaml, group 1"),
    ("synonyms.yaml", "- canonical: 快递\n  why: parcels\n  words: 快递 快递\n", "twice"),
    ("synonyms.yaml", "- canonical: 快递\n  why: |\n    two\n    lines\n  words: 快递\n",
     "one line"),
    ("synonyms.yaml", "- canonical: a\n  why: English\n  words: Parcel\n", "lowercase"),
    ("shop_words.yaml", "- group: g\n  why: w\n  words: ''\n", "shop_words.yaml, group 1"),
    ("off_topic.yaml", "weight: -1\ntopics: []\n", "weight"),
    ("synonyms.yaml", "- canonical: [\n", "synonyms.yaml"),
    ("language.yaml", None, "quantities: numerals"),
    ("synonyms.yaml", "- canonical: 快递\n  why: parcels\n  names: 包裹\n  words: 快递 顺丰\n",
     "names must be words of the group"),
    ("synonyms.yaml", "- canonical: 快递\n  why: parcels\n  words: 快递\n  members: 顺丰\n",
     "synonyms.yaml, group 1"),
])
def test_a_malformed_file_is_refused_naming_where(tmp_path, name, broken, named):
    folder = _copy(tmp_path)
    if broken is None:   # the shipped file with digits where Chinese numerals belong
        text = (folder / name).read_text(encoding="utf-8")
        broken = text.replace("numerals: 一二两三", "numerals: 123")
        assert broken != text
    (folder / name).write_text(broken, encoding="utf-8")
    with pytest.raises(VocabularyError, match=named.replace("(", r"\(")):
        load_vocabulary(folder)
