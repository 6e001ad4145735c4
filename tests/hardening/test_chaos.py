"""A short run of bench/chaos.py: web and job workers SIGKILLed every few seconds and Redis
restarted once under mixed traffic; nothing lost, nothing doubled."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_short_chaos_run_loses_and_doubles_nothing():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import chaos
    finally:
        sys.path.remove(str(ROOT / "bench"))
    result = chaos.run(seconds=14, kill_every=3.5, clients=4, drain=60, quiet=True)
    assert result["kills_web"] >= 3 and result["kills_jobs"] >= 3
    assert result["redis_restarts"] == 1
    assert result["messages"] > 30 and result["late_replies"] > 5
    assert result["lost"] == 0 and result["doubled"] == 0, result["examples"]
    assert result["acked_events"] > 10
    assert result["acked_applied"] == result["acked_events"]
