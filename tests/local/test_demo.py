"""The README's first command: the demo on embedded defaults, and chatting with it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from bot.platform.config import Config
from bot.wechat.api import WeChatAPI

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WECHAT_", "REDIS_URL", "BOT_", "ORDER_"))}
    return {**env, "BOT_DATA_DIR": str(data_dir)}


@pytest.fixture
def running_demo(tmp_path):
    yield from start_demo(tmp_path, push_every=0)


@pytest.fixture
def pushing_demo(tmp_path):
    yield from start_demo(tmp_path, push_every=3)


def start_demo(tmp_path, push_every: float):
    data = tmp_path / "data"
    port, fake_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--port", str(port),
         "--fake-wechat-port", str(fake_port), "--push-every", str(push_every)],
        cwd=ROOT, env=demo_env(data), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    deadline = time.time() + 90
    seen = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if "Chat with it" in line:
            break
        if not line and proc.poll() is not None:
            pytest.fail("demo exited:\n" + "".join(seen))
    yield {"data": data, "port": port, "fake_port": fake_port, "banner": "".join(seen)}
    proc.terminate()
    proc.wait(30)


def test_demo_smoke_on_embedded_redis(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--smoke", "--port", str(free_port()),
         "--fake-wechat-port", str(free_port())],
        cwd=ROOT, env=demo_env(tmp_path / "data"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "smoke: HTTP 200:" in done.stdout
    assert any((tmp_path / "data").iterdir())  # the embedded Redis lives in the data folder
    # …and stops with the demo rather than outliving it.
    time.sleep(0.5)
    assert not servers_in(tmp_path / "data")


def servers_in(folder: Path) -> list[int]:
    """Pids of processes (the embedded redis-server) whose working folder is `folder`."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")) == folder.resolve():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def test_chat_talks_to_the_running_demo_and_shows_pushes(running_demo):
    data = running_demo["data"]
    assert "Seeded: intents" in running_demo["banner"]
    running = json.loads((data / "demo.json").read_text())
    chat = subprocess.Popen([sys.executable, "-m", "bot", "chat"], cwd=ROOT,
                            env=demo_env(data), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)

    def say(text: str, until: str) -> str:
        chat.stdin.write(text + "\n")
        chat.stdin.flush()
        return read_until(chat, until)

    try:
        first = say("怎么退货", "bot>")
        assert "bot> " in first and "退货" in first
        # Something the bot sends on its own (a push, a late reply) shows up in the chat.
        config = Config.from_mapping({"bot_demo": True, "bot_data_dir": str(data),
                                      "wechat_api_base_url": running["wechat_api_base_url"]})
        url = redis_url_of(data)
        WeChatAPI(config, redis.Redis.from_url(url, decode_responses=True)).send_text(
            "oDemoCustomer0001", "您的订单已发货")
        # It shows up by itself, while the chat waits for the user to type.
        pushed = read_until(chat, "push>")
        assert "push> [message/custom/send] 您的订单已发货" in pushed
    finally:
        chat.stdin.write("/quit\n")
        chat.stdin.flush()
        chat.wait(10)


def test_demo_prints_a_console_admin_that_can_log_in(running_demo):
    import re

    import requests

    banner = running_demo["banner"]
    found = re.search(r"Console: (http://\S+/console/)\s+name: (\S+)\s+password: (\S+)", banner)
    assert found, banner
    url, name, password = found.groups()
    session = requests.Session()
    page = session.get(url + "login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = session.post(url + "login", data={"name": name, "password": password,
                                             "csrf_token": token}, timeout=10)
    assert resp.status_code == 200 and "概览" in resp.text   # landed on the overview


def test_the_demo_order_moves_and_the_chat_prints_each_push(pushing_demo):
    data = pushing_demo["data"]
    chat = subprocess.Popen([sys.executable, "-m", "bot", "chat"], cwd=ROOT,
                            env=demo_env(data), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    try:
        seen = read_until(chat, "已签收", timeout=60)
        pushes = [line for line in seen.splitlines()
                  if "push>" in line and "202611250007" in line]
        # Paid may go out before the chat starts watching, and on a loaded machine a step's
        # push may find the order already a step further (then it is dropped, never sent
        # out of order): what arrives arrives in the order's order, ending signed for.
        steps = ["已付款", "已发货", "运输中", "正在派送", "已签收"]
        seen_steps = [next(i for i, s in enumerate(steps) if s in line) for line in pushes]
        assert len(seen_steps) >= 2 and seen_steps == sorted(seen_steps), seen
        assert seen_steps[-1] == 4 and "取件码 6-3-2207" in pushes[-1]
    finally:
        chat.stdin.write("/quit\n")
        chat.stdin.flush()
        chat.wait(10)


def read_until(proc: subprocess.Popen, marker: str, timeout: float = 30) -> str:
    out = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        out.append(line)
        if marker in line or not line:
            break
    return "".join(out)


def redis_url_of(data: Path) -> str:
    from bot.platform.storage import redis_url_for

    return redis_url_for("", data)


def test_demo_seeding_gives_the_chat_user_orders_to_ask_about(config_values, make_app, r,
                                                              clock):
    """What `python -m bot demo` runs before it starts: the chat user has orders at once."""
    from bot.local.demo import seed_demo_data
    from bot.local.demo_orders import DEMO_OPENID, PHONE_ONLY_ORDER
    from tests.conftest import simulator_for

    seeded = seed_demo_data(Config.from_mapping(config_values))
    assert "6 orders" in seeded
    mine = r.zrevrange(f"orders:openid:{DEMO_OPENID}", 0, -1)
    assert len(mine) == 5 and PHONE_ONLY_ORDER not in mine
    statuses = {r.hget(f"orders:order:{order_id}", "status") for order_id in mine}
    assert {"shipped", "delivered", "exception", "processing", "out_for_delivery"} <= statuses
    assert r.hget(f"orders:order:{PHONE_ONLY_ORDER}", "phone") == "13800005678"
    chat = simulator_for(make_app(), clock)
    assert "回复序号" in chat.text(DEMO_OPENID, "我的订单怎么样了")
