"""IntentStore seeding and the matcher cache that follows edits."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from bot.intent_store import IntentStore

INTENTS = Path(__file__).resolve().parent.parent / "intents"


@pytest.fixture
def intents_dir(tmp_path):
    target = tmp_path / "intents"
    shutil.copytree(INTENTS, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def test_builtins_load_once_and_again_only_when_the_file_changes(r, intents_dir):
    store = IntentStore(r, intents_dir)
    assert store.ensure_builtins() is True
    version = store.version()
    assert IntentStore(r, intents_dir).ensure_builtins() is False  # a second worker starting
    assert store.version() == version
    builtin = intents_dir / "builtin.yaml"
    builtin.write_text(builtin.read_text(encoding="utf-8").replace(
        "question: 查询订单状态", "question: 查询订单的状态"), encoding="utf-8")
    assert store.ensure_builtins() is True
    assert store.get("order_status")["question"] == "查询订单的状态"


def test_sample_faq_is_seeded_once_and_never_over_a_merchants_edits(r, intents_dir):
    store = IntentStore(r, intents_dir)
    store.seed_defaults()
    assert store.get("faq_return") is not None
    store.delete("faq_return")
    store.seed_defaults()
    assert store.get("faq_return") is None


def test_first_matcher_use_loads_builtins(r, intents_dir):
    store = IntentStore(r, intents_dir)
    assert store.matcher().match("我的订单到哪了").intent == "order_status"
    assert store.export() == []  # built-ins only: no sample FAQ outside the demo


def test_slow_rebuild_runs_in_background_while_the_old_matcher_answers(r, intents_dir,
                                                                     monkeypatch):
    store = IntentStore(r, intents_dir)
    old = store.matcher()
    monkeypatch.setattr("bot.intent_store.RELOAD_CHECK", 0.0)
    store._build_seconds = 5.0  # as if the last build were a 10k-FAQ shop's
    built = store._build

    def slow_build():
        time.sleep(0.5)
        return built()

    monkeypatch.setattr(store, "_build", slow_build)
    store.upsert({"id": "faq_huabei", "question": "支持花呗吗", "answer": "支持"})
    started = time.monotonic()
    assert store.matcher() is old
    assert time.monotonic() - started < 0.2  # the request did not wait for the build
    deadline = time.monotonic() + 5
    while store.matcher() is old and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.matcher().match("支持花呗吗").intent == "faq_huabei"
