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
