"""The merchant's switches: each push kind on or off for the whole shop (Redis hash
`pushes:switches`, kind → on/off; a kind never set is on). `python -m bot pushes settings` and
the console read and write the same hash.

`logistics` names the routine delivery news as a group. Turning it off leaves exceptions on:
a parcel in trouble is what a customer most needs to hear of, so only an explicit
`order_exception off` stops those, and that too answers with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

KEY = "pushes:switches"
ON, OFF = "on", "off"
EXCEPTION = "order_exception"
LOGISTICS = "logistics"
LOGISTICS_KINDS = ("order_shipped", "order_in_transit", "order_out_for_delivery",
                   "order_delivered", "order_stuck", "pickup_reminder")
# Every kind a merchant can switch, in the order they are listed.
KNOWN_KINDS = ("order_paid", *LOGISTICS_KINDS, EXCEPTION, "order_not_shipped",
               "order_cancelled", "order_refunded")

WARN_EXCEPTIONS_KEPT = ("exceptions (order_exception) stay on: customers still hear when a "
                        "parcel is delayed, lost or needs their action; turn them off with "
                        "`pushes settings order_exception off`")
WARN_EXCEPTIONS_OFF = ("warning: customers will no longer be told when a parcel is delayed, "
                       "lost or needs their action (address, pickup); they will ask instead")


class UnknownKind(ValueError):
    pass


@dataclass(frozen=True)
class Change:
    kinds: tuple[str, ...]      # what was switched
    state: str
    warnings: tuple[str, ...]


class Switches:
    def __init__(self, client: redis.Redis, kinds: tuple[str, ...] = KNOWN_KINDS) -> None:
        self.redis = client
        self.kinds = kinds

    def is_on(self, kind: str) -> bool:
        return self.redis.hget(KEY, kind) != OFF

    def all(self) -> dict[str, bool]:
        stored = self.redis.hgetall(KEY)
        extra = tuple(k for k in stored if k not in self.kinds)
        return {kind: stored.get(kind) != OFF for kind in (*self.kinds, *extra)}

    def set(self, name: str, on: bool) -> Change:
        """Switch one kind, or `logistics` (the routine delivery kinds, never exceptions)."""
        if name == LOGISTICS:
            kinds = LOGISTICS_KINDS
        elif name in self.kinds:
            kinds = (name,)
        else:
            raise UnknownKind(f"unknown push kind {name!r}; one of {LOGISTICS}, "
                              + ", ".join(self.kinds))
        state = ON if on else OFF
        self.redis.hset(KEY, mapping=dict.fromkeys(kinds, state))
        warnings: tuple[str, ...] = ()
        if not on and name == LOGISTICS and self.is_on(EXCEPTION):
            warnings = (WARN_EXCEPTIONS_KEPT,)
        elif not on and name == EXCEPTION:
            warnings = (WARN_EXCEPTIONS_OFF,)
        return Change(kinds, state, warnings)
