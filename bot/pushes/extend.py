"""What issue 11 adds to the push pipeline, wired in one place: the SMS fallback (a channel,
the suppressed-push hook, orders with no openid), the merchant's switches, best-hour placement
of non-urgent pushes, and the scans run by the leader's scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.pushes.best_hour import BestHours
from bot.pushes.hours import parse_windows
from bot.pushes.pipeline import PushPipeline
from bot.pushes.sms.fallback import EnqueueSms, SmsChannel, SmsFallback
from bot.pushes.sms.kit import SmsKit
from bot.pushes.switches import Switches
from bot.pushes.watch import kinds as _kinds  # noqa: F401  (registers the scan kinds)
from bot.pushes.watch.followup import FollowUpList
from bot.pushes.watch.runner import ScanReport, ScanSettings, WatchScanner
from bot.pushes.watch.scans import Finding

SCAN_TASK = "watch_scan"


@dataclass
class Extensions:
    switches: Switches
    best_hours: BestHours
    fallback: SmsFallback
    scanner: WatchScanner
    followups: FollowUpList


def extend_pipeline(pipeline: PushPipeline, kit: SmsKit,
                    enqueue_sms: EnqueueSms | None = None) -> Extensions:
    services = pipeline.services
    config, client = services.config, pipeline.redis
    switches = Switches(client)
    # Quiet hours as the merchant set them now: a night owl's hours are learnt from the rest.
    best = BestHours(client, config.timezone, parse_windows(config.best_hours_default),
                     lambda: pipeline.rules.current().window)
    fallback = SmsFallback(kit, services.orders, services.prefs, pipeline.log, pipeline.store,
                           switches, pipeline.clock, enqueue_sms)
    pipeline.delivery.switched_off = lambda kind: not switches.is_on(kind)
    # The SMS night hours and cap through the pushes' own cached rules: one read per process.
    kit.sender.in_force = pipeline.rules.current
    if kit.provider is not None:
        # With SMS_PROVIDER unset nothing of the SMS side runs (no jobs, no log entries).
        pipeline.chooser.add(SmsChannel(fallback))
        pipeline.delivery.on_suppressed = fallback.on_suppressed
        pipeline.change_listeners.append(fallback.on_change)
    if config.push_best_hour:
        pipeline.placer = best.place

    def enqueue(order: Any, finding: Finding, due: float) -> None:
        if order.openid:
            pipeline.enqueue(order.order_id, finding.kind, finding.version,
                             openid=order.openid, due_at=due, data=finding.data,
                             reason="scan")
        elif kit.provider is not None:
            fallback.on_finding(order, finding.kind, finding.version, finding.data, due)

    followups = FollowUpList(client)
    words = kit.words_data.get("pickup_collected", [])
    scanner = WatchScanner(
        client, services.orders.store,
        ScanSettings(tz=config.timezone, stale_hours=config.stale_tracking_hours,
                     pickup_hours=config.pickup_reminder_hours,
                     unshipped_hours=config.unshipped_hours,
                     collected_words=tuple(str(w).lower() for w in words)),
        enqueue=enqueue, followups=followups, switches=switches, place=best.place)

    def scan(_now: float) -> ScanReport:
        return scanner.run(pipeline.clock.now())

    if config.scan_interval > 0:
        pipeline.scheduler.every(SCAN_TASK, config.scan_interval, scan)
    return Extensions(switches, best, fallback, scanner, followups)
