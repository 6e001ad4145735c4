"""The baseline for push_bench.py: one Dramatiq worker process (8 threads) on the bot's broker
settings, draining a no-op actor. `python bench/noop_worker.py REDIS_URL`."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import dramatiq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.jobs import make_broker  # noqa: E402

NAMESPACE_QUEUE = "bench-noop"


def declare(redis_url: str) -> tuple[dramatiq.Broker, dramatiq.Actor]:
    broker = make_broker(redis_url)

    def noop(n: int) -> None:
        # One Redis command per job, as a push's bookkeeping needs at the very least.
        broker.client.incr("bench:noop:done")

    return broker, dramatiq.actor(noop, broker=broker, actor_name="bench_noop",
                                  queue_name=NAMESPACE_QUEUE)


if __name__ == "__main__":
    broker, _ = declare(sys.argv[1])
    worker = dramatiq.Worker(broker, worker_threads=8)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker.start()
    stop.wait()
    worker.stop(timeout=5_000)
