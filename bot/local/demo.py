"""`python -m bot demo`: the whole bot on one machine with nothing set up.

Starts the embedded Redis, a local fake WeChat API, seeds demo intents and orders, then runs
gunicorn (the web app) and a Dramatiq worker until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from bot.local.demo_orders import DEMO_OPENID, LIFE_ORDER, life_events
from bot.orders.store import STREAM
from bot.orders.webhook import sign
from bot.platform.config import Config
from bot.platform.storage import redis_url_for
from bot.pushes.consumer import GROUP
from bot.pushes.preferences import CONSENT_GIVEN

ROOT = Path(__file__).resolve().parents[2]


def run_demo(port: int = 8000, fake_port: int = 8001, smoke: bool = False,
             push_every: float = 20.0) -> int:
    """Run the demo; with `smoke`, send one message end to end and stop (used by tests).
    Every `push_every` seconds (0: never) the demo order takes its next step through the
    webhook, and its push reaches the chat."""
    os.environ.setdefault("BOT_DEMO", "1")
    # The demo shows every push as it happens, whatever the hour: no quiet hours, no rhythm.
    os.environ.setdefault("QUIET_HOURS", "off")
    os.environ.setdefault("PUSH_TRANSIT_INTERVAL", "0")
    os.environ.setdefault("PUSH_BEST_HOUR", "0")
    base = Config.from_env()
    os.environ["REDIS_URL"] = redis_url_for(base.redis_url, base.data_dir)
    from bot.local.fake_wechat import FakeWeChatServer

    fake = FakeWeChatServer(port=fake_port, appid=base.wechat_appid, secret=base.wechat_secret)
    fake.start()
    os.environ["WECHAT_API_BASE_URL"] = fake.url
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    config = Config.from_env()
    seeded = seed_demo_data(config)
    console_password = demo_console_account(config)
    # `python -m bot chat` reads this to find the bot and the fake WeChat, whatever the ports.
    running = demo_file(config)
    running.write_text(json.dumps({"bot_url": f"http://127.0.0.1:{port}",
                                   "wechat_api_base_url": fake.url}), encoding="utf-8")
    env = dict(os.environ, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2")
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT, env=env,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "--processes", "1"], cwd=ROOT, env=env
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz")
        print(_banner(port, seeded, console_password), flush=True)
        if smoke:
            return _smoke(config, port)
        if push_every > 0:
            threading.Thread(target=_advance_demo_order, args=(config, port, push_every),
                             daemon=True, name="demo-order").start()
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while web.poll() is None and worker.poll() is None:
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in (web, worker):
            if proc.poll() is None:
                proc.terminate()
        for proc in (web, worker):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        fake.stop()
        running.unlink(missing_ok=True)


def demo_file(config: Config) -> Path:
    """Where a running demo says where it listens."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    return config.data_dir / "demo.json"


def seed_demo_data(config: Config) -> list[str]:
    """Built-in and demo FAQ intents, and demo orders for the chat user; idempotent."""
    from bot.local.demo_orders import seed_demo_orders
    from bot.runtime import build_runtime

    rt = build_runtime(config)
    rt.services.intents.seed_defaults()
    orders = seed_demo_orders(rt.services.orders, DEMO_OPENID)
    services = rt.services
    now = services.clock.now()
    # The chat user agreed to notifications and has just written (the 客服消息 window is open),
    # and the demo order starts afresh each run.
    services.prefs.set(DEMO_OPENID, consent=CONSENT_GIVEN, at=now)
    services.users.subscribed(DEMO_OPENID, now - 60)
    services.users.seen(DEMO_OPENID, now)
    services.orders.store.delete(LIFE_ORDER)
    # The seeded orders are the demo's starting point, not news: pushes start after them.
    rt.pushes.ensure_group()
    services.redis.xgroup_setid(STREAM, GROUP, "$")
    return ["intents", f"{len(orders)} orders"]


DEMO_ADMIN = "admin"


def demo_console_account(config: Config) -> str:
    """A fresh password for the demo's console admin on every start; returns it."""
    import secrets
    import time as clock

    from bot.console.accounts import AccountStore
    from bot.platform.storage import connect

    password = secrets.token_urlsafe(12)
    client = connect(redis_url_for(config.redis_url, config.data_dir))
    AccountStore(client).add(DEMO_ADMIN, "admin", password, clock.time())
    return password


def _advance_demo_order(config: Config, port: int, step: float) -> None:
    """Walk the demo order through paid → shipped → in transit → out for delivery →
    delivered through the signed webhook, one step every `step` seconds."""
    tz = ZoneInfo(config.timezone)
    start = datetime.now(tz).replace(microsecond=0)
    began = time.time()
    for offset, body in life_events(DEMO_OPENID, start, step):
        time.sleep(max(0.0, began + offset - time.time()))
        raw = json.dumps(body, ensure_ascii=False).encode()
        try:
            requests.post(f"http://127.0.0.1:{port}/hooks/orders", data=raw, timeout=5,
                          headers={"Content-Type": "application/json",
                                   "X-Signature": sign(config.order_webhook_secret, raw)})
        except requests.RequestException:
            return      # the demo is stopping


def _wait_healthy(url: str, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the bot did not become healthy at {url}")


def _smoke(config: Config, port: int) -> int:
    from bot.local.simulator import WeChatSimulator, requests_transport

    sim = WeChatSimulator(
        requests_transport(f"http://127.0.0.1:{port}"),
        config.wechat_token, config.wechat_appid, config.wechat_aes_key,
    )
    answer = sim.send_text(DEMO_OPENID, "你好")
    print(f"smoke: HTTP {answer.status}: {answer.text}")
    return 0 if answer.status == 200 and answer.text else 1


def _banner(port: int, seeded: list[str], console_password: str) -> str:
    return f"""
  The bot is running on http://127.0.0.1:{port}/wechat (demo settings, embedded Redis).
  Seeded: {', '.join(seeded) or 'nothing'}.

  Console: http://127.0.0.1:{port}/console/  name: {DEMO_ADMIN}  password: {console_password}

  Chat with it from another terminal:

      . .venv/bin/activate && python -m bot chat

  A demo order (202611250007) moves through its life every few seconds: each push it
  causes appears in the chat as `push>`.

  Press Ctrl-C here to stop.
"""
