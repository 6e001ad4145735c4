"""Live intent edits across real processes: gunicorn with two workers and the import CLI."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bot.local.simulator import WeChatSimulator, requests_transport
from tests.fixtures.gunicorn import ROOT

ANSWER = "人工泪液现货充足,下单后48小时内发出。"
SHOWN = "人工泪液现货充足，下单后48小时内发出。"    # in Chinese typography, as replies are
FAQ = f"""\
- id: faq_stock
  question: 还有货吗
  examples: [什么时候补货, 卖完了还会再进货吗, 有现货吗]
  answer: {ANSWER}
  terms: [人工泪液]
"""
# Answered by the new FAQ only if the worker has it and cuts the merchant's term whole (cut
# apart, "人工" reads as asking for a human agent and the question comes out ambiguous).
QUERY = "人工泪液还有货吗"
_users = itertools.count()


def ask_all(sim: WeChatSimulator, r, count: int) -> tuple[list[str | None], set[str]]:
    """Send `count` messages at once from new users; their replies and the worker pids."""
    openids = [f"oLive{next(_users):06d}" for _ in range(count)]
    with ThreadPoolExecutor(count) as pool:
        replies = list(pool.map(lambda openid: sim.text(openid, QUERY), openids))
    workers = set()
    for openid in openids:
        for key in r.scan_iter(f"once:m:*:{openid}:*"):
            if key.count(":") == 4:
                workers.add(json.loads(r.get(key))["by"])
    return replies, workers


def test_an_import_reaches_every_worker_within_a_second(gunicorn_app, redis_url, r,
                                                        tmp_path):
    sim = WeChatSimulator(requests_transport(gunicorn_app, keep_alive=False), "demo-token",
                          "wxdemo0000000000", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
    # Both workers answer (and so have built their matcher) before the edit.
    seen: set[str] = set()
    for _ in range(10):
        replies, workers = ask_all(sim, r, 6)
        assert SHOWN not in replies
        seen |= workers
        if len(seen) == 2:
            break
    assert len(seen) == 2

    faq = tmp_path / "faq.yaml"
    faq.write_text(FAQ, encoding="utf-8")
    # The merchant's command, as they would run it: no WeChat settings, only Redis.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "BOT_"))}
    done = subprocess.run([sys.executable, "-m", "bot", "intents", "import", str(faq)],
                          cwd=ROOT, env={**env, "REDIS_URL": redis_url}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    imported_at = time.monotonic()

    time.sleep(max(0.0, imported_at + 1.0 - time.monotonic()))
    answered_by: set[str] = set()
    for _ in range(5):
        replies, workers = ask_all(sim, r, 6)
        assert replies == [SHOWN] * len(replies)
        answered_by |= workers
        if len(answered_by) == 2:
            break
    assert answered_by == seen
