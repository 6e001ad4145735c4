"""ThreadConnections: the callback's round trips over a connection each thread keeps."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis

from bot.platform.connections import ThreadConnections


@pytest.fixture
def lane(r):
    return ThreadConnections(r)


def _client_id(lane: ThreadConnections) -> int:
    return int(lane.execute(("CLIENT", "ID"))[0])


def test_commands_share_one_round_trip_and_reply_in_order(lane, r):
    replies = lane.execute(("SET", "a", "1", "EX", 60), ("INCR", "a"), ("GET", "a"))
    assert replies == ["OK", 2, "2"]
    assert r.ttl("a") > 0


def test_each_thread_keeps_its_own_connection(lane):
    first = _client_id(lane)
    assert _client_id(lane) == first       # kept between calls
    other = []
    thread = threading.Thread(target=lambda: other.append(_client_id(lane)))
    thread.start()
    thread.join()
    assert other and other[0] != first


def test_a_refused_command_raises_after_every_reply_is_read(lane, r):
    r.set("text", "x")
    with pytest.raises(redis.ResponseError):
        lane.execute(("INCR", "text"), ("SET", "after", "1"))
    assert r.get("after") == "1"           # the command after the error still ran
    assert lane.execute(("GET", "after")) == ["1"]   # and the connection is in step


def test_a_pipeline_runs_over_the_thread_connection(lane, r):
    pipe = r.pipeline(transaction=False)
    pipe.set("p", "1")
    pipe.delete("q")
    assert lane.execute_pipeline(pipe) == ["OK", 0]
    assert r.get("p") == "1"
    assert not pipe.command_stack          # emptied, as after execute()


def test_script_missing_from_the_server_is_loaded(lane, r):
    # A script this server has never seen (a fresh comment makes a fresh SHA).
    script = r.register_script(f"-- {uuid.uuid4()}\nreturn redis.call('INCR', KEYS[1])")
    assert lane.run_script(script, ["n"], []) == 1
    assert lane.run_script(script, ["n"], []) == 2


def test_connection_closed_by_the_server_is_replaced_after_idling(lane, r):
    killed = _client_id(lane)
    r.client_kill_filter(_id=killed)
    lane.IDLE_CHECK = 0.0                  # idle long enough: checked before use
    assert lane.execute(("PING",)) == ["PONG"]
    assert _client_id(lane) != killed


def test_connection_that_fails_is_replaced_on_next_use(lane, r):
    lane.IDLE_CHECK = 3600.0               # never checked: the failure surfaces once
    killed = _client_id(lane)
    r.client_kill_filter(_id=killed)
    with pytest.raises(redis.ConnectionError):
        lane.execute(("PING",))
    assert lane.execute(("PING",)) == ["PONG"]
    assert _client_id(lane) != killed
