"""The console in a real headless Chromium (Debian's `chromium` + `chromedriver`, driven by
Selenium) against the app served on a loopback port: the flows staff and merchants use, and
the security cases a browser is needed to prove (scripts in customer text do not run, a
cross-site form post is refused)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from bot.local.simulator import WeChatSimulator, requests_transport
from tests.conftest import START
from tests.console.conftest import ADMIN, AGENT
from tests.fixtures.wechat_api import wait_for

USER = "oBrowserCustomer0000000001"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_path, (
        "the browser tests need Debian's chromium and chromium-driver "
        "(apt-get install -y chromium chromium-driver; .ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--lang=zh-CN"):
        options.add_argument(arg)
    # The page's own console (CSP violations, script errors) for the every-page test.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


class LiveServer:
    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def chat(self, clock) -> WeChatSimulator:  # noqa: ANN001
        config = self.app.extensions["bot"].config
        return WeChatSimulator(requests_transport(self.url), config.wechat_token,
                               config.wechat_appid, config.wechat_aes_key, now=clock.now)

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def live(make_app, fake_wechat, browser) -> Iterator[LiveServer]:
    app = make_app(wechat_api_base_url=fake_wechat.url)
    app.extensions["bot"].intents.seed_defaults()
    accounts = app.extensions["console"].accounts
    accounts.add(ADMIN[0], "admin", ADMIN[1], START)
    accounts.add(AGENT[0], "agent", AGENT[1], START)
    server = LiveServer(app)
    browser.delete_all_cookies()
    yield server
    server.stop()


def log_in(browser, live: LiveServer, name: str, password: str) -> None:  # noqa: ANN001
    browser.get(live.url + "/console/login")
    browser.find_element(By.NAME, "name").send_keys(name)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form button.primary").click()
    wait_for_css(browser, "header nav")


def wait_for_css(browser, selector: str) -> None:  # noqa: ANN001
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))


def text_of(browser) -> str:  # noqa: ANN001
    return browser.find_element(By.TAG_NAME, "main").text


def test_an_unmatched_query_made_an_example_is_answered_right_after(browser, live, clock):
    chat = live.chat(clock)
    query = "你们周末上班吗"
    chat.text(USER, query)
    log_in(browser, live, *AGENT)
    browser.get(live.url + "/console/inbox")
    assert query in text_of(browser)
    box = browser.find_element(By.CSS_SELECTOR, "input[list=intents]")
    box.send_keys("faq_ship_time")
    box.find_element(By.XPATH, "following-sibling::button").click()
    wait_for_css(browser, ".flash.ok")
    assert query not in text_of(browser)
    assert wait_for(lambda: "48小时内发货" in (chat.text(USER, query) or ""), 2.0)


def test_create_and_try_an_faq(browser, live, clock):
    log_in(browser, live, *ADMIN)
    browser.get(live.url + "/console/faqs/new")
    browser.find_element(By.NAME, "question").send_keys("可以礼品包装吗")
    browser.find_element(By.NAME, "answer").send_keys("可以,下单时备注礼品包装即可。")
    browser.find_element(By.NAME, "examples").send_keys("能帮我包装成礼物吗")
    browser.find_element(By.NAME, "try_question").send_keys("能帮我包装成礼物吗")
    browser.find_element(By.CSS_SELECTOR, "button[value=try]").click()
    wait_for_css(browser, ".result")
    results = browser.find_elements(By.CSS_SELECTOR, ".result")
    assert "能回答" in results[0].text and "回答不了" in results[1].text
    assert live.app.extensions["bot"].intents.get(
        browser.find_element(By.NAME, "id").get_attribute("value")) is None
    browser.find_element(By.CSS_SELECTOR, "button[value=save]").click()
    wait_for_css(browser, ".flash.ok")
    chat = live.chat(clock)
    assert wait_for(lambda: "礼品包装" in (chat.text(USER, "能帮我包装成礼物吗") or ""), 2.0)


def test_reply_to_a_handoff_reaches_wechat(browser, live, clock, fake_wechat):
    live.chat(clock).text(USER, "转人工")
    log_in(browser, live, *AGENT)
    browser.get(live.url + "/console/handoffs")
    browser.find_element(By.LINK_TEXT, USER).click()
    browser.find_element(By.NAME, "text").send_keys("您好,我是客服小王,马上帮您看")
    browser.find_element(By.CSS_SELECTOR, "form.reply button").click()
    wait_for_css(browser, ".flash.ok")
    sent = fake_wechat.calls("message/custom/send", openid=USER)
    assert [c["body"]["text"]["content"] for c in sent] == ["您好,我是客服小王,马上帮您看"]
    browser.get(live.url + "/console/handoffs")
    assert USER not in text_of(browser)


def test_customer_scripts_do_not_run_and_agents_see_no_admin_pages(browser, live, clock):
    chat = live.chat(clock)
    chat.text(USER, '<script>window.xss=1</script><img src=x onerror="window.xss=2">收音机')
    chat.text(USER, "转人工<script>window.xss=3</script>")
    log_in(browser, live, *AGENT)
    for path in ("/console/inbox", "/console/handoffs", f"/console/conversations/{USER}"):
        browser.get(live.url + path)
        assert browser.execute_script("return window.xss === undefined")
        assert "<script>window.xss=" in text_of(browser), path
    nav = browser.find_element(By.CSS_SELECTOR, "header nav").text
    assert "常见问题" not in nav and "账号" not in nav
    browser.get(live.url + "/console/accounts")
    assert "没有权限" in text_of(browser)


class _Evil(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802
        body = (f'<form id="f" method="post" action="{self.target}/console/accounts/add">'
                '<input name="name" value="mallory"><input name="role" value="admin">'
                '<input name="password" value="mallory-password"></form>'
                '<script>document.getElementById("f").submit()</script>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def test_a_forged_form_post_from_another_origin_is_refused(browser, live):
    """Another port on the same host is the same site, so the browser sends the session
    cookie (SameSite=Lax does not help here): the CSRF token is what refuses the post."""
    log_in(browser, live, *ADMIN)
    _Evil.target = live.url
    evil = ThreadingHTTPServer(("127.0.0.1", 0), _Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{evil.server_port}/")
        WebDriverWait(browser, 10).until(lambda d: "/console/accounts/add" in d.current_url)
        assert "页面已过期或请求来源不对" in text_of(browser)
        assert "mallory" not in {a.name for a in live.app.extensions["console"].accounts.all()}
    finally:
        evil.shutdown()


def test_admin_changes_quiet_hours_and_a_bad_cap_is_refused(browser, live):
    from bot.pushes.settings_store import KEY

    r = live.app.extensions["bot"].redis
    log_in(browser, live, *ADMIN)
    browser.get(live.url + "/console/pushes")
    quiet = browser.find_element(By.NAME, "quiet_hours")
    quiet.clear()
    quiet.send_keys("23:00-07:00\n")              # Enter saves (the reset buttons do not)
    wait_for_css(browser, ".flash.ok")
    assert r.hgetall(KEY) == {"quiet_hours": "23:00-07:00"}
    assert browser.find_element(By.NAME, "quiet_hours").get_attribute("value") == "23:00-07:00"
    cap = browser.find_element(By.NAME, "daily_cap")
    cap.clear()
    cap.send_keys("99")
    browser.find_element(By.CSS_SELECTOR, "form.settings button.primary").click()
    wait_for_css(browser, ".flash.error")
    assert "1 到 50" in text_of(browser) and "daily_cap" not in r.hgetall(KEY)
    browser.find_element(By.CSS_SELECTOR, "button[name=reset][value=quiet_hours]").click()
    wait_for_css(browser, ".flash.ok")
    assert r.hgetall(KEY) == {}
    assert browser.find_element(By.NAME, "quiet_hours").get_attribute("value") == "22:00-08:00"


def test_agent_marks_a_stuck_parcel_handled(browser, live):
    from bot.pushes.watch.followup import FollowUpList

    followups = FollowUpList(live.app.extensions["bot"].redis)
    followups.add("202611240201", "stuck", START, since="2026-11-22T09:00:00+08:00")
    log_in(browser, live, *AGENT)
    browser.find_element(By.CSS_SELECTOR, "header nav a[href='/console/followups']").click()
    wait_for_css(browser, "#followup-202611240201")
    row = browser.find_element(By.ID, "followup-202611240201")
    row.find_element(By.NAME, "note").send_keys("已联系顺丰")
    row.find_element(By.CSS_SELECTOR, "button").click()
    wait_for_css(browser, ".flash.ok")
    assert "202611240201" not in text_of(browser) and len(followups) == 0
    assert followups.get("202611240201").note == "已联系顺丰"


PAGES = ("/console/overview", "/console/inbox", "/console/faqs", "/console/faqs/new",
         "/console/handoffs", "/console/conversations", "/console/pushes", "/console/followups",
         "/console/accounts", "/console/audit")


@pytest.mark.parametrize("width", [375, 1280])
def test_every_page_renders_on_a_phone_and_a_laptop_without_script_errors(browser, live, clock,
                                                                           width):
    """Each admin page, in Chinese and then in English, at a phone's and a laptop's width:
    it renders, nothing makes the page wider than the screen (tables scroll inside their
    box), and the browser logs no error (a CSP that blocked the console's own script would)."""
    live.chat(clock).text(USER, "转人工")
    browser.set_window_size(width, 900)
    try:
        log_in(browser, live, *ADMIN)
        browser.get_log("browser")   # drop what logging in printed
        for lang, marker in (("zh", "退出"), ("en", "Log out")):
            browser.get(f"{live.url}/console/lang/{lang}")
            for path in PAGES:
                browser.get(live.url + path)
                wait_for_css(browser, "main")
                assert marker in browser.find_element(By.TAG_NAME, "header").text, (lang, path)
                overflow = browser.execute_script(
                    "return document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, (width, path, overflow)
                errors = [e["message"] for e in browser.get_log("browser")
                          if e["level"] == "SEVERE"]
                assert not errors, (path, errors)
    finally:
        browser.set_window_size(1280, 900)
