"""Console fixtures: the seeded app with an admin and an agent account, and logged-in clients."""

from __future__ import annotations

import re

import pytest

from tests.conftest import START

ADMIN, AGENT = ("boss", "boss-password-1"), ("sam", "agent-password-1")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    return _TOKEN.search(text).group(1)


class ConsoleClient:
    """A Flask test client that logs in and sends forms with the page's CSRF token."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.http = app.test_client()
        self.token = ""

    def get(self, path: str, **kw):  # noqa: ANN003, ANN201
        resp = self.http.get(path, **kw)
        match = _TOKEN.search(resp.get_data(as_text=True))
        if match:
            self.token = match.group(1)
        return resp

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kw):  # noqa: ANN201, ANN003
        data = dict(data or {})
        if csrf:
            if not self.token:
                self.get("/console/login")
            data.setdefault("csrf_token", self.token)
        return self.http.post(path, data=data, **kw)

    def login(self, name: str, password: str, **kw):  # noqa: ANN003, ANN201
        self.get("/console/login")
        resp = self.post("/console/login", {"name": name, "password": password, **kw})
        if resp.status_code == 302:
            self.get("/console/inbox")   # a new session: pick up its CSRF token
        return resp


@pytest.fixture
def console_app(seeded_app):
    console = seeded_app.extensions["console"]
    console.accounts.add(*ADMIN[:1], "admin", ADMIN[1], START)
    console.accounts.add(AGENT[0], "agent", AGENT[1], START)
    return seeded_app


@pytest.fixture
def admin(console_app) -> ConsoleClient:
    c = ConsoleClient(console_app)
    assert c.login(*ADMIN).status_code == 302
    return c


@pytest.fixture
def agent(console_app) -> ConsoleClient:
    c = ConsoleClient(console_app)
    assert c.login(*AGENT).status_code == 302
    return c
