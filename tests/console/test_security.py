"""The console's security rules through Flask's test client: login, throttle, redirects, CSRF,
roles on every route, sessions of deleted accounts, headers, escaping and the audit log."""

from __future__ import annotations

import pytest

from bot.console.security import ROLE_ATTR
from tests.conftest import START, simulator_for
from tests.console.conftest import ADMIN, AGENT, ConsoleClient


def test_login_error_does_not_say_whether_the_name_exists(console_app):
    c = ConsoleClient(console_app)
    known = c.login(ADMIN[0], "wrong-password-1")
    unknown = c.login("nobody-here", "wrong-password-1")
    assert known.status_code == unknown.status_code == 401
    strip = lambda resp, name: resp.get_data(as_text=True).replace(name, "NAME")  # noqa: E731
    body_known, body_unknown = strip(known, ADMIN[0]), strip(unknown, "nobody-here")
    # Only the CSRF token differs between the two pages.
    token = 'name="csrf_token" value="'
    cut = lambda body: body.split(token)[0] + body.split(token)[1].split('"', 1)[1]  # noqa: E731
    assert cut(body_known) == cut(body_unknown)
    assert "账号或密码不对" in body_known


def test_login_is_throttled_per_account_even_with_the_right_password(console_app):
    c = ConsoleClient(console_app)
    for _ in range(5):
        assert c.login(AGENT[0], "wrong-password-1").status_code == 401
    assert c.login(*AGENT).status_code == 429
    # Another account from the same address is not locked out by these five.
    assert ConsoleClient(console_app).login(*ADMIN).status_code == 302


def test_login_is_throttled_per_address_across_names(console_app):
    c = ConsoleClient(console_app)
    for i in range(20):
        c.login(f"guess{i}", "wrong-password-1")
    assert c.login(*ADMIN).status_code == 429


@pytest.mark.parametrize("target", [
    "https://evil.example/console", "//evil.example/console", "/\\evil.example",
    "javascript:alert(1)", "/wechat", "http:/console",
])
def test_no_open_redirect_after_login(console_app, target):
    c = ConsoleClient(console_app)
    resp = c.login(*ADMIN, next=target)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/console/"


def test_login_returns_to_the_console_page_asked_for(console_app):
    c = ConsoleClient(console_app)
    first = c.get("/console/faqs?q=x")
    assert first.status_code == 302 and "/console/login?next=" in first.headers["Location"]
    resp = c.login(*ADMIN, next="/console/faqs?q=x")
    assert resp.headers["Location"] == "/console/faqs?q=x"


def test_forms_without_or_with_a_foreign_csrf_token_are_refused(console_app, admin):
    before = console_app.extensions["bot"].intents.get("faq_refund")
    form = {"creating": "1", "id": "faq_x", "question": "q", "answer": "a", "action": "save"}
    assert admin.post("/console/faqs/save", form, csrf=False).status_code == 400
    other = ConsoleClient(console_app)
    other.login(*ADMIN)
    assert admin.post("/console/faqs/save", {**form, "csrf_token": other.token + "x"}
                      ).status_code == 400
    assert console_app.extensions["bot"].intents.get("faq_x") is None
    assert console_app.extensions["bot"].intents.get("faq_refund") == before
    # The login form is protected too (login CSRF).
    fresh = ConsoleClient(console_app)
    assert fresh.post("/console/login", {"name": ADMIN[0], "password": ADMIN[1]},
                      csrf=False).status_code == 400


ADMIN_ONLY = [
    ("GET", "/console/overview"), ("GET", "/console/faqs"), ("GET", "/console/faqs/new"),
    ("GET", "/console/faqs/faq_refund"), ("GET", "/console/faqs/export"),
    ("POST", "/console/faqs/save"), ("POST", "/console/faqs/faq_refund/delete"),
    ("POST", "/console/faqs/import"), ("GET", "/console/accounts"),
    ("POST", "/console/accounts/add"), ("POST", "/console/accounts/boss/delete"),
    ("GET", "/console/audit"), ("GET", "/console/pushes"), ("GET", "/console/pushes/export.csv"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
def test_an_agent_cannot_reach_admin_routes_by_url(agent, method, path):
    resp = agent.get(path) if method == "GET" else agent.post(
        path, {"name": "sam", "role": "admin", "password": "x" * 12})
    assert resp.status_code == 403


def test_an_agent_cannot_make_themself_admin(console_app, agent):
    agent.post("/console/accounts/add", {"name": "sam", "role": "admin", "password": "x" * 12})
    assert console_app.extensions["console"].accounts.get("sam").role == "agent"


AGENT_PAGES = ["/console/inbox", "/console/handoffs", "/console/conversations",
               "/console/conversations/oSomeone"]


@pytest.mark.parametrize("path", AGENT_PAGES)
def test_agent_pages_need_a_login(console_app, agent, path):
    anonymous = ConsoleClient(console_app)
    resp = anonymous.get(path)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/console/login")
    assert agent.get(path).status_code == 200


def test_every_console_route_declares_a_role(console_app):
    endpoints = [rule.endpoint for rule in console_app.url_map.iter_rules()
                 if rule.endpoint.startswith("console.") and rule.endpoint != "console.static"]
    assert len(endpoints) > 15
    missing = [e for e in endpoints
               if getattr(console_app.view_functions[e], ROLE_ATTR, None) is None]
    assert missing == []


def test_writes_without_a_session_are_refused(console_app):
    anonymous = ConsoleClient(console_app)
    assert anonymous.post("/console/inbox/abc/dismiss").status_code == 401


def test_a_deleted_accounts_stolen_cookie_stops_working(console_app, admin, agent):
    stolen = agent.http.get_cookie("console_session", path="/console").value
    thief = console_app.test_client()
    thief.set_cookie("console_session", stolen, path="/console")
    assert thief.get("/console/inbox").status_code == 200
    admin.get("/console/accounts")
    assert admin.post("/console/accounts/sam/delete").status_code == 302
    assert thief.get("/console/inbox").status_code == 302
    # Re-creating the name does not revive old cookies.
    console_app.extensions["console"].accounts.add("sam", "agent", AGENT[1], START)
    thief.set_cookie("console_session", stolen, path="/console")
    assert thief.get("/console/inbox").status_code == 302


def test_logout_ends_the_session(agent):
    agent.get("/console/inbox")
    assert agent.post("/console/logout").status_code == 302
    assert agent.get("/console/inbox").status_code == 302


def test_headers_and_cookie_flags(console_app, admin):
    resp = admin.get("/console/inbox")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Cache-Control"] == "no-store"
    c = ConsoleClient(console_app)
    c.get("/console/login")
    login = c.post("/console/login", {"name": ADMIN[0], "password": ADMIN[1]})
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie   # plain http here; see the https test


def test_cookie_is_secure_behind_https(make_app):
    app = make_app(public_base_url="https://shop.example")
    app.extensions["console"].accounts.add("boss", "admin", ADMIN[1], START)
    c = ConsoleClient(app)
    resp = c.login(*ADMIN)
    assert "Secure" in resp.headers["Set-Cookie"]


def test_customer_text_is_escaped_everywhere(console_app, admin, clock):
    chat = simulator_for(console_app, clock)
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)> 蓝色的收音机"
    chat.text("oEvil", evil)
    chat.text("oEvil", "转人工 <script>alert(3)</script>")
    for path in ["/console/inbox", "/console/handoffs", "/console/conversations/oEvil"]:
        html = admin.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert" in html, path


def test_changes_are_in_the_audit_log_with_who_and_when(console_app, admin):
    admin.get("/console/accounts")
    admin.post("/console/accounts/add", {"name": "newbie", "role": "agent",
                                         "password": "newbie-password"})
    html = admin.get("/console/audit").get_data(as_text=True)
    assert "添加账号" in html and "newbie" in html and "boss" in html
    entry = console_app.extensions["console"].audit.latest(1)[0]
    assert entry["who"] == "boss" and entry["action"] == "account_added" and entry["at"]
    assert "password" not in str(entry)


def test_the_last_admin_cannot_be_deleted(console_app, admin):
    admin.get("/console/accounts")
    admin.post("/console/accounts/boss/delete")
    assert console_app.extensions["console"].accounts.get("boss") is not None


def test_english_switch(console_app, agent):
    resp = agent.get("/console/lang/en?next=/console/inbox")
    assert resp.headers["Location"] == "/console/inbox"
    assert "Unmatched" in agent.get("/console/inbox").get_data(as_text=True)
    assert agent.get("/console/lang/en?next=https://evil.example").headers["Location"] \
        == "/console/"
