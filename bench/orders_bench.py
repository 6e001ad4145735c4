"""Benchmark orders under gunicorn (2 workers): webhook events applied per second, then the
latency of order answers through the signed, encrypted /wechat callback.

    python bench/orders_bench.py [--seconds 10] [--connections 32] [--generator auto]
                                 [--answers 2000] [--redis redis://127.0.0.1:6379/14]

Events are pre-signed and replayed by wrk when it is installed (apt-get install wrk), else by a
plain Python generator (processes x threads, keep-alive raw sockets). Either shares the CPU with
the server it measures, so the figures are a floor. "Applied" is counted in Redis (entries the
run added to the orders:changes stream), not taken from the client. Target: >= 2,000 events/s.
With wrk, `GET /healthz` on the same server follows as a baseline: the webhook's rate over it
compares runs on a machine whose speed drifts.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import redis
import xmltodict
import yaml
from wechatpy.crypto import WeChatCrypto

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.callback_bench import AES_KEY, APPID, TOKEN, free_port, start_gunicorn  # noqa: E402
from bot.local.simulator import text_xml  # noqa: E402
from bot.orders.webhook import sign  # noqa: E402
from bot.wechat.envelope import signature_of  # noqa: E402

SECRET = "demo-webhook-secret"       # BOT_DEMO's ORDER_WEBHOOK_SECRET
STEPS = [("paid", None), ("shipped", "已揽收"), ("in_transit", "到达转运中心"),
         ("delivered", "已签收")]

Request = tuple[str, str, bytes, dict[str, str]]   # method, path, body, headers


def order_events(count: int, prefix: str = "9") -> list[Request]:
    """`count` signed events: orders go paid → shipped → in transit → delivered, and each
    round of steps is sent after the previous one, as a shop would."""
    orders = max(1, count // len(STEPS))
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    out: list[Request] = []
    for step, (status, description) in enumerate(STEPS):
        for n in range(orders):
            when = (start + timedelta(hours=step * 6, seconds=n)).isoformat()
            order = {"order_id": f"{prefix}{n:09d}", "openid": f"oBench{prefix}{n:06d}",
                     "phone": f"139{n:08d}", "status": status, "amount": "99.00",
                     "items": [{"name": "商品", "quantity": 1, "category": "general"}],
                     "carrier": "SF", "tracking_no": f"SF{n:013d}",
                     "eta": (start + timedelta(days=2)).isoformat()}
            if description:
                order["tracking"] = [{"time": when, "location": "杭州",
                                      "description": description}]
            body = json.dumps({"event_id": f"bench-{prefix}{n}-{step}", "occurred_at": when,
                               "order": order}, ensure_ascii=False).encode()
            out.append(("POST", "/hooks/orders", body,
                        {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}))
    return out[:count]


def order_questions(count: int, orders: list[int],
                    prefix: str = "9") -> tuple[list[Request], list[str]]:
    """Signed, AES-encrypted "订单 <number> 怎么样了" messages about `orders` (numbers as in
    order_events) from their own customers, and the order id each one asks about."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    now = int(time.time())
    out: list[Request] = []
    asked: list[str] = []
    for i in range(count):
        n = random.choice(orders)
        asked.append(f"{prefix}{n:09d}")
        xml = text_xml(f"oBench{prefix}{n:06d}", "gh_bench", f"订单 {prefix}{n:09d} 怎么样了",
                       10**13 + i * 10 + int(prefix), now)
        ts, nonce = str(now), str(random.randint(10**8, 10**9))
        doc = xmltodict.parse(crypto.encrypt_message(xml, nonce, ts))["xml"]
        query = urlencode({"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
                           "signature": signature_of(TOKEN, ts, nonce),
                           "msg_signature": doc["MsgSignature"]})
        body = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
                f"<Encrypt><![CDATA[{doc['Encrypt']}]]></Encrypt></xml>").encode()
        out.append(("POST", f"/wechat?{query}", body, {"Content-Type": "text/xml"}))
    return out, asked


class Connection:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost the CPU it shares
    with the server as little as possible (http.client parses headers with email.parser)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buf = sock, b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _more(self, sock: socket.socket) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def send(self, raw: bytes) -> tuple[int, bytes]:
        sock = self.sock or self._connect()
        sock.sendall(raw)
        while b"\r\n\r\n" not in self.buf:
            self._more(sock)
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status, length, close = int(lines[0][9:12]), 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(self.buf) < length:
            self._more(sock)
        body, self.buf = self.buf[:length], self.buf[length:]
        if close:
            self.close()
        return status, body


def raw_request(method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


Sent = tuple[list[float], dict[str, int], bytes, dict[int, bytes]]


def _drive(args: tuple[int, list[tuple[int, bytes]], int, bool]) -> Sent:
    """One load process: `threads` keep-alive connections working through `requests`
    ((index, raw request) pairs). With `keep`, every 200 body is returned by its index, to be
    checked after the timed run (checking inside it would slow the measured loop)."""
    port, requests, threads, keep = args
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    sample = b""
    bodies: dict[int, bytes] = {}
    lock = threading.Lock()
    feed = iter(requests)

    def worker() -> None:
        nonlocal sample
        conn = Connection(port)
        while True:
            with lock:
                index, raw = next(feed, (-1, None))
            if raw is None:
                break
            started = time.perf_counter()
            try:
                status, data = conn.send(raw)
                key = str(status)
                if status == 200 and data.startswith(b'{"result"'):
                    key = json.loads(data)["result"]
            except OSError:
                conn.close()
                key, data = "error", b""
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                outcomes[key] = outcomes.get(key, 0) + 1
                if not sample and key == "200":
                    sample = data
                if keep and status == 200:
                    bodies[index] = data
        conn.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, outcomes, sample, bodies


def run_load(port: int, requests: list[Request], processes: int, threads: int,
             keep: bool = False) -> tuple[float, list[float], dict[str, int], bytes,
                                          dict[int, bytes]]:
    """Send everything; returns (seconds, latencies, outcome counts, one sample body, and
    with `keep` every 200 body by the index of its request)."""
    raws = list(enumerate(raw_request(*request) for request in requests))
    shares = [raws[i::processes] for i in range(processes)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        started = time.perf_counter()
        results = pool.map(_drive, [(port, share, threads, keep) for share in shares])
        seconds = time.perf_counter() - started
    latencies = [lat for r in results for lat in r[0]]
    outcomes: dict[str, int] = {}
    for r in results:
        for key, value in r[1].items():
            outcomes[key] = outcomes.get(key, 0) + value
    sample = next((r[2] for r in results if r[2]), b"")
    bodies = {index: body for r in results for index, body in r[3].items()}
    return seconds, latencies, outcomes, sample, bodies


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by processes `pids` (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def server_cpu(proc_pid: int, store: redis.Redis) -> tuple[float, float]:
    """CPU seconds used so far by gunicorn (master and workers) and by the Redis server."""
    children = Path(f"/proc/{proc_pid}/task/{proc_pid}/children")
    pids = [proc_pid, *map(int, children.read_text().split())] if children.exists() else [proc_pid]
    info = store.info("cpu")
    return cpu_seconds(pids), float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run_wrk(port: int, events: list[Request], seconds: int, connections: int) -> dict:
    """Replay `events` with wrk (2 threads, each its own slice, in order)."""
    path = Path(tempfile.mkdtemp()) / "events.tsv"
    with path.open("w", encoding="utf-8") as out:
        for _, url, body, headers in events:
            out.write(f"{url}\t{headers['X-Signature']}\t{body.decode()}\n")
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", str(ROOT / "bench/orders_replay.lua"), f"http://127.0.0.1:{port}", "--",
         str(path), "2"],
        capture_output=True, text=True, check=True,
    ).stdout
    line = next(ln for ln in done.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def healthz_baseline(port: int, seconds: int, connections: int) -> float:
    """req/s of `GET /healthz` (Flask plus one Redis PING) on the same server and load: the
    floor of any request in this stack that touches Redis, and a gauge of this machine's speed
    now (it drifts by a third within an hour here), to read the webhook's rate against."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", f"http://127.0.0.1:{port}/healthz"],
        capture_output=True, text=True, check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("Requests/sec:"))
    return float(line.split()[1])


def webhook_phase(args: argparse.Namespace, port: int, proc: subprocess.Popen,
                  store: redis.Redis) -> int:
    """Post events; returns how many orders they were for (a timed run reaches only some)."""
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    # Enough distinct events that none is replayed within the run (about 6,000/s at most).
    count = args.events or (args.seconds * 6_000 if use_wrk else 20_000)
    events = order_events(count)
    before = store.xlen("orders:changes")
    cpu_before = server_cpu(proc.pid, store)
    if use_wrk:
        result = run_wrk(port, events, args.seconds, args.connections)
        seconds, sent = result["seconds"], result["requests"]
        p50, p99 = result["p50_ms"], result["p99_ms"]
        detail = f"errors {result['errors']}  non-2xx {result['non2xx']}"
        generator = f"wrk, {args.connections} connections"
    else:
        seconds, lat, outcomes, _, _ = run_load(port, events, args.processes, args.threads)
        sent, p50, p99 = len(events), pct(lat, 0.5), pct(lat, 0.99)
        detail = f"outcomes {outcomes}"
        generator = f"python, {args.processes}x{args.threads} connections"
    applied = store.xlen("orders:changes") - before
    web, db = (after - start for after, start in zip(server_cpu(proc.pid, store), cpu_before,
                                                     strict=True))
    print(f"webhook  {applied / seconds:,.0f} events/s applied ({applied} events in "
          f"{seconds:.2f} s; {generator}, {sent} responses)  p50 {p50:.2f} ms  "
          f"p99 {p99:.2f} ms  {detail}")
    print(f"         server CPU per event: gunicorn {web / applied * 1e6:.0f} us + Redis "
          f"{db / applied * 1e6:.0f} us, on {os.cpu_count()} cores shared with the load "
          f"generator; target >= 2,000 events/s")
    if use_wrk:
        base = healthz_baseline(port, args.seconds, args.connections)
        print(f"baseline GET /healthz (Flask + one Redis PING), same server and load: "
              f"{base:,.0f} req/s; webhook / healthz = {applied / seconds / base:.2f}")
    return max(1, count // len(STEPS))


def reply_text(crypto: WeChatCrypto, body: bytes) -> str:
    """The text of an encrypted passive reply ("" when it is not one)."""
    try:
        doc = xmltodict.parse(body.decode())["xml"]
        plain = crypto.decrypt_message({"Encrypt": doc["Encrypt"]}, doc["MsgSignature"],
                                       doc["TimeStamp"], doc["Nonce"])
        return xmltodict.parse(plain)["xml"].get("Content") or ""
    except Exception:    # noqa: BLE001 - any unreadable reply is a wrong answer, not a crash
        return ""


def answers_phase(args: argparse.Namespace, port: int, orders: int,
                  store: redis.Redis) -> None:
    # Only orders the webhook phase stored: wrk's threads do not move through the events at
    # the same pace, so "the first N orders" is not the same as "the orders that arrived".
    pipe = store.pipeline(transaction=False)
    for n in range(orders):
        pipe.exists(f"orders:order:9{n:09d}")
    stored = [n for n, found in zip(range(orders), pipe.execute(), strict=True) if found]
    answers, asked = order_questions(args.answers, stored or [0])
    seconds, lat, outcomes, _, bodies = run_load(port, answers, 1, 4, keep=True)
    # A 200 is not an answer: each reply must name the order and its current status.
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    states = yaml.safe_load((ROOT / "replies/orders.zh-CN.yaml").read_text(encoding="utf-8"))
    pipe = store.pipeline(transaction=False)
    for order_id in set(asked):
        pipe.hget(f"orders:order:{order_id}", "status")
    status_of = dict(zip(set(asked), pipe.execute(), strict=True))
    wrong: list[tuple[str, str]] = []
    sample = ""
    for index, order_id in enumerate(asked):
        text = reply_text(crypto, bodies.get(index, b""))
        status = status_of.get(order_id)
        if order_id in text and status and states[f"order_state_{status}"] in text:
            sample = sample or text
        else:
            wrong.append((order_id, text))
    print(f"answers  {len(answers)} order questions via /wechat at 4 connections: "
          f"{len(answers) / seconds:,.0f} req/s  p50 {pct(lat, 0.5):.2f} ms  "
          f"p99 {pct(lat, 0.99):.2f} ms  mean {statistics.fmean(lat) * 1000:.2f} ms  "
          f"outcomes {outcomes}")
    print(f"         wrong answers: {len(wrong)} of {len(answers)} (not naming the order and "
          f"its status)")
    if wrong:
        order_id, text = wrong[0]
        first = text.splitlines()[0] if text else "(no reply text)"
        print(f"         first wrong answer, about {order_id}: {first}")
    print(f"         sample answer: {sample.splitlines()[0] if sample else '(none)'}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10, help="wrk run length")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--events", type=int, default=0, help="events to send (0: enough)")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--processes", type=int, default=2, help="python generator")
    parser.add_argument("--threads", type=int, default=8, help="python generator")
    parser.add_argument("--answers", type=int, default=2_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    store = redis.Redis.from_url(args.redis, decode_responses=True)
    store.flushdb()
    env = dict(os.environ, BOT_DEMO="1", REDIS_URL=args.redis,
               BOT_DATA_DIR=tempfile.mkdtemp(), FLOOD_LIMIT="1000000",
               WECHAT_API_BASE_URL="http://127.0.0.1:9/cgi-bin/", PYTHONPATH=str(ROOT))
    port = free_port()
    proc = start_gunicorn("wsgi:app", port, env)
    try:
        # Warm-up on other orders: imports, connection pools, each worker's matcher (jieba).
        run_load(port, order_events(400, prefix="8"), 1, 8)
        run_load(port, order_questions(200, list(range(100)), prefix="8")[0], 1, 8)
        orders = webhook_phase(args, port, proc, store)
        answers_phase(args, port, orders, store)
    finally:
        proc.terminate()
        proc.wait(15)
        store.flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
