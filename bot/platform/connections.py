"""A Redis connection per thread, kept between calls: the WeChat callback's round trips."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import redis


class ThreadConnections:
    """One Redis connection per thread, kept between calls, for the WeChat callback's round
    trips (the claim and the reply store).

    redis-py's client checks a connection out of its pool for every command and polls the
    socket to see it is still fresh: ~40 µs of CPU per round trip on the 2-core VM, more than
    the rest of the round trip's client work. A thread keeping its own connection skips both.
    A connection idle for IDLE_CHECK seconds is polled as the pool would; one that fails is
    dropped and opened again on its next use. Replies come back as Redis sends them (decoded
    as the client is configured; no response callbacks), as from a script.
    """

    IDLE_CHECK = 1.0

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        pool = client.connection_pool
        self._connection_class = pool.connection_class
        self._connection_kwargs = pool.connection_kwargs
        self._local = threading.local()

    def execute(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Send `commands` in one round trip; their replies, in order. A command Redis refused
        raises its ResponseError once every reply is read (the connection stays usable)."""
        conn = self._connection()
        try:
            conn.send_packed_command(conn.pack_commands(commands))
            replies = []
            error = None
            for _ in commands:
                try:
                    replies.append(conn.read_response())
                except redis.ResponseError as exc:
                    error = error or exc
                    replies.append(exc)
        except BaseException:
            # Half a conversation (a timeout, a dead server, an interrupt) leaves replies
            # unread on the socket: the next use starts over on a new one.
            conn.disconnect()
            raise
        self._local.used_at = time.monotonic()
        if error is not None:
            raise error
        return replies

    def execute_pipeline(self, pipe: redis.client.Pipeline) -> list[Any]:
        """The commands queued on a (non-transactional) redis-py pipeline, in one round trip
        over this thread's connection; the pipeline is emptied."""
        commands = [args for args, _options in pipe.command_stack]
        pipe.reset()
        return self.execute(*commands) if commands else []

    def run_script(self, script: Any, keys: list[Any], args: list[Any]) -> Any:
        """A script registered with `client.register_script`, by its SHA (loaded on a miss)."""
        try:
            return self.execute(("EVALSHA", script.sha, len(keys), *keys, *args))[0]
        except redis.exceptions.NoScriptError:
            script.sha = self.client.script_load(script.script)
            return self.execute(("EVALSHA", script.sha, len(keys), *keys, *args))[0]

    def _connection(self) -> Any:
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            # A forked child must not share its parent's socket.
            conn = self._connection_class(**self._connection_kwargs)
            local.conn, local.pid, local.used_at = conn, os.getpid(), time.monotonic()
        elif time.monotonic() - local.used_at > self.IDLE_CHECK:
            try:
                stale = conn.can_read()   # data or EOF waiting: the server closed it
            except (redis.ConnectionError, OSError):
                stale = True
            if stale:
                conn.disconnect()
        return conn
