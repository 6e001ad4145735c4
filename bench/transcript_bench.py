"""What recording a chat turn for the console costs (transcript entries + daily counters).

    python bench/transcript_bench.py [--turns 3000] [--redis redis://127.0.0.1:6379/14]

The dispatcher queues the record into the pipeline a turn already sends (dialogue state and
reply record), so it adds no round trip. Printed, in the same run and against the same
pipeline without the record as the baseline: the web process's CPU per turn (building the
turn and packing the script call), the wall time of the pipeline, and the Redis server's
own time per record (INFO commandstats of EVAL). The Redis db is flushed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.conversation.transcript import Transcript  # noqa: E402
from bot.platform.daily import DailyStats  # noqa: E402

SAID, ANSWERED = "我的订单到哪了 13812345678", "请发订单号给我（在订单详情页可以复制），我帮您查。"
COUNTS = {"messages": 1, "answered": 1, "unmatched": 0, "handoffs": 0, "wismo": 1}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()
    r = redis.Redis.from_url(args.redis, decode_responses=True)
    r.flushdb()
    transcripts, stats = Transcript(r, 30), DailyStats(r, "Asia/Shanghai")

    def turn(i: int, record: bool) -> None:
        pipe = r.pipeline(transaction=False)
        pipe.set(f"dlg:o{i % 200}", "{}", ex=1800)          # what a turn sends anyway
        pipe.set(f"once:m{i}", '{"state": "done"}', ex=600)
        if record:
            now = time.time()
            turn = Transcript.turn(now, "text", SAID, ANSWERED, "order_status")
            transcripts.add(f"o{i % 200}", turn, pipe, counts_key=stats.key_for(now),
                            counts=COUNTS, counts_ttl=stats.ttl)
        pipe.execute()

    for round_ in (1, 2, 3):
        figures = {}
        for record in (False, True):
            before = r.info("commandstats").get("cmdstat_eval", {})
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(args.turns):
                turn(i, record)
            cpu = (time.process_time() - cpu) / args.turns * 1e6
            wall = (time.perf_counter() - wall) / args.turns * 1e6
            after = r.info("commandstats").get("cmdstat_eval", {})
            calls = after.get("calls", 0) - before.get("calls", 0)
            server = (after.get("usec", 0) - before.get("usec", 0)) / calls if calls else 0.0
            figures[record] = (cpu, wall, server)
        base, rec = figures[False], figures[True]
        print(f"round {round_}: process CPU per turn {base[0]:.0f} -> {rec[0]:.0f} us "
              f"(+{rec[0] - base[0]:.0f}), pipeline wall {base[1]:.0f} -> {rec[1]:.0f} us, "
              f"Redis time per record {rec[2]:.0f} us")
    r.flushdb()


if __name__ == "__main__":
    main()
