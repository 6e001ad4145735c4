"""Test handlers shared by the gunicorn test app and in-process workers."""

import os
import time

from bot.conversation.handlers import Handler


def count(ctx):
    # A real side effect in the shared Redis, so a double run is visible across workers.
    ctx.services.redis.incr(f"test:effects:{ctx.msg.event_key}")
    time.sleep(float(os.environ.get("TEST_HANDLER_DELAY", "0.2")))
    return ctx.reply("fallback")


COUNT_HANDLER = Handler(name="count", handle=count, menu_keys=("COUNT",))
