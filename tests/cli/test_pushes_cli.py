"""`python -m bot pushes settings` and `python -m bot pushes export`, as a merchant runs them."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.platform.config import ROOT_DIR

SHANGHAI = ZoneInfo("Asia/Shanghai")


def cli(redis_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "BOT_DEMO"}
    env["REDIS_URL"] = redis_url
    return subprocess.run([sys.executable, "-m", "bot", "pushes", *args], cwd=ROOT_DIR,
                          env=env, capture_output=True, text=True, timeout=60)


def test_settings_list_switch_and_warn(r, redis_url):
    off = cli(redis_url, "settings", "logistics", "off")
    assert off.returncode == 0 and "order_in_transit" in off.stdout
    assert "order_exception" in off.stderr and "stay on" in off.stderr
    listing = cli(redis_url, "settings").stdout.splitlines()
    states = dict(line.split()[:2] for line in listing)
    assert states["order_in_transit"] == "off" and states["order_exception"] == "on"
    exc = cli(redis_url, "settings", "order_exception", "off")
    assert exc.returncode == 0 and "warning" in exc.stderr
    assert r.hget("pushes:switches", "order_exception") == "off"
    bad = cli(redis_url, "settings", "order_teleported", "off")
    assert bad.returncode == 2 and "unknown push kind" in bad.stderr
    assert not r.hexists("pushes:switches", "order_teleported")


def test_settings_show_change_and_revert_the_rules_audited(r, redis_url):
    def rules(listing: str) -> dict[str, tuple[str, str]]:
        return {line.split()[0]: tuple(line.split()[1:]) for line in listing.splitlines()
                if line.split()[0] in ("quiet_hours", "daily_cap", "transit_interval")}

    shown = rules(cli(redis_url, "settings").stdout)
    assert shown == {"quiet_hours": ("22:00-08:00", "default"), "daily_cap": ("5", "default"),
                     "transit_interval": ("4h", "default")}
    done = cli(redis_url, "settings", "--quiet-hours", "23:00-07:00", "--daily-cap", "3",
               "--transit-interval", "6")
    assert done.returncode == 0
    assert rules(done.stdout) == {"quiet_hours": ("23:00-07:00", "override"),
                                  "daily_cap": ("3", "override"),
                                  "transit_interval": ("6h", "override")}
    assert r.hgetall("pushes:settings") == {"quiet_hours": "23:00-07:00", "daily_cap": "3",
                                            "transit_interval": "6"}
    entry = json.loads(r.lindex("console:audit", 0))
    assert entry["who"].startswith("cli") and entry["action"] == "push_settings_changed"
    assert entry["detail"]["daily_cap"] == "5 → 3"
    bad = cli(redis_url, "settings", "--quiet-hours", "off", "--daily-cap", "0")
    assert bad.returncode == 2 and "1 to 50" in bad.stderr and "nothing changed" in bad.stderr
    assert r.hget("pushes:settings", "quiet_hours") == "23:00-07:00"
    back = cli(redis_url, "settings", "--quiet-hours", "default")
    assert rules(back.stdout)["quiet_hours"] == ("22:00-08:00", "default")
    assert rules(back.stdout)["daily_cap"] == ("3", "override")
    assert json.loads(r.lindex("console:audit", 0))["detail"] == {
        "quiet_hours": "23:00-07:00 → 22:00-08:00"}


def test_settings_show_change_and_revert_the_sms_rules_audited(r, redis_url):
    def sms_rules(listing: str) -> dict[str, tuple[str, ...]]:
        return {line.split()[0]: tuple(line.split()[1:]) for line in listing.splitlines()
                if line.split()[0].startswith("sms_")}

    shown = sms_rules(cli(redis_url, "settings").stdout)
    assert shown == {"sms_quiet_hours": ("22:00-08:00", "default"),
                     "sms_daily_cap": ("5", "default")}
    done = cli(redis_url, "settings", "--sms-quiet-hours", "21:00-9:00", "--sms-daily-cap", "2")
    assert done.returncode == 0, done.stderr
    assert sms_rules(done.stdout) == {"sms_quiet_hours": ("21:00-09:00", "override"),
                                      "sms_daily_cap": ("2", "override")}
    assert r.hgetall("pushes:settings") == {"sms_quiet_hours": "21:00-09:00",
                                            "sms_daily_cap": "2"}
    entry = json.loads(r.lindex("console:audit", 0))
    assert entry["who"].startswith("cli") and entry["action"] == "push_settings_changed"
    assert entry["detail"] == {"sms_quiet_hours": "22:00-08:00 → 21:00-09:00",
                               "sms_daily_cap": "5 → 2"}
    for args, words in ((("--sms-quiet-hours", "off"), "cannot be off"),
                        (("--sms-daily-cap", "2", "--sms-quiet-hours", "22:00-22:00"), "the same"),
                        (("--sms-daily-cap", "51"), "1 to 50")):
        bad = cli(redis_url, "settings", *args)
        assert bad.returncode == 2 and words in bad.stderr and "nothing changed" in bad.stderr
    assert r.hgetall("pushes:settings") == {"sms_quiet_hours": "21:00-09:00",
                                            "sms_daily_cap": "2"}
    # The environment's SMS_DAILY_CAP is the default a revert brings back.
    back = subprocess.run(
        [sys.executable, "-m", "bot", "pushes", "settings", "--sms-daily-cap", "default"],
        cwd=ROOT_DIR, capture_output=True, text=True, timeout=60,
        env={**{k: v for k, v in os.environ.items() if k != "BOT_DEMO"},
             "REDIS_URL": redis_url, "SMS_DAILY_CAP": "4"})
    assert sms_rules(back.stdout) == {"sms_quiet_hours": ("21:00-09:00", "override"),
                                      "sms_daily_cap": ("4", "default")}
    assert json.loads(r.lindex("console:audit", 0))["detail"] == {"sms_daily_cap": "2 → 4"}


def at(day: int, hour: int) -> float:
    return datetime(2026, 11, day, hour, tzinfo=SHANGHAI).timestamp()


def test_export_writes_the_days_asked_for(r, redis_url, tmp_path):
    def log(order_id: str, **entry) -> None:
        r.rpush(f"pushes:log:{order_id}", json.dumps(entry, ensure_ascii=False))

    log("A1", push_id="A1:order_shipped:1", kind="order_shipped", channel="kf",
        status="sent", reason="", at=at(24, 10))
    log("A1", push_id="A1:order_in_transit:2", kind="order_in_transit", channel="",
        status="held", reason="quiet_hours", at=at(24, 23), until=at(25, 8))
    log("B2", push_id="B2:order_exception:1", kind="order_exception", channel="sms",
        status="sent", reason="", at=at(25, 9))
    log("C3", push_id="C3:order_paid:1", kind="order_paid", channel="kf", status="sent",
        reason="", at=at(26, 0))                      # the day after: left out
    r.hset("pushes:log:not-a-list", "x", "1")         # other structures are skipped
    out = tmp_path / "log.csv"
    done = cli(redis_url, "export", "--from", "2026-11-24", "--to", "2026-11-25",
               "--out", str(out))
    assert done.returncode == 0 and "3 log entries" in done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(row["order_id"], row["kind"], row["status"]) for row in rows] == [
        ("A1", "order_shipped", "sent"), ("A1", "order_in_transit", "held"),
        ("B2", "order_exception", "sent")]
    assert rows[0]["time"] == "2026-11-24T10:00:00+08:00" and rows[2]["channel"] == "sms"
    assert json.loads(rows[1]["detail"]) == {"until": at(25, 8)}
    bad = cli(redis_url, "export", "--from", "2026-11-25", "--to", "2026-11-24")
    assert bad.returncode == 2
