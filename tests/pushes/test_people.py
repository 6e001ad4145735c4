"""What customers and staff see: the follow command in chat, and `python -m bot pushes`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.pushes.follows import FollowStore
from bot.pushes.preferences import IMPORTANT
from tests.conftest import simulator_for
from tests.fixtures.orders import event, point, post_signed

ROOT = Path(__file__).resolve().parents[2]


def test_follow_this_order_by_chat_then_every_update_is_pushed(push_env, clock):
    env = push_env()
    env.user("oFol", level=IMPORTANT)
    env.rt.services.intents.seed_defaults()
    env.post(event("800001", "shipped", hours=-1, openid="oFol", carrier="SF",
                   tracking_no="SF800001", items=[{"name": "跑步鞋"}]))
    env.consume()
    env.run_jobs()
    chat = simulator_for(env.app, clock)
    assert "800001" in chat.text("oFol", "订单 800001 怎么样了")
    answer = chat.text("oFol", "这个订单有变化提醒我")
    assert "800001" in answer and "每一次变化都会提醒您" in answer and "22:00-08:00" in answer
    assert FollowStore(env.services.redis).follows("oFol", "800001")
    assert "已经在提醒列表" in chat.text("oFol", "这个订单有变化提醒我")
    # Important-only, yet a followed order's transit news comes, each time, without rhythm.
    for hour in (0, 0.5):
        env.flow(event("800001", "in_transit", hours=hour, openid="oFol",
                       tracking=[point(hour, f"站点{hour}", "到达")]))
    assert [e["status"] for e in env.log("800001") if e["kind"] == "order_in_transit"
            and e["status"] != "queued"] == ["sent", "sent"]
    # "关闭通知" stops everything, followed orders too.
    chat.text("oFol", "关闭通知")
    assert not FollowStore(env.services.redis).follows("oFol", "800001")


def test_follow_with_no_order_in_sight_asks_which(push_env, clock):
    env = push_env()
    env.rt.services.intents.seed_defaults()
    chat = simulator_for(env.app, clock)
    assert "想关注哪个订单" in chat.text("oNobody", "这个订单有变化提醒我")


def test_someone_elses_order_cannot_be_followed(push_env, clock):
    env = push_env()
    env.rt.services.intents.seed_defaults()
    env.post(event("800002", "shipped", hours=-1, openid="oOwner"))
    chat = simulator_for(env.app, clock)
    answer = chat.text("oThief", "帮我盯着 800002 这个订单")
    assert not FollowStore(env.services.redis).follows("oThief", "800002")
    assert "没有查到订单 800002" in answer      # the same answer as an unknown number


def cli(redis_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "BOT_"))}
    return subprocess.run([sys.executable, "-m", "bot", "pushes", *args], cwd=ROOT,
                          env={**env, "REDIS_URL": redis_url}, capture_output=True, text=True,
                          timeout=60)


def test_pushes_show_stats_and_preview(push_env, redis_url, tmp_path, clock):
    env = push_env()
    env.user("oCli")
    env.flow(event("800003", "shipped", hours=0, openid="oCli", carrier="SF",
                   tracking_no="SF800003"))
    shown = cli(redis_url, "show", "800003")
    assert shown.returncode == 0, shown.stderr
    lines = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [(x["kind"], x["status"], x["channel"]) for x in lines] == [
        ("order_shipped", "queued", ""), ("order_shipped", "sent", "kf")]
    assert set(lines[0]) >= {"kind", "channel", "status", "reason", "at"}
    assert lines[1]["at"].startswith("2026-11-24T10:00:00+08:00")
    # Stats count today's (the wall clock's) days: the fixed test clock is in the past.
    stats = json.loads(cli(redis_url, "stats", "--days", "4000").stdout)
    assert stats["kind"] == {"order_shipped": 1}
    assert stats["channel"] == {"kf": 1}
    assert stats["status"]["sent"] == 1 and stats["status"]["queued"] == 1
    body = event("800003", "delivered", hours=1, openid="oCli")
    path = tmp_path / "event.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    preview = cli(redis_url, "preview", str(path))
    assert preview.returncode == 0, preview.stderr
    out = json.loads(preview.stdout)
    assert out["openid"] == "oCli"
    (push,) = out["pushes"]
    assert push["kind"] == "order_delivered" and "已签收" in push["text"]
    assert push["decision"] == "send"
    # The CLI runs on the wall clock, days after the test clock's last message: no 48 h window.
    assert push["channels"] == {"kf": "outside the 48 h window",
                                "template": "no template for this kind",
                                "subscribe": "no subscribe template for this kind"}
    # Nothing was stored or sent by the preview.
    assert env.services.orders.get("800003").status == "shipped"
    assert len(env.sent("oCli")) == 1
    path.write_text("{not json", encoding="utf-8")
    assert cli(redis_url, "preview", str(path)).returncode == 2


def test_webhook_answers_are_unchanged_with_pushes_on(push_env):
    env = push_env()
    resp = post_signed(env.app.test_client(), event("800004", "paid", openid="oW"))
    assert resp.status_code == 200 and resp.get_json()["result"] == "applied"
