"""`python -m bot chat`: chat with a running bot from the terminal, as WeChat would deliver it.

Each line is signed (and in safe mode encrypted) like WeChat's servers do, posted to the bot's
/wechat endpoint, and the decrypted reply printed. Messages the bot sends on its own to this
user (late replies, order pushes) are read from the local fake WeChat API and shown too.
"""

from __future__ import annotations

import json
import os
import threading
import time

from bot.local.demo_orders import DEMO_OPENID
from bot.local.fake_wechat import FakeWeChatControl
from bot.local.simulator import WeChatSimulator, requests_transport
from bot.platform.config import Config

HELP = """Type a message and press Enter. Commands:
  /event NAME [KEY]   send an event (subscribe, unsubscribe, CLICK MENU_ORDERS, SCAN ...)
  /image [URL]        send a photo (e.g. after a complaint: it joins the hand-off)
  /user OPENID        speak as another user
  /plain              toggle plain (unencrypted) mode
  /help               show this
  /quit               leave"""


def chat_config(url: str | None) -> tuple[Config, str]:
    """The settings to sign with and the bot's URL: a running demo's, unless set otherwise."""
    env = dict(os.environ)
    if not env.get("WECHAT_TOKEN"):
        env["BOT_DEMO"] = "1"  # no account configured: talk to the demo
    config = Config.from_env(env)
    demo = {}
    if config.bot_demo:
        from bot.local.demo import demo_file

        path = demo_file(config)
        if path.exists():
            demo = json.loads(path.read_text(encoding="utf-8"))
            if "WECHAT_API_BASE_URL" not in env:
                config = Config.from_env({**env,
                                          "WECHAT_API_BASE_URL": demo["wechat_api_base_url"]})
    return config, url or demo.get("bot_url") or "http://127.0.0.1:8000"


NOT_RUNNING = """No bot is answering at {url}.
Start the demo in another terminal first:

    . .venv/bin/activate && python -m bot demo

then run `python -m bot chat` again (or point it elsewhere with --url or BOT_URL)."""


def bot_is_up(url: str, timeout: float = 2.0) -> bool:
    """Whether anything answers the bot's health check at `url`."""
    import requests

    try:
        requests.get(url.rstrip("/") + "/healthz", timeout=timeout)
    except requests.RequestException:
        return False
    return True


def run_chat(url: str | None = None, openid: str = DEMO_OPENID, plain: bool = False) -> int:
    """Interactive loop; returns an exit code."""
    config, url = chat_config(url)
    if not bot_is_up(url):
        print(NOT_RUNNING.format(url=url))
        return 1
    transport = requests_transport(url)
    sim = WeChatSimulator(
        transport, config.wechat_token, config.wechat_appid, config.wechat_aes_key
    )
    print(f"Chatting with {url}/wechat as {openid} ({'plain' if plain else 'safe'} mode).")
    print(HELP)
    watcher = PushWatcher(_push_reader(config), openid)
    watcher.start()
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        if line == "/quit":
            return 0
        if line == "/help":
            print(HELP)
            continue
        if line == "/plain":
            plain = not plain
            print(f"[{'plain' if plain else 'safe'} mode]")
            continue
        if line.startswith("/user "):
            openid = line.split(maxsplit=1)[1]
            watcher.openid = openid
            print(f"[now speaking as {openid}]")
            continue
        try:
            if line == "/image" or line.startswith("/image "):
                parts = line.split(maxsplit=1)
                answer = sim.image(openid, *(parts[1:] or []), encrypted=not plain)
            elif line.startswith("/event "):
                parts = line.split()
                answer = sim.event(openid, parts[1], parts[2] if len(parts) > 2 else "",
                                   encrypted=not plain)
            else:
                answer = sim.send_text(openid, line, encrypted=not plain)
        except Exception as exc:  # the bot stopped, or the network failed
            if not bot_is_up(url):
                print(f"[the bot at {url} stopped answering: restart it with "
                      "`python -m bot demo`, then send the message again]")
            else:
                print(f"[could not reach the bot: {type(exc).__name__}]")
            continue
        if answer.status != 200:
            print(f"[HTTP {answer.status}: {answer.body.decode(errors='replace')}]")
        elif answer.text:
            print(f"bot> {answer.text}")
        elif answer.msg_type == "transfer_customer_service":
            print("[handed to a human agent: WeChat's customer-service desk takes over]")
        else:
            print("[the bot answered 'success'; any reply comes as a message below]")


def _push_reader(config: Config) -> FakeWeChatControl | None:
    base = config.wechat_api_base_url
    if "127.0.0.1" not in base and "localhost" not in base:
        return None  # talking to real WeChat: pushes arrive in the real app, not here
    return FakeWeChatControl(base)


class PushWatcher(threading.Thread):
    """Shows what the bot sends this user on its own (late replies, pushes) as it arrives,
    not only after the next line typed: a late reply comes seconds after its `success`."""

    def __init__(self, control: FakeWeChatControl | None, openid: str,
                 interval: float = 0.5) -> None:
        super().__init__(daemon=True, name="pushes")
        self.control = control
        self.openid = openid
        self.interval = interval
        self.since = time.time()

    def run(self) -> None:
        if self.control is None:
            return
        while True:
            time.sleep(self.interval)
            try:
                calls = self.control.calls(openid=self.openid, since=self.since)
            except Exception:
                continue  # the demo is restarting; look again shortly
            for call in calls:
                self.since = max(self.since, call.get("time", self.since) + 1e-6)
                # A repeat of a template send (same client_msg_id) is not a second message.
                if (call["path"].startswith("message/") and call["result"] == 0
                        and not call.get("repeat")):
                    print(f"\npush> [{call['path']}] {_describe(call.get('body') or {})}")
                    print("you> ", end="", flush=True)


def _describe(body: dict) -> str:
    if "text" in body:
        return body["text"].get("content", "")
    if "data" in body:
        return " | ".join(f"{k}: {v.get('value')}" for k, v in body["data"].items())
    return str(body)
