"""The WeChat API client against the loopback fake: shared token, compare-and-refresh, errors."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis as redis_lib

from bot.local.fake_wechat import FakeWeChatControl
from bot.platform.config import Config
from bot.wechat.api import WeChatAPI, WeChatRejected, WeChatUnavailable

ROOT = Path(__file__).resolve().parents[2]
OPENID = "oApiUser0000000000000000001"


@pytest.fixture
def api_for(r, config_values, fake_wechat):
    def make(client=None, **overrides):
        config = Config.from_mapping({**config_values, "wechat_api_base_url": fake_wechat.url,
                                      **overrides})
        return WeChatAPI(config, client or r)
    return make


def test_send_text_uses_stable_token_shared_through_redis(api_for, fake_wechat, r):
    first, second = api_for(), api_for()
    first.send_text(OPENID, "你好")
    second.send_text(OPENID, "再见")
    assert [i["via"] for i in fake_wechat.issued] == ["stable_token"]
    sends = fake_wechat.calls("message/custom/send")
    assert [s["body"]["text"]["content"] for s in sends] == ["你好", "再见"]
    assert all(s["result"] == 0 for s in sends)
    stored_ttl = r.ttl("wechat:wxdemo0000000000_access_token")
    assert 6000 < stored_ttl <= 7200 - 300  # refreshed before WeChat's own expiry


def test_expired_token_is_refreshed_once_and_the_call_retried(api_for, fake_wechat):
    api = api_for()
    api.send_text(OPENID, "一")
    fake_wechat.expire_tokens()
    api.send_text(OPENID, "二")
    assert len(fake_wechat.issued) == 2
    results = [c["result"] for c in fake_wechat.calls("message/custom/send")]
    assert results == [0, 42001, 0]


def test_token_refused_but_still_handed_out_is_force_refreshed(api_for, fake_wechat):
    api = api_for()
    api.send_text(OPENID, "一")
    fake_wechat.inject("message/custom/send", errcode=40001)
    api.send_text(OPENID, "二")
    assert [i["force"] for i in fake_wechat.issued] == [False, True]
    assert fake_wechat.calls("message/custom/send")[-1]["result"] == 0


def test_four_processes_meeting_an_expired_token_cause_one_refresh(
    api_for, fake_wechat, redis_url
):
    api_for().send_text(OPENID, "warm up")  # a token every process will find in Redis
    fake_wechat.expire_tokens()
    start_at = time.time() + 3.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.apps.token_storm", redis_url, fake_wechat.url,
             str(start_at), OPENID],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [out.strip() for out, _ in outputs] == ["ok"] * 4, [err for _, err in outputs]
    assert len(fake_wechat.issued) == 2  # the warm-up's token, then exactly one refresh
    sends = fake_wechat.calls("message/custom/send")[1:]
    assert sum(1 for s in sends if s["result"] == 0) == 4
    # A call still in flight with the old token when the new one is issued meets 40001.
    assert all(s["result"] in (0, 40001, 42001) for s in sends)


@pytest.mark.parametrize("errcode", [45015, 43004, 43101])
def test_user_side_refusals_are_not_retryable(api_for, fake_wechat, errcode):
    fake_wechat.inject("message/custom/send", errcode=errcode)
    with pytest.raises(WeChatRejected) as caught:
        api_for().send_text(OPENID, "hi")
    assert caught.value.errcode == errcode and not caught.value.retryable


@pytest.mark.parametrize("errcode", [45009, -1])
def test_quota_and_busy_errors_are_retryable(api_for, fake_wechat, errcode):
    fake_wechat.inject("message/custom/send", errcode=errcode)
    with pytest.raises(WeChatRejected) as caught:
        api_for().send_text(OPENID, "hi")
    assert caught.value.retryable


def test_http_errors_latency_and_a_dead_server_are_unavailable(api_for, fake_wechat, r):
    fake_wechat.inject("message/custom/send", http_status=503)
    with pytest.raises(WeChatUnavailable):
        api_for().send_text(OPENID, "hi")
    fake_wechat.inject("message/custom/send", delay=1.5)
    config = Config.from_mapping({"bot_demo": True, "redis_url": "redis://127.0.0.1:6379/15",
                                  "wechat_api_base_url": fake_wechat.url})
    with pytest.raises(WeChatUnavailable):
        WeChatAPI(config, r, timeout=0.5).send_text(OPENID, "slow")
    with pytest.raises(WeChatUnavailable):
        api_for(wechat_api_base_url="http://127.0.0.1:9/cgi-bin/").send_text(OPENID, "x")


def test_wrong_secret_is_a_clear_rejection(api_for):
    with pytest.raises(WeChatRejected) as caught:
        # Not the demo: BOT_DEMO=1 refuses a secret other than its own.
        api_for(wechat_secret="wrong", bot_demo=False, wechat_token="demo-token",
                wechat_appid="wxdemo0000000000", secret_key="k").send_text(OPENID, "hi")
    assert caught.value.errcode == 40125


def test_redis_down_while_fetching_a_token_is_an_error_not_a_hang(api_for):
    down = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    with pytest.raises(redis_lib.exceptions.ConnectionError):
        api_for(client=down).send_text(OPENID, "hi")


def test_user_info_template_subscribe_and_menu(api_for, fake_wechat):
    fake_wechat.set_user(OPENID, language="en", nickname="Amy")
    api = api_for()
    assert api.user_info(OPENID)["language"] == "en"
    api.send_template(OPENID, "TPL1", {"first": {"value": "已发货"}}, url="https://x/track")
    api.send_subscribe(OPENID, "SUB1", {"thing1": {"value": "已发货"}})
    api.create_menu({"button": [{"type": "click", "name": "查订单", "key": "MENU_ORDERS"}]})
    paths = [c["path"] for c in fake_wechat.calls()]
    assert paths == ["user/info", "message/template/send", "message/subscribe/bizsend",
                     "menu/create"]
    assert fake_wechat.calls("message/template/send")[0]["openid"] == OPENID


def test_control_client_reads_calls_and_injects_faults_over_http(api_for, fake_wechat):
    control = FakeWeChatControl(fake_wechat.url)
    control.inject("message/custom/send", errcode=45009)
    api = api_for()
    with pytest.raises(WeChatRejected):
        api.send_text(OPENID, "一")
    before = time.time()
    api.send_text(OPENID, "二")
    calls = control.calls(openid=OPENID, since=before)
    assert [c["body"]["text"]["content"] for c in calls] == ["二"]
    assert len(control.issued()) == 1
