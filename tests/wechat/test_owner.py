"""Who answered a message is the process that did, even when the bot was imported before a fork
(gunicorn's master imports it to start the embedded Redis or the metrics server)."""

from __future__ import annotations

import os

from bot.wechat import coordinator


def test_a_forked_worker_is_its_own_owner():
    parent = coordinator.owner()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: report its owner and leave without running pytest's exit
        os.write(write, coordinator.owner().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 200).decode()
    os.waitpid(pid, 0)
    assert parent.endswith(f":{os.getpid()}")
    assert child.endswith(f":{pid}") and child != parent
