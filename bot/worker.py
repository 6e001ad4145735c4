"""`python -m bot worker`: Dramatiq worker processes for late replies, user info and pushes.

Each process also reads `orders:changes` as one consumer of the `pushes` group and competes
for the push scheduler's leader lease (bot/pushes/scheduler.py), so any number of worker
processes on any hosts share the work and one of them runs the scheduler."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable

import dramatiq

from bot.platform.config import Config
from bot.platform.logs import configure_logging
from bot.platform.metrics import clear_dead, multiproc_dir
from bot.platform.storage import redis_url_for
from bot.runtime import build_runtime

log = logging.getLogger(__name__)

CONSUMERS = 4


def run_workers(processes: int = 2, threads: int = 8,
                target: Callable[[int], None] | None = None) -> int:
    """Start `processes` worker processes and supervise them until SIGINT/SIGTERM;
    `target(threads)` is what each runs (default: `work`; a module-level function)."""
    target = target or work
    config = Config.from_env()
    # Children must reach the same Redis: with no REDIS_URL this starts the embedded one here.
    os.environ["REDIS_URL"] = redis_url_for(config.redis_url, config.data_dir,
                                            config.redis_sentinels, config.redis_sentinel_master)
    # The children (spawned: they import prometheus_client afresh) write their samples where
    # the web app's /metrics reads them.
    clear_dead(multiproc_dir(config.data_dir))
    ctx = multiprocessing.get_context("spawn")
    children = [ctx.Process(target=target, args=(threads,), daemon=False) for _ in range(processes)]
    for child in children:
        child.start()
    stop = threading.Event()

    def on_signal(signum, frame):  # noqa: ANN001, ARG001
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log.info("%d worker process(es) running", processes)
    while not stop.wait(1.0):
        for i, child in enumerate(children):
            if not child.is_alive():
                # A crashed worker's jobs come back through the broker; replace the process.
                log.warning("worker %s exited (%s); restarting", child.pid, child.exitcode)
                children[i] = ctx.Process(target=target, args=(threads,))
                children[i].start()
    for child in children:
        child.terminate()
    for child in children:
        child.join(15)
    return 0


def work(threads: int, extra_handlers: list | None = None) -> None:
    """One worker process: build the runtime and consume jobs until told to stop."""
    config = Config.from_env()
    configure_logging(config)
    rt = build_runtime(config, extra_handlers=extra_handlers)
    worker = dramatiq.Worker(rt.jobs.broker, worker_threads=threads)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker.start()
    queues = sorted(rt.jobs.broker.get_declared_queues())
    log.info("worker %s consuming queues %s", os.getpid(), queues)
    # Several readers of the change stream per process: planning waits on Redis, not CPU.
    loops = [threading.Thread(target=rt.pushes.consumer(n).run, args=(stop,), daemon=True,
                              name=f"push-consumer-{n}") for n in range(CONSUMERS)]
    loops.append(threading.Thread(target=rt.pushes.scheduler.run, args=(stop,), daemon=True,
                                  name="push-scheduler"))
    for loop in loops:
        loop.start()
    stop.wait()
    for loop in loops:
        loop.join(5)
    worker.stop(timeout=10_000)
