"""The merchant's run-time push settings: validation, the environment's values as defaults, a
change seen by another process's reader after its refresh, and the push rules obeying it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.platform.config import Config, ConfigError
from bot.pushes.best_hour import BestHours
from bot.pushes.hours import Window, parse_windows
from bot.pushes.settings import PushSettings
from bot.pushes.settings_store import (
    KEY,
    PUSH_FIELDS,
    SMS_FIELDS,
    InvalidSetting,
    PushSettingsStore,
    parse_cap,
    parse_quiet,
    parse_sms_cap,
    parse_sms_night,
    parse_transit_hours,
)
from tests.fixtures.orders import event, point

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def env_settings(**values) -> PushSettings:
    return PushSettings.from_config(Config(**{"quiet_hours": "22:00-08:00",
                                              "push_daily_cap": 5,
                                              "push_transit_interval": 4 * 3600, **values}))


def test_values_are_checked_with_messages_that_say_what_to_write():
    assert parse_quiet(" 23:00-07:00 ") == "23:00-07:00"
    assert parse_quiet("7:30 - 9:00") == "07:30-09:00"
    assert parse_quiet("关闭") == parse_quiet("OFF") == "off"
    for bad, words in (("23-07", "HH:MM-HH:MM"), ("25:00-07:00", "00-23"),
                       ("22:00-22:00", "the same"), ("", "HH:MM")):
        with pytest.raises(InvalidSetting, match=words) as caught:
            parse_quiet(bad)
        assert caught.value.field == "quiet_hours"
    assert parse_cap("1") == 1 and parse_cap(" 50") == 50
    for bad in ("0", "51", "three", "2.5"):
        with pytest.raises(InvalidSetting, match="1 to 50"):
            parse_cap(bad)
    assert parse_transit_hours("72") == 72
    for bad in ("0", "73", "", "-1"):
        with pytest.raises(InvalidSetting, match="1 to 72"):
            parse_transit_hours(bad)


def test_the_environment_is_the_default_until_overridden(r):
    store = PushSettingsStore(r, env_settings())
    rules = store.current()
    assert (rules.quiet_text, rules.daily_cap, rules.transit_interval) == \
        ("22:00-08:00", 5, 4 * 3600)
    assert store.describe(PUSH_FIELDS) == [("quiet_hours", "22:00-08:00", False),
                                           ("daily_cap", "5", False),
                                           ("transit_interval", "4", False)]
    changed = store.change(quiet_hours="off", daily_cap="3", transit_interval="6")
    assert changed == {"quiet_hours": ("22:00-08:00", "off"), "daily_cap": ("5", "3"),
                       "transit_interval": ("4", "6")}
    assert r.hgetall(KEY) == {"quiet_hours": "off", "daily_cap": "3", "transit_interval": "6"}
    rules = store.current()
    assert rules.quiet.release_at(datetime(2026, 11, 24, 23, tzinfo=SHANGHAI).timestamp()) \
        is None and rules.window is None
    assert (rules.daily_cap, rules.transit_interval) == (3, 6 * 3600)
    # Back to the environment's value, one setting at a time.
    store.change(daily_cap="default")
    assert store.describe()[1] == ("daily_cap", "5", False)
    assert store.describe()[0] == ("quiet_hours", "off", True)


def test_a_bad_value_writes_nothing_even_beside_good_ones(r):
    store = PushSettingsStore(r, env_settings())
    with pytest.raises(InvalidSetting) as caught:
        store.change(quiet_hours="23:00-07:00", daily_cap="99")
    assert caught.value.field == "daily_cap"
    assert r.hgetall(KEY) == {}
    with pytest.raises(InvalidSetting, match="unknown"):
        store.change(sms_cap="3")


def test_another_process_sees_the_change_after_its_refresh(r):
    ticks = Ticks()
    worker = PushSettingsStore(r, env_settings(), monotonic=ticks)
    console = PushSettingsStore(r, env_settings())
    assert worker.current().daily_cap == 5
    console.change(daily_cap="2", quiet_hours="23:00-07:00")
    ticks.t += 0.1
    assert worker.current().daily_cap == 5              # still its cached read
    ticks.t += 0.4                                      # 0.5 s after its read
    rules = worker.current()
    assert rules.daily_cap == 2 and rules.quiet_text == "23:00-07:00"
    assert rules.overrides == {"daily_cap", "quiet_hours"}


def test_a_value_written_past_the_checks_leaves_the_default_in_force(r):
    r.hset(KEY, mapping={"daily_cap": "500", "quiet_hours": "21:00-07:00"})
    rules = PushSettingsStore(r, env_settings()).current()
    assert rules.daily_cap == 5 and rules.quiet_text == "21:00-07:00"


def test_sms_night_and_cap_are_checked_as_the_environment_is(r):
    assert parse_sms_night(" 21:30 - 7:00 ") == "21:30-07:00"
    # SMS_QUIET_HOURS cannot be off (config.py); neither can the run-time setting.
    with pytest.raises(ConfigError, match="SMS_QUIET_HOURS"):
        Config.from_mapping({"bot_demo": True, "sms_quiet_hours": "off"})
    for bad, words in (("off", "cannot be off"), ("关闭", "cannot be off"),
                       ("23-07", "HH:MM-HH:MM"), ("22:00-24:00", "00-23"),
                       ("22:00-22:00", "the same"), ("", "HH:MM")):
        with pytest.raises(InvalidSetting, match=words) as caught:
            parse_sms_night(bad)
        assert caught.value.field == "sms_quiet_hours"
    assert parse_sms_cap("1") == 1 and parse_sms_cap("50") == 50
    for bad in ("0", "51", "five", "-2"):
        with pytest.raises(InvalidSetting, match="SMS daily cap .*1 to 50") as caught:
            parse_sms_cap(bad)
        assert caught.value.field == "sms_daily_cap"
    store = PushSettingsStore(r, env_settings())
    with pytest.raises(InvalidSetting):
        store.change(sms_daily_cap="2", sms_quiet_hours="off")
    assert r.hgetall(KEY) == {}


def test_sms_night_and_cap_default_to_the_environment_until_overridden(r):
    store = PushSettingsStore(r, env_settings(sms_quiet_hours="21:00-9:00", sms_daily_cap=4))
    rules = store.current()
    assert (rules.sms_night, rules.sms_daily_cap) == (Window.parse("21:00-09:00"), 4)
    assert store.describe(SMS_FIELDS) == [("sms_quiet_hours", "21:00-09:00", False),
                                          ("sms_daily_cap", "4", False)]
    changed = store.change(sms_quiet_hours="23:30-06:00", sms_daily_cap="2")
    assert changed == {"sms_quiet_hours": ("21:00-09:00", "23:30-06:00"),
                       "sms_daily_cap": ("4", "2")}
    assert r.hgetall(KEY) == {"sms_quiet_hours": "23:30-06:00", "sms_daily_cap": "2"}
    rules = store.refresh()
    assert (rules.sms_night, rules.sms_daily_cap) == (Window.parse("23:30-06:00"), 2)
    assert rules.overrides == {"sms_quiet_hours", "sms_daily_cap"}
    # WeChat's rules are untouched by the SMS ones.
    assert (rules.quiet_text, rules.daily_cap) == ("22:00-08:00", 5)
    store.change(sms_quiet_hours="默认")
    assert store.describe(SMS_FIELDS) == [("sms_quiet_hours", "21:00-09:00", False),
                                          ("sms_daily_cap", "2", True)]
    # Written by hand past the checks: the environment's value stays in force.
    r.hset(KEY, mapping={"sms_quiet_hours": "off", "sms_daily_cap": "0"})
    rules = store.refresh()
    assert (rules.sms_night_text, rules.sms_daily_cap) == ("21:00-09:00", 4)


def test_best_hour_learns_around_the_quiet_hours_in_force(r):
    store = PushSettingsStore(r, env_settings(quiet_hours="off"), max_age=0)
    best = BestHours(r, "Asia/Shanghai", parse_windows("10:00-11:00"),
                     lambda: store.current().window)
    for day in (20, 21, 22):
        best.record("oOwl", datetime(2026, 11, day, 23, 10, tzinfo=SHANGHAI).timestamp())
    assert best.best_hour("oOwl") == 23
    store.change(quiet_hours="22:00-08:00")
    assert best.best_hour("oOwl") is None        # 23:00 is quiet now: nothing left to learn


def shipped(order_id: str, openid: str, hours: float = 0.0) -> dict:
    return event(order_id, "shipped", hours=hours, openid=openid, carrier="SF",
                 tracking_no=f"SF{order_id}", eta="2026-11-26T15:00:00+08:00",
                 tracking=[point(hours, "昆明转运中心", "已揽收")])


def merchant_sets(r, env, **values) -> None:
    """What the console does in the web process: another store on the same Redis. The
    worker's store re-reads on every call here, as it does 0.5 s later in production."""
    PushSettingsStore(r, env.pushes.settings).change(**values)
    env.pushes.rules.max_age = 0


def test_new_quiet_hours_hold_a_push_without_a_restart(push_env, r):
    env = push_env(quiet_hours="off")
    env.user("oQ")
    env.clock.t = datetime(2026, 11, 24, 23, 0, tzinfo=SHANGHAI).timestamp()
    assert env.flow(shipped("700001", "oQ", hours=13)) == ["sent"]       # no quiet hours
    merchant_sets(r, env, quiet_hours="22:30-07:00")
    env.flow(shipped("700002", "oQ", hours=13))
    held = env.log("700002")[-1]
    release = datetime(2026, 11, 25, 7, 0, tzinfo=SHANGHAI).timestamp()
    assert (held["status"], held["reason"], held["until"]) == ("held", "quiet_hours", release)
    assert len(env.sent("oQ")) == 1
    env.clock.t = release + 1
    env.run_jobs()
    assert env.log("700002")[-1]["status"] == "sent"


def test_a_lower_cap_applies_at_once(push_env, r):
    env = push_env(push_daily_cap=5)
    env.user("oCap")
    assert env.flow(shipped("700011", "oCap")) == ["sent"]
    merchant_sets(r, env, daily_cap="1")
    env.flow(shipped("700012", "oCap", hours=0.1))
    assert (env.log("700012")[-1]["status"], env.log("700012")[-1]["reason"]) == \
        ("suppressed", "cap")
    merchant_sets(r, env, daily_cap="default")
    env.flow(shipped("700013", "oCap", hours=0.2))
    assert env.log("700013")[-1]["status"] == "sent"


def test_a_shorter_transit_interval_applies_at_once(push_env, r):
    env = push_env(push_transit_interval=4 * 3600)
    env.user("oT")
    env.flow(shipped("700021", "oT"))
    merchant_sets(r, env, transit_interval="1")
    env.clock.advance(1.5 * 3600)
    env.flow(event("700021", "in_transit", hours=1.5, openid="oT",
                   tracking=[point(1.5, "长沙转运中心", "到达")]))
    assert env.log("700021")[-1]["status"] == "sent" and len(env.sent("oT")) == 2


def test_pushes_held_by_the_old_quiet_hours_are_decided_again_when_they_change(push_env, r):
    from bot.pushes.settings_store import release_held

    env = push_env(quiet_hours="22:00-08:00")
    env.user("oR")
    env.clock.t = datetime(2026, 11, 24, 23, 0, tzinfo=SHANGHAI).timestamp()
    env.flow(shipped("700031", "oR", hours=13))
    assert env.log("700031")[-1]["reason"] == "quiet_hours" and env.sent("oR") == []
    # Shortened to end at 23:00: the push goes now, not at 08:00.
    changes = PushSettingsStore(r, env.pushes.settings).change(quiet_hours="21:00-23:00")
    env.pushes.rules.max_age = 0
    assert release_held(changes, env.pushes.store, env.clock.now()) == 1
    env.run_jobs()
    assert env.log("700031")[-1]["status"] == "sent" and len(env.sent("oR")) == 1


def test_a_released_push_still_inside_the_new_quiet_hours_is_held_again(push_env, r):
    from bot.pushes.settings_store import release_held

    env = push_env(quiet_hours="22:00-08:00")
    env.user("oS")
    env.clock.t = datetime(2026, 11, 24, 23, 0, tzinfo=SHANGHAI).timestamp()
    env.flow(shipped("700041", "oS", hours=13))
    changes = PushSettingsStore(r, env.pushes.settings).change(quiet_hours="22:30-06:00",
                                                               daily_cap="4")
    env.pushes.rules.max_age = 0
    assert release_held(changes, env.pushes.store, env.clock.now()) == 1
    env.run_jobs()
    held = env.log("700041")[-1]
    assert (held["status"], held["until"]) == \
        ("held", datetime(2026, 11, 25, 6, 0, tzinfo=SHANGHAI).timestamp())
    assert env.sent("oS") == []
    # A cap change alone releases nothing.
    assert release_held({"daily_cap": ("4", "5")}, env.pushes.store, env.clock.now()) == 0
