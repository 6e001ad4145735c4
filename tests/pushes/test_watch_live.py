"""The scans for real, once: `python -m bot worker` (its leader's scheduler runs the scan every
second) with stale and pickup thresholds of a few seconds, the fake WeChat API and the local
SMS gateway. The scan rules themselves are tested with an injected clock (test_watch_scans.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.platform.clock import SystemClock
from bot.platform.config import Config
from bot.pushes.preferences import CONSENT_GIVEN
from bot.pushes.scheduler import LEADER_KEY
from bot.pushes.watch.followup import FollowUpList
from tests.fixtures.orders import post_signed
from tests.fixtures.pushes import GATEWAY_SECRET
from tests.fixtures.wechat_api import wait_for

ROOT = Path(__file__).resolve().parents[2]
SECRET = GATEWAY_SECRET
SETTINGS = {
    "SMS_PROVIDER": "webhook", "SMS_SIGN_NAME": "好物小店", "SMS_WEBHOOK_SECRET": SECRET,
    "STALE_TRACKING_HOURS": "0.001", "PICKUP_REMINDER_HOURS": "0.001",   # 3.6 s
    "SCAN_INTERVAL": "1", "QUIET_HOURS": "off", "SMS_QUIET_HOURS": "00:00-00:01",
    "PUSH_MERGE_DELAY": "0",
}


def stuck_apologies(fake_wechat) -> list[dict]:
    return [c for c in fake_wechat.calls("message/custom/send", openid="oLive")
            if "没有新的物流信息" in c["body"].get("text", {}).get("content", "")]


def iso(seconds_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()


def test_scans_run_by_the_workers_leader(r, redis_url, fake_wechat, gateway, tmp_path,
                                         config_values):
    settings = {**SETTINGS, "SMS_WEBHOOK_URL": gateway.url + "/"}
    from bot import create_app

    values = {**config_values, "wechat_api_base_url": fake_wechat.url,
              **{k.lower(): v for k, v in settings.items()}}
    config = Config.from_env({k.upper(): str(v) for k, v in values.items()})
    app = create_app(config, redis_client=r, clock=SystemClock())
    services = app.extensions["bot"]
    services.prefs.set("oLive", consent=CONSENT_GIVEN, at=time.time())
    services.users.seen("oLive", time.time())
    env = {**os.environ, "BOT_DEMO": "1", "REDIS_URL": redis_url,
           "WECHAT_API_BASE_URL": fake_wechat.url, "BOT_DATA_DIR": str(tmp_path), **settings}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "worker", "--processes", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_for(lambda: r.exists(LEADER_KEY), 60)
        client = app.test_client()
        for body in (
            {"event_id": "live-1", "occurred_at": iso(2), "order": {
                "order_id": "800001", "status": "shipped", "openid": "oLive",
                "carrier": "SF", "tracking_no": "SF800001",
                "tracking": [{"time": iso(2), "location": "杭州", "description": "已揽收"}]}},
            {"event_id": "live-2", "occurred_at": iso(1), "order": {
                "order_id": "800002", "status": "delivered", "phone": "13812345678",
                "pickup": {"code": "8-2-1034", "place": "文三路驿站"}}},
        ):
            assert post_signed(client, body).status_code == 200
        # The stuck-parcel apology reaches WeChat; the order is on the staff list.
        assert wait_for(lambda: stuck_apologies(fake_wechat), 60)
        assert [i.order_id for i in FollowUpList(r).open()] == ["800001"]
        # The order with no openid: its delivery, then the pickup reminder, by SMS.
        assert wait_for(lambda: [m["kind"] for m in gateway.messages]
                        == ["order_delivered", "pickup_reminder"], 60)
        assert "8-2-1034" in gateway.messages[1]["text"]
        # Nothing is sent twice while the scans go on.
        time.sleep(3)
        assert len(gateway.messages) == 2
        assert len(stuck_apologies(fake_wechat)) == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
