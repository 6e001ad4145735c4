"""The rules that decide, for one due push, whether it goes out now, waits, or not at all.

Order of the checks: the order still belongs to the user → staleness → consent and
preferences (a followed order overrides level and logistics) → quiet hours → the in-transit
rhythm. The daily cap and "nothing new" are checked by the delivery once it knows which pushes
go together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.orders.model import Order
from bot.pushes.kinds import STATUS_KIND, TRANSIT_RHYTHM, kind_of, push_id, version_of
from bot.pushes.preferences import CONSENT_GIVEN, IMPORTANT, Preferences
from bot.pushes.settings import USER_ACTION_FRESH
from bot.pushes.settings_store import PushRules
from bot.pushes.store import PushRecord

SEND = "send"
HOLD = "hold"
SUPPRESS = "suppress"


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str = ""
    until: float = 0.0
    kind: str = ""          # the kind the push goes out as (a released push: the order's now)


@dataclass
class UserView:
    """What the rules need to know of the user, read once per delivery."""

    openid: str
    prefs: Preferences
    following: bool = True
    followed_orders: set[str] = field(default_factory=set)


def decide(rec: PushRecord, order: Order | None, user: UserView, rules: PushRules,
           now: float, order_state: dict[str, str],
           exists: Callable[[str], bool]) -> Decision:
    """The decision for `rec` given the order as it is now. `exists(push_id)` says whether a
    push is recorded (a newer push of the order speaks for it). `rules`: the merchant's quiet
    hours and interval in force now (bot/pushes/settings_store.py)."""
    if order is None or order.openid != rec.openid:
        # The order moved to another customer (or vanished): nothing of it is theirs to hear.
        return Decision(SUPPRESS, "stale")
    kind = rec.kind
    current = version_of(order)
    now_kind = STATUS_KIND.get(order.status)
    if rec.version < current and kind in STATUS_KIND.values() and now_kind != kind:
        # The order has moved on since: never "运输中" after "已签收". A held push speaks for
        # the order's state now, unless a push of that state exists to do it.
        if not rec.held or now_kind is None or exists(push_id(order.order_id, now_kind,
                                                              current)):
            return Decision(SUPPRESS, "stale")
        kind = now_kind
    spec = kind_of(kind)
    if spec.holds is not None and not spec.holds(order, rec.version):
        return Decision(SUPPRESS, "stale")
    if not user.following:
        return Decision(SUPPRESS, "unfollowed")
    followed = order.order_id in user.followed_orders
    if not followed:
        if user.prefs.consent != CONSENT_GIVEN:
            return Decision(SUPPRESS, "consent")
        if not user.prefs.notify:
            return Decision(SUPPRESS, "preference")
        if user.prefs.level == IMPORTANT and not spec.important:
            return Decision(SUPPRESS, "preference")
        if spec.logistics and not user.prefs.logistics:
            return Decision(SUPPRESS, "preference")
    release = rules.quiet.release_at(now)
    if release is not None and not (spec.user_action and fresh(order, now)):
        return Decision(HOLD, "quiet_hours", until=release, kind=kind)
    if spec.rhythm and not followed:
        last = float(order_state.get("last_transit_at") or 0)
        if last and now < last + rules.transit_interval:
            return Decision(HOLD, "transit_interval", until=last + rules.transit_interval,
                            kind=kind)
    return Decision(SEND, kind=kind)


def fresh(order: Order, now: float) -> bool:
    """The order's latest change happened just now (the user's own payment, not a late
    replay of one from hours ago)."""
    return bool(order.occurred_at) and now - version_of(order) / 1000 <= USER_ACTION_FRESH


def nothing_new(kind: str, order: Order, order_state: dict[str, str]) -> bool:
    """An in-transit push with no tracking point newer than the last one pushed."""
    if kind not in TRANSIT_RHYTHM or kind == "order_shipped":
        return False
    latest = order.tracking[-1].time if order.tracking else ""
    return bool(latest) and latest <= order_state.get("last_point", "")
