"""Benchmark one watch scan (bot/pushes/watch/runner.py) over many open orders: a scan that
loads every watched order (all due: the first look, or an index without next-check times) as
the baseline, against the typical scan in the same run, where each order waits in the index
for its next threshold and only those due are loaded.

    python bench/scan_bench.py [--orders 20000] [--due 1] [--redis redis://127.0.0.1:6379/14]

Orders are applied through the order store's own Lua script (no HTTP), in transit with their
last tracking point spread over the past 47 hours, so with a 48 h stale threshold `--due` %
of them turn stale at the measured moment. The enqueue is a no-op counter: this measures the
scan, not the pipeline. Redis shares the machine's cores with the script.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.orders.model import Order, TrackingPoint, utc_iso  # noqa: E402
from bot.orders.store import OrderStore  # noqa: E402
from bot.pushes.switches import Switches  # noqa: E402
from bot.pushes.watch.followup import FollowUpList  # noqa: E402
from bot.pushes.watch.runner import INDEX, ScanSettings, WatchScanner  # noqa: E402


def seed(store: OrderStore, count: int, now: datetime, due_share: float) -> None:
    stale_at = int(count * due_share)
    for n in range(count):
        # The first `stale_at` orders moved 48 h ago (stale now); the rest within 47 h.
        hours = 48.5 if n < stale_at else 1 + 46 * n / count
        when = utc_iso(now - timedelta(hours=hours))
        store.apply(Order(order_id=f"8{n:09d}", status="in_transit", openid=f"oScan{n:06d}",
                          carrier="SF", tracking_no=f"SF{n:013d}",
                          tracking=(TrackingPoint(when, "杭州", "到达转运中心"),)),
                    event_id=f"scan-{n}", occurred_at=when, applied_at=now.timestamp())


def timed(scanner: WatchScanner, now: float) -> tuple[float, int, int]:
    start = time.perf_counter()
    report = scanner.run(now)
    return time.perf_counter() - start, report.watched, len(report.found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--due", type=float, default=1.0, help="percent of orders stale now")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    client = redis.Redis.from_url(args.redis, decode_responses=True)
    client.flushdb()
    now = datetime.now(UTC)
    store = OrderStore(client)
    t0 = time.perf_counter()
    seed(store, args.orders, now, args.due / 100)
    print(f"seeded {args.orders:,} in-transit orders in {time.perf_counter() - t0:.1f} s",
          flush=True)
    found = [0]
    scanner = WatchScanner(
        client, store, ScanSettings(tz="Asia/Shanghai", stale_hours=48, pickup_hours=24,
                                    unshipped_hours=24),
        enqueue=lambda order, finding, due: found.__setitem__(0, found[0] + 1),
        followups=FollowUpList(client), switches=Switches(client))
    ts = now.timestamp()
    scanner.catch_up()                       # the stream read once, outside both timings
    first, loaded, hits = timed(scanner, ts)
    print(f"first look (every order loaded): {first * 1000:,.0f} ms, {loaded:,} loaded, "
          f"{hits} stale", flush=True)
    typical, loaded2, _ = timed(scanner, ts + 600)
    print(f"next scan 10 min later (only due ones): {typical * 1000:,.1f} ms, "
          f"{loaded2:,} loaded", flush=True)
    # The baseline again in the same run: every order due (scores reset), nothing new found.
    client.zadd(INDEX, dict.fromkeys(client.zrange(INDEX, 0, -1), 0))
    baseline, loaded3, _ = timed(scanner, ts + 1200)
    print(f"baseline, every order loaded again: {baseline * 1000:,.0f} ms, {loaded3:,} loaded")
    print(f"typical / every-order scan: {typical / baseline:.4f}")
    client.flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
