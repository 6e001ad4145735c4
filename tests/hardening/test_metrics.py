"""/metrics: Prometheus text, not public by default, added up across gunicorn workers."""

from __future__ import annotations

import json
import re
import time

import requests

from bot.orders.webhook import sign
from tests.conftest import simulator_for
from tests.fixtures.gunicorn import free_port, simulator
from tests.fixtures.orders import event


def _value(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        metric, _, value = line.rpartition(" ")
        m = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})?", metric)
        if m and m.group(1) == name:
            got = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
            if got == want:
                return float(value)
    return 0.0


def test_metrics_is_off_without_a_token_and_needs_it_when_set(make_app):
    assert make_app().test_client().get("/metrics").status_code == 404
    app = make_app(metrics_token="m-token-123")
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer m-token-123"})
    assert ok.status_code == 200 and ok.mimetype == "text/plain"
    assert "bot_queue_depth" in ok.get_data(as_text=True)


def test_metrics_count_callbacks_matches_and_webhook_events(make_app, clock):
    app = make_app(metrics_token="m-token-123")
    app.extensions["bot"].intents.seed_defaults()
    client = app.test_client()

    def scrape() -> str:
        return client.get("/metrics", headers={"Authorization": "Bearer m-token-123"}
                          ).get_data(as_text=True)

    before = scrape()
    sim = simulator_for(app, clock)
    sim.send_text("oMetrics0000000000000000001", "怎么退货")
    sim.post("<xml>broken", encrypted=False)
    raw = json.dumps(event("202611240001", "paid")).encode()
    client.post("/hooks/orders", data=raw, headers={"X-Signature": sign("demo-webhook-secret",
                                                                           raw)})
    after = scrape()
    assert _value(after, "bot_callbacks_total", outcome="reply") \
        == _value(before, "bot_callbacks_total", outcome="reply") + 1
    assert _value(after, "bot_callbacks_total", outcome="400") \
        == _value(before, "bot_callbacks_total", outcome="400") + 1
    assert _value(after, "bot_matcher_outcomes_total", outcome="matched") \
        == _value(before, "bot_matcher_outcomes_total", outcome="matched") + 1
    assert _value(after, "bot_webhook_events_total", result="applied") \
        == _value(before, "bot_webhook_events_total", result="applied") + 1
    assert _value(after, "bot_callback_seconds_count") \
        == _value(before, "bot_callback_seconds_count") + 2
    assert "bot_pushes_total" in after        # defined for the push pipeline


def test_gunicorn_workers_are_added_up_and_metrics_bind_is_separate(start_gunicorn):
    port = free_port()
    base, _ = start_gunicorn(METRICS_TOKEN="m-token-123", METRICS_BIND=f"127.0.0.1:{port}")
    sim = simulator(base)
    for n in range(12):                       # spread over both workers (no keep-alive)
        sim.send_text(f"oGunicornMetrics{n:012d}", "你好")
    time.sleep(0.3)
    separate = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    on_app = requests.get(f"{base}/metrics", timeout=5,
                          headers={"Authorization": "Bearer m-token-123"}).text
    assert _value(separate, "bot_callbacks_total", outcome="reply") == 12
    assert _value(on_app, "bot_callbacks_total", outcome="reply") == 12
    assert requests.get(f"{base}/metrics", timeout=5).status_code == 401


def _pushes(text: str, **labels: str) -> float:
    return _value(text, "bot_pushes_total", **labels)


def test_pushes_count_each_outcome_once_after_its_write_and_not_retries(push_env):
    """bot_pushes_total counts a push's outcome once: a send that failed twice and was retried
    counts one `sent`, a suppressed push one `suppressed`, and a job run again after the
    send counts nothing more."""
    from bot.platform import metrics
    from tests.pushes.test_rules import shipped

    env = push_env()
    env.user("oPushMetrics1")
    before = metrics.render()[0].decode()
    env.fake.inject("message/custom/send", errcode=-1)
    env.fake.inject("message/custom/send", http_status=502)
    outcomes = env.flow(shipped("810001", "oPushMetrics1"))
    assert outcomes.count("retry") == 2 and outcomes[-1] == "sent"
    pid = env.log("810001")[-1]["push_id"]
    assert env.pushes.deliver(pid) == "sent"          # a redelivered job: already sent
    env.user("oPushMetrics2", consent="refused", window=False)
    env.flow(shipped("810002", "oPushMetrics2"))
    after = metrics.render()[0].decode()
    sent = {"kind": "order_shipped", "channel": "kf", "status": "sent"}
    assert _pushes(after, **sent) == _pushes(before, **sent) + 1
    suppressed = [e for e in env.log("810002") if e["status"] == "suppressed"]
    assert len(suppressed) == 1
    labels = {"kind": "order_shipped", "channel": "none", "status": "suppressed"}
    assert _pushes(after, **labels) == _pushes(before, **labels) + 1
    for status in ("queued", "retrying"):       # steps, not outcomes
        assert f'status="{status}"' not in after


def test_a_job_worker_process_counts_reach_the_web_apps_metrics(start_gunicorn, fake_wechat,
                                                                make_app, redis_url, tmp_path):
    """`python -m bot worker` (spawned processes) and gunicorn share BOT_DATA_DIR/metrics: the
    push a job worker sends is counted in the web app's /metrics."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.fixtures.gunicorn import ROOT
    from tests.fixtures.wechat_api import wait_for

    settings = {"WECHAT_API_BASE_URL": fake_wechat.url, "QUIET_HOURS": "off",
                "PUSH_BEST_HOUR": "0", "PUSH_MERGE_DELAY": "0"}
    base, _ = start_gunicorn(METRICS_TOKEN="m-token-123", **settings)
    rt = make_app().extensions["bot_runtime"]
    rt.pushes.ensure_group()        # as a worker does at its start, before the event
    services = rt.services
    now, openid = time.time(), "oWorkerMetrics00000000000001"
    services.users.subscribed(openid, now - 86_400)
    services.users.seen(openid, now)
    services.prefs.set(openid, consent="given", at=now)
    env = {**os.environ, "BOT_DEMO": "1", "REDIS_URL": redis_url, "BOT_DATA_DIR": str(tmp_path),
           **settings}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    worker = subprocess.Popen([sys.executable, "-m", "bot", "worker", "--processes", "1",
                               "--threads", "2"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=open(tmp_path / "w.log", "w"))
    try:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        body = json.dumps({"event_id": "evt-worker-metrics", "occurred_at": datetime.now(
            ZoneInfo("Asia/Shanghai")).isoformat(), "order": {
                "order_id": "810010", "status": "paid", "openid": openid}}).encode()
        resp = requests.post(f"{base}/hooks/orders", data=body, timeout=5,
                             headers={"X-Signature": sign("demo-webhook-secret", body)})
        assert resp.status_code == 200
        assert wait_for(lambda: fake_wechat.calls("message/custom/send", openid=openid), 60), (
            services.users.redis.lrange("pushes:log:810010", 0, -1), fake_wechat.calls(),
            (tmp_path / "w.log").read_text()[-3000:])

        def scrape() -> str:
            return requests.get(f"{base}/metrics", timeout=5, headers={
                "Authorization": "Bearer m-token-123"}).text

        labels = {"kind": "order_paid", "channel": "kf", "status": "sent"}
        assert wait_for(lambda: _pushes(scrape(), **labels) == 1, 10), scrape()
        assert any(Path(tmp_path, "metrics").glob("counter_*.db"))
    finally:
        worker.terminate()
        worker.wait(30)
