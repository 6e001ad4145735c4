"""Hostile traffic at volume against the real app under gunicorn (2 workers, 4 threads each).

    python bench/hostile.py [--count 10000] [--threads 8] [--redis redis://127.0.0.1:6379/14]

Generates `count` requests across these kinds, each built afresh with random contents:
forged and replayed signatures, truncated and deeply nested XML, DTD/entity tricks, wrong
encodings (UTF-16, GBK, Latin-1, invalid UTF-8), giant fields (just under and over the 64 KB
limit, chunked too), control characters, valid safe-mode envelopes around hostile contents
(random Unicode, lone surrogates, 5,000-deep XML, CDATA breaks), the order webhook with valid
signatures around hostile JSON (30,000-deep nesting, lone surrogates, wrong types, huge numbers),
and junk on the tracking page and the URL check.

Prints: requests by kind and status, the count of 5xx answers, hangs (no answer within 10 s),
gunicorn worker restarts (worker pids that changed) and the server's memory (master + workers,
RSS) before and after. Target: 0 5xx, 0 hangs, 0 restarts, memory stable. Each hang is listed
with what it was (kind, seed, method, path, body size, chunked or not, whether the client was
the exception and its text, seconds into the run) so it can be replayed alone:
`--replay KIND:SEED` sends just that request and prints what came back.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import redis
import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.local.simulator import event_xml, text_xml  # noqa: E402
from bot.orders.webhook import sign  # noqa: E402
from bot.wechat.envelope import signature_of  # noqa: E402

TOKEN, APPID = "demo-token", "wxdemo0000000000"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WEBHOOK_SECRET = "demo-webhook-secret"
HANG = 10.0
CRYPTO = WeChatCrypto(TOKEN, AES_KEY, APPID)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Hostile contents ------------------------------------------------------------------------------

def junk_text(rng: random.Random, n: int = 40) -> str:
    pools = [
        lambda: chr(rng.randint(0, 0x10FFFF)),
        lambda: rng.choice("<>&'\"]]>\x00\x01\x0b\x1f\ufffe\uffff\u200b\u202e\ufeff"),
        lambda: rng.choice(["]]>", "<![CDATA[", "&lt;", "&#0;", "&#x1F;", "<!DOCTYPE x>",
                            "%s%s%n", "'; DROP TABLE", "{{7*7}}", "\\u0000", "查订单 ",
                            "202611240001", "转人工", "13800005678"]),
        lambda: rng.choice(string.printable),
    ]
    return "".join(rng.choice(pools)() for _ in range(rng.randint(0, n)))


def encodable(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


def signed_query(now: int, **extra: str) -> dict[str, str]:
    ts, nonce = str(now), str(random.randint(10**8, 10**9))
    return {"timestamp": ts, "nonce": nonce, "signature": signature_of(TOKEN, ts, nonce),
            **extra}


def sealed(inner: str, now: int) -> tuple[str, bytes]:
    """A correctly signed safe-mode envelope around `inner`."""
    ts, nonce = str(now), str(random.randint(10**8, 10**9))
    doc = xmltodict.parse(CRYPTO.encrypt_message(inner, nonce, ts))["xml"]
    query = urlencode({"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
                       "signature": signature_of(TOKEN, ts, nonce),
                       "msg_signature": doc["MsgSignature"]})
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{doc['Encrypt']}]]></Encrypt></xml>"
    return f"/wechat?{query}", body.encode()


def openid(rng: random.Random) -> str:
    return "oHostile" + "".join(rng.choice(string.ascii_letters) for _ in range(20))


# One request of each kind: (method, path, body, headers) ------------------------------------

def forged(rng, now):
    q = signed_query(now)
    q["signature"] = "".join(rng.choice("0123456789abcdef") for _ in range(40))
    return "POST", "/wechat?" + urlencode(q), text_xml(openid(rng), "gh", "hi", 1, now).encode(), {}


def replayed(rng, now):
    stale = now - rng.choice([301, 3600, 86400 * 365, -900])
    xml = text_xml(openid(rng), "gh", "hi", rng.randint(1, 10**9), stale)
    return "POST", "/wechat?" + urlencode(signed_query(stale)), xml.encode(), {}


def truncated(rng, now):
    xml = text_xml(openid(rng), "gh", junk_text(rng), rng.randint(1, 10**9), now)
    cut = xml[: rng.randint(0, len(xml))]
    return "POST", "/wechat?" + urlencode(signed_query(now)), encodable(cut).encode(), {}


def nested(rng, now):
    depth = rng.choice([100, 1000, 5000, 20000])
    xml = "<xml>" + "<a>" * depth + "</a>" * depth + "</xml>"
    if rng.random() < 0.5:
        return ("POST", "/wechat?" + urlencode(signed_query(now)), xml.encode(), {})
    return ("POST", *sealed(xml[:60000], now), {})


def entities(rng, now):
    bodies = [
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' + "".join(
            f'<!ENTITY a{i} "{"&a{};".format(i - 1 if i > 1 else "") * 10}">'
            for i in range(1, 10)) + ']><xml><Content>&a9;</Content></xml>',
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>',
        '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x">%p;]><xml/>',
        '<xml><Content>&unknown;</Content></xml>',
        '<?xml version="1.0" encoding="UTF-7"?><xml>+ADw-script+AD4-</xml>',
    ]
    body = rng.choice(bodies)
    if rng.random() < 0.5:
        return "POST", "/wechat?" + urlencode(signed_query(now)), body.encode(), {}
    return ("POST", *sealed(body, now), {})


def encodings(rng, now):
    xml = text_xml(openid(rng), "gh", "你好,查订单", rng.randint(1, 10**9), now)
    enc = rng.choice(["utf-16", "utf-16-le", "gbk", "latin-1", "bad"])
    body = (xml.encode(enc, "replace") if enc != "bad"
            else xml.encode() + bytes(rng.randint(0x80, 0xFF) for _ in range(20)))
    return "POST", "/wechat?" + urlencode(signed_query(now)), body, {}


def giant(rng, now):
    size = rng.choice([60_000, 65_000, 70_000, 200_000])
    xml = text_xml(openid(rng), "gh", "x" * size, rng.randint(1, 10**9), now)
    headers = {}
    if rng.random() < 0.3:
        headers["Transfer-Encoding"] = "chunked"
        body = iter([xml.encode()[i:i + 8192] for i in range(0, len(xml.encode()), 8192)])
        return "POST", "/wechat?" + urlencode(signed_query(now)), body, headers
    return "POST", "/wechat?" + urlencode(signed_query(now)), xml.encode(), headers


def controls(rng, now):
    content = "".join(chr(rng.randint(0, 31)) for _ in range(50)) + "查订单"
    xml = text_xml(openid(rng), "gh", content, rng.randint(1, 10**9), now)
    return "POST", "/wechat?" + urlencode(signed_query(now)), xml.encode(), {}


def hostile_contents(rng, now):
    oid = rng.choice([openid(rng), "", " ", "x" * 500, "o" + junk_text(rng, 10)])
    kind = rng.random()
    if kind < 0.6:
        inner = text_xml(oid, "gh", junk_text(rng, 200), rng.randint(-10**6, 10**20), now)
    elif kind < 0.8:
        inner = event_xml(oid, "gh", rng.choice(["CLICK", "subscribe", "SCAN", junk_text(rng)]),
                          junk_text(rng), now)
    else:
        inner = text_xml(oid, "gh", "x", 1, now).replace("<![CDATA[text]]>",
                                                         f"<![CDATA[{junk_text(rng, 8)}]]>")
    return ("POST", *sealed(encodable(inner), now), {})


def _deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def webhook(rng, now):
    choice = rng.random()
    if choice < 0.2:
        raw = _deep_json(rng.choice([1000, 30000])).encode()
    elif choice < 0.35:
        raw = ('{"event_id": "e1", "occurred_at": "2026-11-24T10:00:00+08:00", "order": '
               + _deep_json(30000) + "}").encode()
    elif choice < 0.55:
        body = {"event_id": f"h-{rng.randint(1, 10**9)}",
                "occurred_at": "2026-11-24T10:00:00+08:00",
                "order": {"order_id": str(rng.randint(10**5, 10**12)), "status": "paid",
                          "items": [{"name": "\ud800x" if rng.random() < 0.5 else "ok"}],
                          "address": junk_text(rng, 50)}}
        raw = json.dumps(body).encode()
    elif choice < 0.8:
        values = [None, True, 1.5, -1, 10**400, "1e999", junk_text(rng), [], {}, "NaN"]
        body = {"event_id": rng.choice(values + ["e-ok"]), "occurred_at": rng.choice(values),
                "order": {k: rng.choice(values) for k in ("order_id", "status", "amount",
                                                          "phone", "items", "tracking")}}
        raw = json.dumps(body).replace('"10' + "0" * 399 + '"', "1" + "0" * 400).encode()
    else:
        raw = bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 500)))
    signature = sign(WEBHOOK_SECRET, raw) if rng.random() < 0.9 else "sha256=" + "0" * 64
    return "POST", "/hooks/orders", raw, {"X-Signature": signature,
                                          "Content-Type": "application/json"}


def junk_urls(rng, now):
    choice = rng.random()
    if choice < 0.4:
        token = "".join(rng.choice(string.printable[:90]) for _ in range(rng.randint(0, 300)))
        return "GET", "/track/" + requests.utils.quote(token, safe=""), None, {}
    if choice < 0.8:
        q = {k: junk_text(rng, 30) for k in ("signature", "timestamp", "nonce", "echostr")}
        return "GET", "/wechat?" + urlencode({k: encodable(v) for k, v in q.items()}), None, {}
    return "POST", "/wechat?" + "&".join(["a=b"] * 2000), b"<xml/>", {}


KINDS = {
    "forged signature": forged, "replayed signature": replayed, "truncated XML": truncated,
    "nested XML": nested, "entity tricks": entities, "wrong encoding": encodings,
    "giant fields": giant, "control characters": controls,
    "valid envelope, hostile contents": hostile_contents, "order webhook": webhook,
    "junk URLs": junk_urls,
}


# Running it ------------------------------------------------------------------------------------

def body_size(body: object) -> int | str:
    """The body's length, or "chunked" for a generator (not consumed here)."""
    if body is None:
        return 0
    if isinstance(body, bytes | str):
        return len(body)
    return "chunked"


def describe_hang(kind: str, seed: int, method: str, path: str, size: object,
                  headers: dict, exc: Exception, at: float, waited: float) -> str:
    # A read timeout covers a blocked send too (urllib3 reports both as a read timeout);
    # the exception's text tells them apart where it can.
    phase = ("connecting" if isinstance(exc, requests.ConnectTimeout) else
             f"reading or sending ({str(exc)[-60:]})")
    chunked = " chunked" if headers.get("Transfer-Encoding") == "chunked" else ""
    return (f"{kind} (--replay '{kind}:{seed}'): {method} {path.split('?')[0]}, body {size}"
            f"{chunked}, {type(exc).__name__} while {phase} after {waited:.1f} s, "
            f"{at:.0f} s into the run")


def replay(base: str, kind: str, seed: int) -> None:
    method, path, body, headers = KINDS[kind](random.Random(seed), int(time.time()))
    began = time.perf_counter()
    try:
        resp = requests.request(method, base + path, data=body, headers=headers, timeout=HANG)
        print(f"{kind}:{seed} -> {resp.status_code} in {time.perf_counter() - began:.2f} s: "
              f"{resp.text[:200]!r}")
    except requests.RequestException as exc:
        print(f"{kind}:{seed} -> {type(exc).__name__} after {time.perf_counter() - began:.2f} s")


def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in
                Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--replay", action="append", default=[], metavar="KIND:SEED",
                        help="send only these requests (from a hang's line), then stop")
    args = parser.parse_args()

    redis.Redis.from_url(args.redis).flushdb()
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="hostile-", suffix=".log", delete=False)
    env = {**os.environ, "BOT_DEMO": "1", "REDIS_URL": args.redis, "BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "2", "WEB_THREADS": "4", "WECHAT_API_BASE_URL":
           "http://127.0.0.1:9/", "BOT_DATA_DIR": tempfile.mkdtemp(prefix="hostile-data-")}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                               "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        if args.replay:
            for item in args.replay:
                kind, _, seed = item.rpartition(":")
                replay(base, kind, int(seed))
            return 0
        # Warm both workers (matcher built, jieba loaded) before measuring memory.
        warm = requests.Session()
        for n in range(40):
            method, path, body, headers = hostile_contents(random.Random(n), int(time.time()))
            warm.post(base + path, data=body, timeout=HANG)
        workers_before = sorted(children(server.pid))
        mem_before = rss_kb([server.pid, *workers_before])

        rng = random.Random(args.seed)
        plan = [(rng.choice(list(KINDS)), rng.randrange(2**32)) for _ in range(args.count)]
        results: collections.Counter = collections.Counter()
        by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        five_xx: list[str] = []
        hangs = 0
        hang_details: list[str] = []
        started = time.perf_counter()
        lock = threading.Lock()
        local = threading.local()

        def fire(item: tuple[str, int]) -> None:
            nonlocal hangs
            kind, seed = item
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            method, path, body, headers = KINDS[kind](random.Random(seed), int(time.time()))
            status: int | str = "reset"
            size = body_size(body)
            began = time.perf_counter()
            for _attempt in range(2):
                try:
                    resp = session.request(method, base + path, data=body, headers=headers,
                                           timeout=HANG)
                    status = resp.status_code
                    break
                except requests.Timeout as exc:
                    status = "hang"
                    with lock:
                        hang_details.append(describe_hang(
                            kind, seed, method, path, size, headers, exc,
                            began - started, time.perf_counter() - began))
                    break
                except requests.ConnectionError:
                    # The server closes a connection after refusing a body it did not read
                    # (a 413); the next request on that kept-alive connection is reset. Tried
                    # once more on a new connection; a second reset is counted as one.
                    session = local.session = requests.Session()
                    if not hasattr(body, "__next__"):
                        continue
                    break
            with lock:
                results[status] += 1
                by_kind[kind][status] += 1
                if status == "hang":
                    hangs += 1
                elif isinstance(status, int) and status >= 500:
                    five_xx.append(f"{kind}: {status} {path[:80]}")

        memory = [mem_before]
        with ThreadPoolExecutor(args.threads) as pool:
            chunk = max(1, args.count // 5)
            for at in range(0, len(plan), chunk):
                list(pool.map(fire, plan[at:at + chunk]))
                memory.append(rss_kb([server.pid, *children(server.pid)]))
        elapsed = time.perf_counter() - started
        time.sleep(1.0)
        workers_after = sorted(children(server.pid))
        mem_after = rss_kb([server.pid, *workers_after])
    finally:
        server.terminate()
        server.wait(20)
    log.close()
    restarts = len(set(workers_before) ^ set(workers_after)) // 2 + max(
        0, len(workers_after) - len(workers_before))
    booted = Path(log.name).read_text(errors="replace").count("Booting worker")

    print(f"{args.count} hostile requests in {elapsed:.1f} s ({args.count / elapsed:.0f}/s), "
          f"{args.threads} client threads, gunicorn 2 workers x 4 threads")
    for kind in KINDS:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(by_kind[kind].items(), key=str))
        print(f"  {kind:34s} {counts}")
    print(f"statuses: {dict(sorted(results.items(), key=lambda kv: str(kv[0])))}")
    print(f"5xx: {len(five_xx)}")
    for line in five_xx[:10]:
        print(f"  {line}")
    print(f"hangs (> {HANG:.0f} s): {hangs}")
    for line in hang_details:
        print(f"  {line}")
    print(f"worker restarts: {restarts} (pids {workers_before} -> {workers_after}; "
          f"'Booting worker' lines: {booted}, 2 at start)")
    print(f"server memory (master + workers RSS): {mem_before / 1024:.1f} MB before, "
          f"{mem_after / 1024:.1f} MB after ({(mem_after - mem_before) / 1024:+.1f} MB); "
          f"after each fifth: {', '.join(f'{m / 1024:.0f}' for m in memory[1:])} MB")
    print(f"server log: {log.name}")
    return 1 if five_xx or hangs or restarts else 0


if __name__ == "__main__":
    sys.exit(main())
