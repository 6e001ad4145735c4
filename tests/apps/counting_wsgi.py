"""A wsgi app for gunicorn tests: the real app plus a handler that counts its side effects."""

import os
import time

from bot import create_app
from bot.handlers import Handler


def count(ctx):
    # A real side effect in the shared Redis, so a double run is visible across workers.
    ctx.services.redis.incr(f"test:effects:{ctx.msg.event_key}")
    time.sleep(float(os.environ.get("TEST_HANDLER_DELAY", "0.2")))
    return ctx.reply("fallback")


app = create_app(extra_handlers=[Handler(name="count", handle=count, menu_keys=("COUNT",))])
