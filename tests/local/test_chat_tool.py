"""The chat tool and the demo's terminal: a clear word when the demo is down, any text typed
arrives as typed, and the tool's polling stays out of the demo's log."""

from __future__ import annotations

import json
import logging
import socket

import requests

from bot.local.chat import run_chat
from bot.local.fake_wechat import FakeWeChatServer
from tests.conftest import simulator_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chat_with_the_demo_down_says_how_to_start_it(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("builtins.input", lambda prompt="": "你好")
    code = run_chat(f"http://127.0.0.1:{_free_port()}")
    out = capsys.readouterr()
    assert code == 1
    assert "python -m bot demo" in out.out and "Traceback" not in out.out + out.err


def test_text_with_a_cdata_end_arrives_as_typed(app, clock, r):
    sim = simulator_for(app, clock)
    answer = sim.send_text("oCdata", "a]]>b <x> & ]]>")
    assert answer.status == 200
    turn = json.loads(r.lrange("chat:oCdata:turns", 0, 0)[0])
    assert turn["in"] == "a]]>b <x> & ]]>"


def test_control_calls_stay_out_of_the_log_and_api_calls_do_not(caplog):
    server = FakeWeChatServer(port=0).start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            requests.get(f"{server.root}_fake/calls", timeout=5)
            requests.get(f"{server.url}token?grant_type=client_credential", timeout=5)
    finally:
        server.stop()
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "werkzeug"]
    assert not any("/_fake/calls" in line for line in lines)
    assert any("/cgi-bin/token" in line for line in lines)
