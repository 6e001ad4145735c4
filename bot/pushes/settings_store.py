"""The merchant's push rules, changed at run time: quiet hours, the daily cap and the in-transit
interval, and the SMS fallback's own night hours and daily cap, kept in the Redis hash
`pushes:settings` (a field absent: the environment's value, QUIET_HOURS, PUSH_DAILY_CAP,
PUSH_TRANSIT_INTERVAL, SMS_QUIET_HOURS, SMS_DAILY_CAP). The console and `python -m bot pushes
settings` write it; every process reads it through `current()`, which reads Redis again at
most every `REFRESH` seconds, so a change is in force everywhere within about a second
without a restart, and a push costs one clock read, not a round trip.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import redis

from bot.pushes.hours import Window
from bot.pushes.settings import PushSettings, QuietHours
from bot.pushes.store import PushStore

log = logging.getLogger(__name__)

KEY = "pushes:settings"
QUIET, CAP, TRANSIT = "quiet_hours", "daily_cap", "transit_interval"
SMS_QUIET, SMS_CAP = "sms_quiet_hours", "sms_daily_cap"
PUSH_FIELDS = (QUIET, CAP, TRANSIT)
SMS_FIELDS = (SMS_QUIET, SMS_CAP)          # shown only where SMS_PROVIDER is set
FIELDS = PUSH_FIELDS + SMS_FIELDS
REFRESH = 0.5           # s between reads of the hash in one process
CAP_MIN, CAP_MAX = 1, 50
TRANSIT_MIN, TRANSIT_MAX = 1, 72          # hours
OFF_WORDS = ("off", "关闭", "none")
DEFAULT_WORDS = ("default", "默认")
HOUR = 3600

# The hold reason (bot/pushes/policy.py) each setting is behind.
HELD_BY = {QUIET: "quiet_hours", TRANSIT: "transit_interval"}
# Set by delivery when the SMS channel answers "night" (bot/pushes/delivery.py): the channel is
# skipped until the old night's end, so a new SMS night clears it (re-set if still night).
SMS_NIGHT_MARK = "pushes:quota:sms"

_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class InvalidSetting(ValueError):
    """A value a merchant typed that cannot be used; `field` says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PushRules:
    """The rules in force: what `policy.decide`, the delivery and best-hour placement read."""

    quiet: QuietHours
    window: Window | None        # the same quiet hours, as best-hour placement reads them
    daily_cap: int
    transit_interval: int        # seconds
    sms_night: Window            # no SMS then, but for exceptions needing the customer
    sms_daily_cap: int           # SMS per phone per shop-local day
    overrides: frozenset[str] = frozenset()

    @property
    def quiet_text(self) -> str:
        return _canonical_quiet(self.quiet.spec)

    @property
    def sms_night_text(self) -> str:
        return f"{self.sms_night.start:%H:%M}-{self.sms_night.end:%H:%M}"


def parse_quiet(text: str) -> str:
    """`HH:MM-HH:MM` (may run past midnight) or off/关闭, in its stored form."""
    value = text.strip()
    if value.lower() in OFF_WORDS:
        return "off"
    return _parse_window(QUIET, "quiet hours", value, " or off",
                         "write off for no quiet hours")


def parse_sms_night(text: str) -> str:
    """`HH:MM-HH:MM`, never off: SMS_QUIET_HOURS has no off either (config.py), since an SMS
    at 3 a.m. wakes the customer whatever the shop's WeChat rules."""
    value = text.strip()
    if value.lower() in OFF_WORDS:
        raise InvalidSetting(SMS_QUIET, f"SMS night hours {value!r}: cannot be off; write "
                                        "HH:MM-HH:MM (e.g. 22:00-08:00)")
    return _parse_window(SMS_QUIET, "SMS night hours", value, "", "make the window shorter")


def _parse_window(field: str, label: str, value: str, or_off: str, same: str) -> str:
    found = _WINDOW.match(value)
    if not found:
        raise InvalidSetting(field, f"{label} {value!r}: write HH:MM-HH:MM "
                                    f"(e.g. 22:00-08:00){or_off}")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise InvalidSetting(field, f"{label} {value!r}: hours are 00-23, minutes 00-59")
    if (h1, m1) == (h2, m2):
        raise InvalidSetting(field, f"{label} {value!r}: start and end are the same; {same}")
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def _whole(field: str, label: str, text: str, low: int, high: int) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InvalidSetting(field, f"{label} {text!r}: a whole number from {low} to {high}") \
            from None
    if not low <= value <= high:
        raise InvalidSetting(field, f"{label} {value}: must be from {low} to {high}")
    return value


def parse_cap(text: str) -> int:
    return _whole(CAP, "daily cap", text, CAP_MIN, CAP_MAX)


def parse_transit_hours(text: str) -> int:
    return _whole(TRANSIT, "in-transit interval (hours)", text, TRANSIT_MIN, TRANSIT_MAX)


def parse_sms_cap(text: str) -> int:
    return _whole(SMS_CAP, "SMS daily cap", text, CAP_MIN, CAP_MAX)


PARSERS: dict[str, Callable[[str], object]] = {QUIET: parse_quiet, CAP: parse_cap,
                                               TRANSIT: parse_transit_hours,
                                               SMS_QUIET: parse_sms_night,
                                               SMS_CAP: parse_sms_cap}


def _canonical_quiet(spec: str) -> str:
    spec = spec.strip()
    return "off" if spec.lower() in ("", *OFF_WORDS) else spec


def _window(spec: str) -> Window | None:
    spec = _canonical_quiet(spec)
    return None if spec == "off" else Window.parse(spec)


class PushSettingsStore:
    def __init__(self, client: redis.Redis, defaults: PushSettings, *,
                 max_age: float = REFRESH,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.redis = client
        self.defaults = defaults
        self.max_age = max_age
        self.monotonic = monotonic
        self._default_rules = PushRules(defaults.quiet, _window(defaults.quiet.spec),
                                        defaults.daily_cap, defaults.transit_interval,
                                        Window.parse(defaults.sms_quiet),
                                        defaults.sms_daily_cap)
        self._rules = self._default_rules
        self._read_at: float | None = None
        self._lock = threading.Lock()

    # Reading ----------------------------------------------------------------------------------

    def current(self) -> PushRules:
        """The rules in force, as read from Redis at most `max_age` seconds ago."""
        read_at = self._read_at
        if read_at is not None and self.monotonic() - read_at < self.max_age:
            return self._rules
        with self._lock:     # one thread of the process reads; the others keep the last rules
            read_at = self._read_at
            if read_at is None or self.monotonic() - read_at >= self.max_age:
                return self.refresh()
        return self._rules

    def refresh(self) -> PushRules:
        stored = self.redis.hgetall(KEY)
        self._rules = self._build(stored)
        self._read_at = self.monotonic()
        return self._rules

    def _build(self, stored: dict[str, str]) -> PushRules:
        rules = self._default_rules
        overrides = set()
        for field in FIELDS:
            if field not in stored:
                continue
            try:
                value = str(PARSERS[field](stored[field]))
            except InvalidSetting as exc:
                # Written by hand past the validation: the environment's value stays in force.
                log.warning("pushes:settings %s ignored: %s", field, exc)
                continue
            overrides.add(field)
            if field == QUIET:
                rules = replace(rules, quiet=QuietHours(value, self.defaults.tz),
                                window=_window(value))
            elif field == CAP:
                rules = replace(rules, daily_cap=int(value))
            elif field == TRANSIT:
                rules = replace(rules, transit_interval=int(value) * HOUR)
            elif field == SMS_QUIET:
                rules = replace(rules, sms_night=Window.parse(value))
            else:
                rules = replace(rules, sms_daily_cap=int(value))
        if not overrides:
            return rules
        return replace(rules, overrides=frozenset(overrides))

    def describe(self, fields: Sequence[str] = FIELDS) -> list[tuple[str, str, bool]]:
        """(field, value as a merchant writes it, whether it overrides the environment), for
        each of `fields` in that order."""
        rules = self.refresh()
        shown = {QUIET: rules.quiet_text, CAP: str(rules.daily_cap),
                 TRANSIT: _hours_text(rules.transit_interval),
                 SMS_QUIET: rules.sms_night_text, SMS_CAP: str(rules.sms_daily_cap)}
        return [(field, shown[field], field in rules.overrides) for field in fields]

    # Writing ----------------------------------------------------------------------------------

    def change(self, **values: str) -> dict[str, tuple[str, str]]:
        """Set each field given (`default`/默认: back to the environment's value), all or none:
        every value is checked before anything is written. Returns field → (before, after) for
        the fields that changed, as `describe` shows them."""
        sets: dict[str, str] = {}
        resets: list[str] = []
        for field, raw in values.items():
            if field not in FIELDS:
                raise InvalidSetting(field, f"unknown push setting {field!r}")
            text = str(raw).strip()
            if text.lower() in DEFAULT_WORDS:
                resets.append(field)
            else:
                sets[field] = str(PARSERS[field](text))
        before = {f: v for f, v, _ in self.describe()}
        pipe = self.redis.pipeline(transaction=True)
        if sets:
            pipe.hset(KEY, mapping=sets)
        if resets:
            pipe.hdel(KEY, *resets)
        pipe.execute()
        after = {f: (v, o) for f, v, o in self.describe()}
        return {f: (before[f], after[f][0]) for f in values}


def release_held(changes: dict[str, tuple[str, str]], store: PushStore, now: float) -> int:
    """After a change of quiet hours or interval, the pushes they held are decided again now
    (held anew if the new rule still says so), not left waiting for the old rule's end."""
    reasons = {HELD_BY[field] for field, (before, after) in changes.items()
               if field in HELD_BY and before != after}
    if SMS_QUIET in changes and changes[SMS_QUIET][0] != changes[SMS_QUIET][1]:
        store.redis.delete(SMS_NIGHT_MARK)
    return store.release_held(reasons, now) if reasons else 0


def _hours_text(seconds: int) -> str:
    hours = seconds / HOUR
    return str(int(hours)) if hours == int(hours) else f"{hours:.2f}".rstrip("0")
