"""The command-line contract: intents import/export and match, on a real Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(redis_url: str, *args: str, stdin: str = "", **env_vars: str
        ) -> subprocess.CompletedProcess:
    env = {**os.environ, "REDIS_URL": redis_url, "BOT_DEMO": "1", **env_vars}
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
    keys = {"text", "intent", "score", "bar", "outcome", "candidates"}
    assert [set(line) for line in lines] == [keys, keys]
    assert lines[0]["intent"] == "faq_gift" and lines[0]["outcome"] == "matched"
    assert lines[0]["score"] >= lines[0]["bar"] > 0   # what the answer had to reach
    assert lines[1]["outcome"] == "unmatched" and lines[1]["intent"] is None
    for line in lines:
        assert isinstance(line["score"], float) and 0 <= line["score"] <= 100
        # [[id, score], ...], best first, the best one being the score reported.
        candidates = line["candidates"]
        assert all(isinstance(c, list) and len(c) == 2 and isinstance(c[0], str)
                   and isinstance(c[1], float) for c in candidates)
        assert [s for _, s in candidates] == sorted((s for _, s in candidates), reverse=True)
    assert lines[0]["candidates"][0] == ["faq_gift", lines[0]["score"]]


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


def test_commands_need_no_wechat_credentials(redis_url, r, tmp_path):
    # A production box: WECHAT_TOKEN is set for the app, the other secrets live elsewhere.
    env = {"BOT_DEMO": "", "WECHAT_TOKEN": "prod-token"}
    faq = tmp_path / "faq.yaml"
    faq.write_text("- id: faq_one\n  question: 会员日是哪天\n  answer: 每月8号\n",
                   encoding="utf-8")
    done = cli(redis_url, "intents", "import", str(faq), **env)
    assert done.returncode == 0, done.stderr
    exported = cli(redis_url, "intents", "export", **env)
    assert exported.returncode == 0 and "faq_one" in exported.stdout
    matched = cli(redis_url, "match", stdin="会员日是哪天\n", **env)
    assert matched.returncode == 0, matched.stderr
    assert json.loads(matched.stdout)["intent"] == "faq_one"


def test_an_id_clashing_with_a_builtin_names_the_line_and_changes_nothing(redis_url, r,
                                                                         tmp_path):
    bad = tmp_path / "clash.yaml"
    bad.write_text("- id: faq_one\n  question: 问题一\n  answer: 答案一\n"
                   "- id: order_status\n  question: 查订单\n  answer: 我们的订单\n",
                   encoding="utf-8")
    done = cli(redis_url, "intents", "import", str(bad))
    assert done.returncode == 1
    assert f"{bad}, line 4" in done.stderr and "'order_status'" in done.stderr
    assert "built-in" in done.stderr and "Traceback" not in done.stderr
    assert r.keys("*") == []   # a fresh shop: not even the built-ins were loaded


def test_terms_import_and_export(redis_url, r, tmp_path):
    faq = tmp_path / "faq.yaml"
    faq.write_text("- id: faq_stock\n  question: 还有货吗\n"
                   "  examples: [什么时候补货, 卖完了还会再进货吗, 有现货吗]\n"
                   "  answer: 有的\n  terms: [人工泪液]\n", encoding="utf-8")
    assert cli(redis_url, "intents", "import", str(faq)).returncode == 0
    assert "terms:\n  - 人工泪液" in cli(redis_url, "intents", "export").stdout
    matched = json.loads(cli(redis_url, "match", stdin="人工泪液还有货吗\n").stdout)
    assert matched["intent"] == "faq_stock"
