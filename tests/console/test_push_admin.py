"""The merchant's push settings and switches on the Pushes page, and the stuck-parcel
follow-up list: who may change what, CSRF, the audit log, validation, and the effect."""

from __future__ import annotations

import pytest
import yaml

from bot.console.i18n import FOLDER, LANGS
from bot.pushes.settings_store import KEY, PushSettingsStore
from bot.pushes.switches import KEY as SWITCHES
from bot.pushes.watch.followup import FollowUpList
from tests.conftest import START
from tests.console.conftest import ADMIN, AGENT, ConsoleClient
from tests.fixtures.orders import event

SETTINGS = {"quiet_hours": "23:00-07:00", "daily_cap": "3", "transit_interval": "6"}


def redis_of(app):
    return app.extensions["bot"].redis


def audit_of(app) -> list[dict]:
    """The audited changes, newest first (logins left out)."""
    return [e for e in app.extensions["console"].audit.latest() if e["action"] != "login"]


def test_admin_changes_the_rules_and_every_reader_sees_them(console_app, admin):
    page = admin.get("/console/pushes").get_data(as_text=True)
    assert 'name="quiet_hours" value="22:00-08:00"' in page and "默认（环境变量）" in page
    resp = admin.post("/console/pushes/settings", SETTINGS)
    assert resp.status_code == 302
    r = redis_of(console_app)
    assert r.hgetall(KEY) == SETTINGS
    entry = audit_of(console_app)[0]
    assert (entry["who"], entry["action"]) == ("boss", "push_settings_changed")
    assert entry["detail"] == {"quiet_hours": "22:00-08:00 → 23:00-07:00",
                               "daily_cap": "5 → 3", "transit_interval": "4 → 6"}
    page = admin.get("/console/pushes").get_data(as_text=True)
    assert "已保存" in page and 'value="23:00-07:00"' in page and "已在此修改" in page
    # A worker's reader (another process: another store on the same Redis).
    pipeline = console_app.extensions["bot_runtime"].pushes
    rules = PushSettingsStore(r, pipeline.settings).current()
    assert (rules.quiet_text, rules.daily_cap, rules.transit_interval) == \
        ("23:00-07:00", 3, 6 * 3600)
    # Saving the form unchanged writes nothing and audits nothing.
    admin.post("/console/pushes/settings", SETTINGS)
    assert len(audit_of(console_app)) == 1
    # The reset button brings one value back to the environment's.
    admin.post("/console/pushes/settings", {"reset": "daily_cap"})
    assert "daily_cap" not in r.hgetall(KEY)
    assert audit_of(console_app)[0]["detail"] == {"daily_cap": "3 → 5"}
    page = admin.get("/console/audit").get_data(as_text=True)
    assert page.count("修改了推送规则") == 2 and "5 → 3" in page


def test_a_bad_value_is_flashed_and_nothing_saved(console_app, admin):
    for field, bad, words in (("quiet_hours", "23-07", "HH:MM-HH:MM"),
                              ("daily_cap", "99", "1 到 50"),
                              ("transit_interval", "0", "1 到 72")):
        admin.get("/console/pushes")
        resp = admin.post("/console/pushes/settings", {**SETTINGS, field: bad})
        assert resp.status_code == 302
        page = admin.get("/console/pushes").get_data(as_text=True)
        assert words in page and "未保存任何改动" in page, field
    assert redis_of(console_app).hgetall(KEY) == {}
    assert audit_of(console_app) == []
    admin.get("/console/lang/en?next=/console/pushes")
    page = admin.post("/console/pushes/settings", {"daily_cap": "fifty"},
                      follow_redirects=True).get_data(as_text=True)
    assert "Daily cap: a whole number from 1 to 50. Nothing was saved." in page


def test_agents_get_403_and_a_post_without_csrf_400(console_app, admin, agent):
    for path, data in (("/console/pushes/settings", SETTINGS),
                       ("/console/pushes/switches", {"kind": "order_paid", "state": "off"})):
        assert agent.post(path, data).status_code == 403
        assert admin.post(path, data, csrf=False).status_code == 400
    r = redis_of(console_app)
    assert r.hgetall(KEY) == {} and r.hgetall(SWITCHES) == {}
    assert audit_of(console_app) == []


def test_admin_switches_kinds_with_the_exceptions_warning(console_app, admin):
    r = redis_of(console_app)
    page = admin.get("/console/pushes").get_data(as_text=True)
    assert "包裹停滞" in page and "全部日常物流通知" in page
    assert admin.post("/console/pushes/switches",
                      {"kind": "logistics", "state": "off"}).status_code == 302
    assert r.hget(SWITCHES, "order_in_transit") == "off"
    assert r.hget(SWITCHES, "order_exception") is None
    page = admin.get("/console/pushes").get_data(as_text=True)
    assert "配送异常通知仍然开启" in page
    admin.post("/console/pushes/switches", {"kind": "order_exception", "state": "off"})
    page = admin.get("/console/pushes").get_data(as_text=True)
    assert "顾客将不再收到通知" in page and r.hget(SWITCHES, "order_exception") == "off"
    entry = audit_of(console_app)[0]
    assert (entry["who"], entry["action"], entry["detail"]["kind"], entry["detail"]["state"]) \
        == ("boss", "push_switched", "order_exception", "off")
    assert admin.post("/console/pushes/switches",
                      {"kind": "order_teleported", "state": "off"}).status_code == 400
    assert admin.post("/console/pushes/switches",
                      {"kind": "order_paid", "state": "maybe"}).status_code == 400
    assert len(audit_of(console_app)) == 2


def test_followup_list_and_handled(console_app, admin, agent, clock):
    services = console_app.extensions["bot"]
    services.orders.apply_payload(event("202611240101", "in_transit", hours=-60,
                                        openid="oStuckCustomer01", phone="13812345678",
                                        carrier="SF", tracking_no="SF9000000001"))
    followups = FollowUpList(services.redis)
    followups.add("202611240101", "stuck", START, since="2026-11-21T22:00:00+08:00",
                  carrier="SF", tracking_no="SF9000000001", status="in_transit")
    followups.add("202611240102", "stuck", START + 60, since="2026-11-22T10:00:00+08:00")
    page = agent.get("/console/followups").get_data(as_text=True)
    assert 'href="/console/followups"' in page                 # in the navigation
    assert page.index("202611240101") < page.index("202611240102")   # longest waiting first
    assert "138****5678" in page and "13812345678" not in page
    assert "oStuckCustomer01" in page and "SF9000000001" in page
    assert "自 2026-11-21 22:00 起没有物流更新（60 小时）" in page
    path = "/console/followups/202611240101/handled"
    assert agent.post(path, {"note": "called SF"}, csrf=False).status_code == 400
    assert len(followups) == 2
    assert agent.post(path, {"note": "called SF"}).status_code == 302
    assert len(followups) == 1
    done = followups.get("202611240101")
    assert (done.resolved_by, done.note) == ("sam", "called SF")
    entry = audit_of(console_app)[0]
    assert (entry["who"], entry["action"], entry["detail"]["order_id"]) == \
        ("sam", "followup_handled", "202611240101")
    page = agent.get("/console/followups").get_data(as_text=True)
    assert "已移出待跟进列表" in page and "202611240101" not in page
    admin.get("/console/followups")
    admin.post(path)
    assert "已由其他人处理" in admin.get("/console/followups").get_data(as_text=True)
    assert len(audit_of(console_app)) == 1


def test_every_wording_is_text_in_both_languages():
    """YAML reads on/off/yes/no unquoted as booleans: a key `off` would be `False`."""
    keys = []
    for lang in LANGS:
        raw = yaml.safe_load((FOLDER / f"{lang}.yaml").read_text("utf-8"))
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()), lang
        keys.append(set(raw))
    assert keys[0] == keys[1]


def test_new_quiet_hours_from_the_console_release_the_pushes_the_old_ones_held(console_app,
                                                                               admin, clock):
    from bot.pushes.store import DUE, PushStore

    store = PushStore(redis_of(console_app))
    now = clock.now()
    for pid, reason in (("o1:order_in_transit:1", "quiet_hours"), ("o2:order_paid:1", "quota")):
        store.create(pid, order_id=pid.split(":")[0], openid="oHeld", kind=pid.split(":")[1],
                     version=1, due_at=now, created_at=now)
        pipe = store.redis.pipeline()
        store.hold(store.get(pid), now + 8 * 3600, reason, pipe)
        pipe.execute()
    admin.get("/console/pushes")
    admin.post("/console/pushes/settings", {"daily_cap": "4"})      # not what held them
    assert store.redis.zscore(DUE, "o1:order_in_transit:1") == now + 8 * 3600
    admin.post("/console/pushes/settings", {"quiet_hours": "off"})
    assert store.get("o1:order_in_transit:1").due_at == now
    assert store.redis.zscore(DUE, "o1:order_in_transit:1") == now
    assert store.redis.zscore(DUE, "o2:order_paid:1") == now + 8 * 3600   # the quota's wait


SMS_VALUES = {"sms_provider": "webhook", "sms_sign_name": "好物小店",
              "sms_webhook_url": "http://127.0.0.1:9/", "sms_webhook_secret": "sms-secret"}
SMS_SETTINGS = {"sms_quiet_hours": "21:00-09:00", "sms_daily_cap": "2"}


@pytest.fixture
def sms_console(make_app):
    """The console of a shop with SMS_PROVIDER set."""
    app = make_app(**SMS_VALUES)
    accounts = app.extensions["console"].accounts
    accounts.add(ADMIN[0], "admin", ADMIN[1], START)
    accounts.add(AGENT[0], "agent", AGENT[1], START)
    return app


def test_sms_rules_are_shown_and_changed_only_where_sms_is_configured(console_app, admin):
    page = admin.get("/console/pushes").get_data(as_text=True)
    assert 'name="sms_quiet_hours"' not in page and "SMS_QUIET_HOURS" not in page
    admin.post("/console/pushes/settings", {**SMS_SETTINGS, "daily_cap": "4"})
    assert redis_of(console_app).hgetall(KEY) == {"daily_cap": "4"}
    assert audit_of(console_app)[0]["detail"] == {"daily_cap": "5 → 4"}
    assert admin.post("/console/pushes/settings",
                      {"reset": "sms_daily_cap"}).status_code == 400


def test_admin_changes_the_sms_rules_and_the_sms_sender_obeys(sms_console):
    admin = ConsoleClient(sms_console)
    assert admin.login(*ADMIN).status_code == 302
    page = admin.get("/console/pushes").get_data(as_text=True)
    assert 'name="sms_quiet_hours" value="22:00-08:00"' in page
    assert 'name="sms_daily_cap" value="5"' in page and "夜间不发短信时段" in page
    assert admin.post("/console/pushes/settings", SMS_SETTINGS).status_code == 302
    r = redis_of(sms_console)
    assert r.hgetall(KEY) == SMS_SETTINGS
    entry = audit_of(sms_console)[0]
    assert (entry["who"], entry["action"]) == ("boss", "push_settings_changed")
    assert entry["detail"] == {"sms_quiet_hours": "22:00-08:00 → 21:00-09:00",
                               "sms_daily_cap": "5 → 2"}
    page = admin.get("/console/pushes").get_data(as_text=True)
    assert "已保存" in page and 'value="21:00-09:00"' in page
    # A worker's SMS sender, through its process's reader of the rules.
    rt = sms_console.extensions["bot_runtime"]
    rt.pushes.rules.max_age = 0
    assert rt.sms.sender.limits()[1] == 2
    assert rt.sms.sender.limits()[0].start.isoformat() == "21:00:00"
    admin.post("/console/pushes/settings", {"reset": "sms_quiet_hours"})
    assert r.hgetall(KEY) == {"sms_daily_cap": "2"}
    assert audit_of(sms_console)[0]["detail"] == {"sms_quiet_hours": "21:00-09:00 → 22:00-08:00"}


def test_a_bad_sms_value_is_flashed_and_nothing_saved_and_agents_get_403(sms_console):
    admin, agent = ConsoleClient(sms_console), ConsoleClient(sms_console)
    assert admin.login(*ADMIN).status_code == 302 and agent.login(*AGENT).status_code == 302
    for field, bad, words in (("sms_quiet_hours", "off", "不能关闭"),
                              ("sms_quiet_hours", "21:00-21:00", "HH:MM-HH:MM"),
                              ("sms_daily_cap", "0", "1 到 50"),
                              ("sms_daily_cap", "51", "短信每日上限")):
        admin.get("/console/pushes")
        resp = admin.post("/console/pushes/settings", {**SMS_SETTINGS, "daily_cap": "3",
                                                       field: bad})
        assert resp.status_code == 302
        page = admin.get("/console/pushes").get_data(as_text=True)
        assert words in page and "未保存任何改动" in page, (field, bad)
    assert agent.post("/console/pushes/settings", SMS_SETTINGS).status_code == 403
    assert redis_of(sms_console).hgetall(KEY) == {}
    assert audit_of(sms_console) == []
    admin.get("/console/lang/en?next=/console/pushes")
    page = admin.post("/console/pushes/settings", {"sms_quiet_hours": "关闭"},
                      follow_redirects=True).get_data(as_text=True)
    assert "it cannot be off. Nothing was saved." in page
