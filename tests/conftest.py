"""Shared fixtures: a real Redis (own db, flushed), a fixed clock, the app, a WeChat simulator."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis

from bot.platform.clock import FixedClock

pytest_plugins = ["tests.fixtures.wechat_api", "tests.fixtures.orders", "tests.fixtures.gunicorn",
                  "tests.fixtures.pushes"]

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# A Tuesday, 10:00 in Shanghai: inside service hours and outside quiet hours.
START = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


@pytest.fixture
def redis_url() -> str:
    return TEST_REDIS_URL


@pytest.fixture
def r(redis_url: str):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def config_values(redis_url: str, tmp_path) -> dict:
    """Test settings: demo credentials, safe mode, the test Redis; tests may override keys."""
    return {
        "bot_demo": True,
        "redis_url": redis_url,
        "bot_data_dir": str(tmp_path / "data"),
        "wechat_api_base_url": "http://127.0.0.1:9/cgi-bin/",
    }


@pytest.fixture
def make_app(r, clock, config_values):
    """Build an app on the real test Redis; keyword arguments override settings."""
    from bot import create_app
    from bot.platform.config import Config

    def make(extra_handlers=None, wechat=None, redis_client=None, **overrides):
        config = Config.from_mapping({**config_values, **overrides})
        deps = {"redis_client": redis_client or r, "clock": clock,
                "extra_handlers": extra_handlers}
        if wechat is not None:
            deps["wechat"] = wechat
        return create_app(config, **deps)

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def seeded_app(make_app):
    """The app with the demo shop's intents (built-ins and the sample FAQ) seeded, so chat
    messages reach the intent handlers."""
    app = make_app()
    app.extensions["bot"].intents.seed_defaults()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def simulator_for(app, clock, client=None, encrypted=True):
    from bot.local.simulator import WeChatSimulator, flask_transport

    config = app.extensions["bot"].config
    return WeChatSimulator(
        flask_transport(client or app.test_client()),
        token=config.wechat_token,
        appid=config.wechat_appid,
        aes_key=config.wechat_aes_key if encrypted else "",
        now=clock.now,
    )


@pytest.fixture
def wechat(app, clock, client):
    """Posts signed, encrypted messages to the app like WeChat's servers."""
    return simulator_for(app, clock, client)
