"""IntentStore seeding and the matcher cache that follows edits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.understanding.intent_store import IntentStore
from bot.understanding.normalise import merchant_words, tokenise

ROOT = Path(__file__).resolve().parents[2]

INTENTS = Path(__file__).resolve().parents[2] / "intents"


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
    monkeypatch.setattr("bot.understanding.intent_store.RELOAD_CHECK", 0.0)
    store._build_seconds = 5.0  # as if the last build were a 10k-FAQ shop's
    built = store._build

    def slow_build(specs, negatives):
        time.sleep(0.5)
        return built(specs, negatives)

    monkeypatch.setattr(store, "_build", slow_build)
    store.upsert({"id": "faq_huabei", "question": "支持花呗吗", "answer": "支持"})
    started = time.monotonic()
    assert store.matcher() is old
    assert time.monotonic() - started < 0.2  # the request did not wait for the build
    deadline = time.monotonic() + 5
    while store.matcher() is old and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.matcher().match("支持花呗吗").intent == "faq_huabei"


def wait_until(check, seconds: float) -> float | None:
    """Seconds until `check()` held, or None if it did not within `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    return None


FRESH_PROCESS = """
import sys, time
from pathlib import Path
import redis
from bot.understanding.intent_store import IntentStore, RELOAD_CHECK
client = redis.Redis.from_url(sys.argv[1], decode_responses=True)
store = IntentStore(client, Path(sys.argv[2]))
store.matcher()                       # this process's first build: jieba loads here
IntentStore(client, Path(sys.argv[2])).upsert(
    {"id": "faq_huabei", "question": "支持花呗吗", "answer": "支持"})
time.sleep(RELOAD_CHECK)
print(store.matcher().match("你们支持花呗吗").intent, round(store._build_seconds, 3))
"""


def test_first_edit_after_a_fresh_start_is_answered_at_once(redis_url, r, intents_dir):
    # In a new process (jieba not loaded yet) the first build is slow only because of jieba:
    # the first request after an edit must still get the new intents, not a background build.
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, redis_url, str(intents_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    intent, build_seconds = done.stdout.split()
    assert intent == "faq_huabei"
    assert float(build_seconds) < 0.25


def test_the_index_is_not_rebuilt_when_intents_did_not_change(r, intents_dir, monkeypatch):
    monkeypatch.setattr("bot.understanding.intent_store.RELOAD_CHECK", 0.0)
    monkeypatch.setattr("bot.understanding.intent_store.BUILTIN_CHECK", 0.0)
    store = IntentStore(r, intents_dir)
    builds = []
    built = store._build
    monkeypatch.setattr(store, "_build", lambda specs, negatives: builds.append(1)
                        or built(specs, negatives))
    first = store.matcher()
    version = store.version()
    builtin = intents_dir / "builtin.yaml"
    os.utime(builtin, ns=(time.time_ns(), time.time_ns() + 10**9))  # touched, not changed
    IntentStore(r, intents_dir).ensure_builtins()                    # another worker starting
    for _ in range(3):
        assert store.matcher() is first
    assert builds == [1] and store.version() == version
    store.upsert({"id": "faq_x", "question": "会员日是哪天", "answer": "每月8号"})
    assert store.matcher() is not first and builds == [1, 1]


def test_running_workers_follow_a_changed_builtin_file(r, intents_dir):
    workers = [IntentStore(r, intents_dir), IntentStore(r, intents_dir)]
    query = "帮我催一下仓库"
    for store in workers:
        assert store.matcher().match(query).intent != "order_status"
    builtin = intents_dir / "builtin.yaml"
    builtin.write_text(builtin.read_text(encoding="utf-8").replace(
        "    - 查订单\n", "    - 查订单\n    - 帮我催一下仓库发货\n"), encoding="utf-8")
    for store in workers:
        # One stat a second, then the version check every half second.
        took = wait_until(lambda s=store: s.matcher().match(query).intent == "order_status", 3)
        assert took is not None and took < 1.8


def test_a_broken_builtin_file_keeps_the_old_intents(r, intents_dir, monkeypatch, caplog):
    monkeypatch.setattr("bot.understanding.intent_store.BUILTIN_CHECK", 0.0)
    monkeypatch.setattr("bot.understanding.intent_store.RELOAD_CHECK", 0.0)
    store = IntentStore(r, intents_dir)
    first = store.matcher()
    (intents_dir / "builtin.yaml").write_text("- id: order_status\n  question: [\n",
                                              encoding="utf-8")
    assert store.matcher() is first
    assert "cannot be loaded" in caplog.text


def test_terms_follow_the_version_in_each_workers_matcher(r, intents_dir, monkeypatch):
    monkeypatch.setattr("bot.understanding.intent_store.RELOAD_CHECK", 0.0)
    reader = IntentStore(r, intents_dir)        # a worker answering messages
    assert "玻尿酸原液" not in reader.matcher().tokens("玻尿酸原液有货吗")
    IntentStore(r, intents_dir).import_docs([{   # the merchant's import, elsewhere
        "id": "faq_serum", "question": "玻尿酸原液怎么用", "answer": "早晚各一次",
        "terms": ["玻尿酸原液"]}])
    assert reader.matcher().match("玻尿酸原液一天用几次").intent == "faq_serum"
    assert "玻尿酸原液" in reader.matcher().tokens("玻尿酸原液有货吗")
    # The shop this process serves: code outside the matcher (item matching) cuts the same.
    assert "玻尿酸原液" in tokenise("玻尿酸原液有货吗") and "玻尿酸原液" in merchant_words()
    reader.delete("faq_serum")
    assert "玻尿酸原液" not in reader.matcher().tokens("玻尿酸原液有货吗")
    assert "玻尿酸原液" not in tokenise("玻尿酸原液有货吗") and not merchant_words()


# Learning from the shop's staff (the console calls these).
INVOICE = {"id": "faq_invoice", "question": "怎么开发票", "answer": "订单详情里申请。",
           "examples": ["可以开发票吗", "我需要发票", "电子发票在哪里下载"]}


def test_a_dismissed_query_keeps_its_look_alikes_unmatched_in_every_worker(
        r, intents_dir, monkeypatch):
    # Rebuilds in the calling thread, however loaded the machine: a build over
    # BACKGROUND_BUILD would let the old matcher answer once more, which is tested apart.
    monkeypatch.setattr("bot.understanding.intent_store.BACKGROUND_BUILD", 60.0)
    console, worker = IntentStore(r, intents_dir), IntentStore(r, intents_dir)
    console.upsert(INVOICE)
    look_alike = "怎么查发票"
    assert worker.matcher().match(look_alike).intent == "faq_invoice"
    assert console.add_negative("发票真伪在税务局网站怎么查") is True
    assert console.add_negative(" 发票真伪在税务局网站怎么查 ") is False   # already there
    # At once where staff clicked, and in another worker at its next check.
    assert console.matcher().match(look_alike).outcome == "unmatched"
    monkeypatch.setattr("bot.understanding.intent_store.RELOAD_CHECK", 0.0)
    assert worker.matcher().match(look_alike).outcome == "unmatched"
    assert worker.matcher().match("可以开个发票吗").intent == "faq_invoice"   # the FAQ stays
    assert worker.negatives() == ["发票真伪在税务局网站怎么查"]
    # Nothing is shown or answered under the negatives' own id.
    result = worker.matcher().match("发票真伪在税务局网站怎么查")
    assert result.outcome == "unmatched"
    assert all(not intent.startswith("~") for intent, _ in result.candidates)
    assert console.remove_negative("发票真伪在税务局网站怎么查") is True
    assert console.remove_negative("发票真伪在税务局网站怎么查") is False
    assert worker.matcher().match(look_alike).intent == "faq_invoice"
    with pytest.raises(ValueError):
        console.add_negative("   ")
    with pytest.raises(ValueError):
        console.add_negative("太长" * 300)


def test_an_example_staff_add_is_evidence_at_once(r, intents_dir):
    store = IntentStore(r, intents_dir)
    store.upsert(INVOICE)
    query = "报账用的票据怎么弄"
    assert store.matcher().match(query).intent != "faq_invoice"
    store.add_negative(query)            # dismissed first, then staff change their mind
    store.add_example("faq_invoice", query)
    assert store.matcher().match(query).intent == "faq_invoice"   # no wait for RELOAD_CHECK
    assert store.negatives() == []
    assert store.matcher().match("报账的票据怎么弄").intent == "faq_invoice"
    with pytest.raises(KeyError):
        store.add_example("faq_missing", query)
