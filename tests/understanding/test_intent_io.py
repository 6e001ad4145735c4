"""Intent files: the import format, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.understanding.intent_file import (
    IntentFileError,
    dump_intents,
    load_intent_file,
    parse_intents,
)

SHARED_FAQ = Path(__file__).resolve().parents[1] / "data" / "eval" / "faq.yaml"


def test_shared_example_file_loads():
    docs = load_intent_file(SHARED_FAQ)
    assert len(docs) == 30 and all(d["answer"] for d in docs)


def test_round_trip_yaml_and_json():
    docs = [{"id": "a", "question": "怎么退货", "examples": ["退货流程"], "answer": "在订单里申请",
             "keywords": ["退货"], "threshold": 70.0, "terms": ["人工泪液"],
             "questions": {"en": "How do I return it"}}]
    for fmt in ("yaml", "json"):
        assert parse_intents(dump_intents(docs, fmt)) == docs


@pytest.mark.parametrize("text, message", [
    ("- id: a\n  question: q\n  answer: x\n- id: b\n  question: q2\n",
     "line 4: missing or empty 'answer'"),
    ("- id: a\n  question: q\n  answer: x\n- id: a\n  question: q\n  answer: y\n",
     "line 4: duplicate id 'a' (first at line 1)"),
    ("- id: a\n  question: [unclosed\n", "line 3: bad YAML"),
    ("- id: a\n  question: q\n  answer: x\n  examples: oops\n",
     "line 1: 'examples' must be a list"),
    ("- id: a\n  question: q\n  answer: x\n  threshold: 300\n", "line 1: 'threshold' must be"),
    ("- id: a\n  question: q\n  answer: x\n  colour: red\n", "line 1: unknown field(s) colour"),
    ("id: a\n", "expected a list"),
    ('[{"id": "a", "question": "q", "answer": "x"},\n {"id": "b", "answer": "y"}]',
     "line 2: missing or empty 'question'"),
    ('[{"id": "a", "question": "q", "answer": "x"},\n {"id": ', "line 2: bad JSON"),
    ("- id: a\n  question: q\n  answer: x\n- id: b\n  question: q\n  answer: x\n"
     "  terms: 人工泪液\n", "line 4: 'terms' must be a list"),
    ("- id: a\n  question: q\n  answer: x\n  questions: [How]\n",
     "line 1: 'questions' must map a language code"),
])
def test_bad_input_names_the_line(text, message):
    with pytest.raises(IntentFileError) as info:
        parse_intents(text, "faq.yaml")
    assert message in str(info.value)


def test_each_intent_knows_its_line():
    docs = parse_intents("# shop FAQ\n- id: a\n  question: q\n  answer: x\n\n"
                         "- id: b\n  question: q\n  answer: y\n", "faq.yaml")
    assert [d["id"] for d in docs] == ["a", "b"]
    assert docs.where == {"a": "faq.yaml, line 2", "b": "faq.yaml, line 6"}
