"""The command-line contract: intents import/export and match, on a real Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli(redis_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ, REDIS_URL=redis_url, BOT_DEMO="1")
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_import_export_match(redis_url, r, tmp_path):
    faq = tmp_path / "faq.yaml"
    faq.write_text(
        "- id: faq_gift\n  question: 可以包装成礼物吗\n  examples: [能礼品包装吗, 送人用的包装]\n"
        "  answer: 可以,下单时备注礼品包装即可。\n", encoding="utf-8")
    done = cli(redis_url, "intents", "import", str(faq))
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stdout
    exported = cli(redis_url, "intents", "export")
    assert "faq_gift" in exported.stdout and "order_status" not in exported.stdout
    out = tmp_path / "out.json"
    assert cli(redis_url, "intents", "export", str(out)).returncode == 0
    assert json.loads(out.read_text())[-1]["id"] == "faq_gift"
    matched = cli(redis_url, "match", stdin="能帮我礼品包装吗\n今天天气怎么样\n")
    lines = [json.loads(line) for line in matched.stdout.splitlines()]
    keys = {"text", "intent", "score", "outcome", "candidates"}
    assert [set(line) for line in lines] == [keys, keys]
    assert lines[0]["intent"] == "faq_gift" and lines[0]["outcome"] == "matched"
    assert lines[1]["outcome"] == "unmatched" and lines[1]["intent"] is None


def test_bad_import_names_the_line_and_changes_nothing(redis_url, r, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("- id: faq_one\n  question: 问题一\n  answer: 答案一\n", encoding="utf-8")
    assert cli(redis_url, "intents", "import", str(good)).returncode == 0
    version = r.get("intents:version")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: faq_two\n  question: 问题二\n  answer: 答案二\n"
                   "- id: faq_two\n  question: 重复\n  answer: x\n", encoding="utf-8")
    done = cli(redis_url, "intents", "import", str(bad), "--replace")
    assert done.returncode == 1
    assert "line 4" in done.stderr and "duplicate id 'faq_two'" in done.stderr
    assert r.get("intents:version") == version
    assert r.hexists("intents:data", "faq_one") and not r.hexists("intents:data", "faq_two")


def test_replace_removes_faqs_not_in_the_file_but_keeps_builtins(redis_url, r, tmp_path):
    first = tmp_path / "a.yaml"
    first.write_text("- id: faq_a\n  question: 甲\n  answer: 甲\n- id: faq_b\n  question: 乙\n"
                     "  answer: 乙\n", encoding="utf-8")
    cli(redis_url, "intents", "import", str(first))
    second = tmp_path / "b.yaml"
    second.write_text("- id: faq_b\n  question: 乙\n  answer: 乙二\n", encoding="utf-8")
    done = cli(redis_url, "intents", "import", str(second), "--replace")
    assert "1 removed" in done.stdout
    assert not r.hexists("intents:data", "faq_a") and r.hexists("intents:data", "order_status")
