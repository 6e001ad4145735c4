"""A loopback stand-in for WeChat's API servers, for tests, the demo and benchmarks.

It speaks the endpoints the bot uses (stable/plain token, 客服消息, template and subscribe
sends, menu create, user info) with WeChat's error codes, records every call, and injects
faults on request (an errcode, an HTTP status or latency, for the next N calls to a path).
Other processes read the record and inject faults over HTTP under `/_fake/`.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, Response, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

from bot.platform.config import DEMO_DEFAULTS

TOKEN_TTL = 7200
_msgids = itertools.count(int(time.time() * 1000))
# Endpoints under /cgi-bin/ that need an access token, and where each names its user.
API_PATHS = {
    "message/custom/send": "touser",
    "message/template/send": "touser",
    "message/subscribe/bizsend": "touser",
    "menu/create": None,
    "user/info": "openid",
}
ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40013: "invalid appid",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    -1: "system error",
}


@dataclass
class Fault:
    errcode: int | None = None
    http_status: int | None = None
    delay: float = 0.0
    times: int = 1
    openid: str | None = None    # only calls for this user (None: any)


@dataclass
class FakeWeChatState:
    """Tokens, recorded calls, faults and user profiles; thread-safe."""

    appid: str
    secret: str
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expires at
    current: str | None = None
    issued: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Template sends by (openid, client_msg_id) → msgid: WeChat sends one message per id.
    client_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, force: bool, via: str) -> dict[str, Any]:
        with self.lock:
            now = time.time()
            valid = self.current and self.tokens.get(self.current, 0) > now
            if force or not valid:
                # Like WeChat, a new token makes the old one "not latest".
                self.tokens = {}
                self.current = "tok-" + secrets.token_hex(12)
                self.tokens[self.current] = now + TOKEN_TTL
                self.issued.append({"time": now, "via": via, "force": force})
            return {"access_token": self.current,
                    "expires_in": int(self.tokens[self.current] - now)}

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {token: 0.0 for token in self.tokens}

    def check_token(self, token: str | None) -> int:
        with self.lock:
            if not token:
                return 41001
            if token not in self.tokens:
                return 40001
            return 42001 if self.tokens[token] <= time.time() else 0

    def take_fault(self, path: str, openid: str | None = None) -> Fault | None:
        with self.lock:
            queue = self.faults.get(path) or []
            fault = next((f for f in queue if f.openid in (None, openid)), None)
            if fault is None:
                return None
            fault.times -= 1
            if fault.times <= 0:
                queue.remove(fault)
            return Fault(fault.errcode, fault.http_status, fault.delay, 1)

    def once(self, openid: str, client_msg_id: str, msgid: int) -> tuple[int, bool]:
        """(the msgid WeChat answers, whether this is a repeat of an earlier send)."""
        with self.lock:
            key = (openid, client_msg_id)
            if key in self.client_ids:
                return self.client_ids[key], True
            self.client_ids[key] = msgid
            return msgid, False

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append(entry)

    def select(self, path: str | None = None, openid: str | None = None,
               since: float | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                dict(c) for c in self.calls
                if (path is None or c["path"] == path)
                and (openid is None or c.get("openid") == openid)
                and (since is None or c["time"] >= since)
            ]


def _error(errcode: int, status: int = 200) -> Response:
    resp = jsonify({"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")})
    resp.status_code = status
    return resp


def build_fake_app(state: FakeWeChatState) -> Flask:
    """The fake's WSGI app over `state`."""
    app = Flask("fake_wechat")

    @app.post("/cgi-bin/stable_token")
    def stable_token() -> Response:
        body = request.get_json(silent=True) or {}
        if body.get("grant_type") != "client_credential":
            return _error(40002)
        return _credentials(body.get("appid"), body.get("secret"), bool(body.get("force_refresh")),
                            "stable_token")

    @app.get("/cgi-bin/token")
    def token() -> Response:
        args = request.args
        return _credentials(args.get("appid"), args.get("secret"), False, "token")

    def _credentials(appid: str | None, secret: str | None, force: bool, via: str) -> Response:
        fault = state.take_fault(via)
        if fault is not None and (resp := _apply(fault)) is not None:
            return resp
        if appid != state.appid:
            return _error(40013)
        if secret != state.secret:
            return _error(40125)
        return jsonify(state.issue(force, via))

    @app.route("/cgi-bin/<path:path>", methods=["GET", "POST"])
    def api(path: str) -> Response:
        if path not in API_PATHS:
            return _error(40066, 404)
        body = request.get_json(force=True, silent=True) if request.method == "POST" else None
        user_field = API_PATHS[path]
        openid = None
        if user_field:
            openid = (body or {}).get(user_field) or request.args.get(user_field)
        entry = {"time": time.time(), "path": path, "openid": openid, "body": body,
                 "query": {k: v for k, v in request.args.items() if k != "access_token"}}
        fault = state.take_fault(path, openid)
        if fault is not None and (resp := _apply(fault)) is not None:
            state.record({**entry, "result": resp.status_code,
                          "errcode": fault.errcode})
            return resp
        errcode = state.check_token(request.args.get("access_token"))
        msgid = next(_msgids)
        client_id = (body or {}).get("client_msg_id") if path == "message/template/send" else None
        if client_id and not errcode:
            msgid, repeat = state.once(openid or "", str(client_id), msgid)
            entry["repeat"] = repeat
        entry["msgid"] = msgid
        state.record({**entry, "result": errcode})
        if errcode:
            return _error(errcode)
        if path == "user/info":
            profile = {"subscribe": 1, "openid": openid, "nickname": "测试用户",
                       "language": "zh_CN", "subscribe_time": int(time.time())}
            profile.update(state.users.get(openid or "", {}))
            return jsonify(profile)
        extra = {"msgid": msgid} if path.startswith("message/") else {}
        return jsonify({"errcode": 0, "errmsg": "ok", **extra})

    def _apply(fault: Fault) -> Response | None:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.http_status:
            return Response("fault injected", status=fault.http_status)
        if fault.errcode is not None:
            return _error(fault.errcode)
        return None

    # Control endpoints, for processes other than the one running the server.
    @app.get("/_fake/calls")
    def calls() -> Response:
        since = request.args.get("since")
        return jsonify(state.select(request.args.get("path"), request.args.get("openid"),
                                    float(since) if since else None))

    @app.get("/_fake/count")
    def count() -> Response:
        """Messages accepted (errcode 0, not a repeat of a client_msg_id) on a path."""
        path = request.args.get("path")
        with state.lock:
            n = sum(1 for c in state.calls if (path is None or c["path"] == path)
                    and c["result"] == 0 and not c.get("repeat"))
        return jsonify({"count": n})

    @app.post("/_fake/inject")
    def inject() -> Response:
        body = request.get_json(force=True)
        state.faults.setdefault(body["path"], []).append(
            Fault(body.get("errcode"), body.get("http_status"), float(body.get("delay") or 0),
                  int(body.get("times") or 1), body.get("openid")))
        return jsonify({"ok": True})

    @app.post("/_fake/expire")
    def expire() -> Response:
        state.expire_tokens()
        return jsonify({"ok": True})

    @app.get("/_fake/issued")
    def issued() -> Response:
        return jsonify(state.issued)

    @app.post("/_fake/users/<openid>")
    def set_user(openid: str) -> Response:
        state.users[openid] = request.get_json(force=True)
        return jsonify({"ok": True})

    return app


class _QuietControlHandler(WSGIRequestHandler):
    """Logs API calls as usual but not the control endpoints: `python -m bot chat` polls
    `/_fake/calls` twice a second, which would bury the demo's log. (Benchmarks serve the fake
    under gunicorn, without this log.)"""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.path.startswith("/_fake/"):
            return
        super().log_request(code, size)


class FakeWeChatServer:
    """The fake on a loopback port, served from a background thread."""

    def __init__(self, port: int = 0, appid: str = DEMO_DEFAULTS["wechat_appid"],
                 secret: str = DEMO_DEFAULTS["wechat_secret"], host: str = "127.0.0.1") -> None:
        self.state = FakeWeChatState(appid, secret)
        self._server = make_server(host, port, build_fake_app(self.state), threaded=True,
                                   request_handler=_QuietControlHandler)
        self.port = self._server.server_port
        self.root = f"http://{host}:{self.port}/"
        self.url = self.root + "cgi-bin/"   # what WECHAT_API_BASE_URL points at
        self._thread: threading.Thread | None = None

    def start(self) -> FakeWeChatServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-wechat")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    # The same helpers FakeWeChatControl offers, without HTTP.
    def calls(self, path: str | None = None, openid: str | None = None,
              since: float | None = None) -> list[dict[str, Any]]:
        return self.state.select(path, openid, since)

    def inject(self, path: str, errcode: int | None = None, http_status: int | None = None,
               delay: float = 0.0, times: int = 1, openid: str | None = None) -> None:
        with self.state.lock:
            self.state.faults.setdefault(path, []).append(
                Fault(errcode, http_status, delay, times, openid))

    def expire_tokens(self) -> None:
        self.state.expire_tokens()

    @property
    def issued(self) -> list[dict[str, Any]]:
        return list(self.state.issued)

    def set_user(self, openid: str, **profile: Any) -> None:
        self.state.users[openid] = profile


class FakeWeChatControl:
    """Reads a running fake's calls and injects faults from another process."""

    def __init__(self, api_base_url: str, timeout: float = 2.0) -> None:
        base = api_base_url.rstrip("/")
        self.root = base[: -len("/cgi-bin")] if base.endswith("/cgi-bin") else base
        self.timeout = timeout

    def _get(self, endpoint: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        resp = requests.get(f"{self.root}/_fake/{endpoint}", params=query, timeout=self.timeout)
        resp.raise_for_status()
        return resp.json()

    def calls(self, path: str | None = None, openid: str | None = None,
              since: float | None = None) -> list[dict[str, Any]]:
        return self._get("calls", path=path, openid=openid, since=since)

    def issued(self) -> list[dict[str, Any]]:
        return self._get("issued")

    def count(self, path: str | None = None) -> int:
        return int(self._get("count", path=path)["count"])

    def inject(self, path: str, errcode: int | None = None, http_status: int | None = None,
               delay: float = 0.0, times: int = 1, openid: str | None = None) -> None:
        requests.post(f"{self.root}/_fake/inject", timeout=self.timeout, json={
            "path": path, "errcode": errcode, "http_status": http_status, "delay": delay,
            "times": times, "openid": openid}).raise_for_status()

    def expire_tokens(self) -> None:
        requests.post(f"{self.root}/_fake/expire", timeout=self.timeout).raise_for_status()


def wsgi_app() -> Flask:
    """The fake as a WSGI app with the demo credentials, for a server with HTTP keep-alive
    (`gunicorn -k gthread "bot.local.fake_wechat:wsgi_app()"`; the benchmark uses it, since
    werkzeug's server closes every connection and WeChat's servers do not)."""
    return build_fake_app(FakeWeChatState(DEMO_DEFAULTS["wechat_appid"],
                                          DEMO_DEFAULTS["wechat_secret"]))


def serve(port: int, appid: str, secret: str,
          on_ready: Callable[[FakeWeChatServer], None] | None = None) -> None:
    """Run the fake in the foreground (`python -m bot fake-wechat`)."""
    server = FakeWeChatServer(port=port, appid=appid, secret=secret)
    if on_ready:
        on_ready(server)
    print(f"fake WeChat API on {server.url} (appid {appid})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
