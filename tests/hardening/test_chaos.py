"""A short run of bench/chaos.py: web and job workers SIGKILLed every few seconds and Redis
restarted once under mixed traffic; no message, order event or push lost, nothing doubled."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_short_chaos_run_loses_and_doubles_nothing():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import chaos
    finally:
        sys.path.remove(str(ROOT / "bench"))
    result = chaos.run(seconds=14, kill_every=3.5, clients=4, drain=60, quiet=True)
    assert result["kills_web"] >= 3 and result["kills_jobs"] >= 3
    assert result["redis_restarts"] == 1
    assert result["messages"] > 30 and result["late_replies"] > 5
    assert result["lost"] == 0 and result["doubled"] == 0, result["examples"]
    # Every delivery timing out is the machine's load, not a lost reply; a few at most.
    assert result["unanswered_timeouts"] <= result["messages"] // 20, result["examples"]
    assert result["acked_events"] > 10
    assert result["acked_applied"] == result["acked_events"]
    # Every acknowledged event's push reached WeChat exactly once: none lost, none doubled.
    assert result["pushes_expected"] == result["acked_events"]
    assert result["pushes_lost"] == 0, result["examples"]
    # A double is allowed only where no code can prevent it: a worker SIGKILLed between
    # WeChat taking a 客服消息 (no client_msg_id) and the write that records it (the 120 s
    # bench saw 1 in 978). Any other double fails.
    assert result["pushes_doubled"] == result["pushes_doubled_kill_window"] <= 2, \
        result["examples"]
    assert result["pushes_once"] + result["pushes_doubled"] == result["pushes_expected"]


def test_a_redelivered_job_waits_out_a_dead_workers_sending_marker(make_app, fake_wechat, r):
    """Found by the chaos run: a job requeued 15 s after its worker died mid-send found the
    30 s "sending" marker and reported "already delivered": the reply was never sent."""
    import json
    import time

    from bot.conversation.messages import Incoming
    from bot.wechat.coordinator import payload_of, record_key
    from bot.wechat.late_reply import deliver_late_reply

    app = make_app(wechat_api_base_url=fake_wechat.url)
    rt = app.extensions["bot_runtime"]
    msg = Incoming(openid="oSendingMarker000000000000001", account="gh", kind="text",
                   create_time=1, msg_id="77", text="你好")
    key = record_key(msg.dedup_key)
    r.set(key, json.dumps({"state": "done", "reply": "您好", "kind": "text", "at": 1}), ex=600)
    r.set(f"{key}:sent", "sending", px=800)         # the dead worker's marker, lapsing soon
    started = time.monotonic()
    outcome = deliver_late_reply(rt.services, rt.dispatcher, rt.coordinator.leases,
                                 payload_of(msg))
    assert outcome == "sent" and time.monotonic() - started >= 0.5
    assert len(fake_wechat.calls("message/custom/send", openid=msg.openid)) == 1
    # A finished send is still "already delivered", at once.
    assert deliver_late_reply(rt.services, rt.dispatcher, rt.coordinator.leases,
                              payload_of(msg)) == "already delivered"
