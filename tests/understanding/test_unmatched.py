"""Unmatched queries are kept and grouped with their look-alikes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import redis

from bot.understanding.unmatched import UnmatchedStore


def test_identical_and_near_identical_queries_are_counted_together(r):
    store = UnmatchedStore(r)
    a = store.record("怎么改发票抬头", "怎么改发票抬头", "u1", 100, [("faq_invoice", 61.0)])
    b = store.record("怎么改发票抬头", "怎么改发票抬头", "u2", 101)
    c = store.record("怎么改发票抬头啊", "怎么改发票抬头啊", "u3", 102)
    d = store.record("你们老板是谁", "你们老板是谁", "u4", 103)
    assert a == b == c and d != a
    groups = store.groups()
    assert [g["count"] for g in groups] == [3, 1]
    top = groups[0]
    assert top["text"] == "怎么改发票抬头"
    assert {s["openid"] for s in top["samples"]} == {"u1", "u2", "u3"}
    assert top["first_at"] == 100 and top["last_at"] == 102
    assert store.total() == 4


def test_resolve_removes_group(r):
    store = UnmatchedStore(r)
    gid = store.record("会员日是哪天", "会员日是哪天", "u1", 1)
    store.resolve(gid)
    assert store.groups() == [] and store.get(gid) is None


class CountingRedis(redis.Redis):
    """A real client that counts its round trips to the server (a pipeline is one)."""

    trips = 0

    def execute_command(self, *args, **options):  # noqa: ANN002, ANN003, ANN201
        self.trips += 1
        return super().execute_command(*args, **options)

    def pipeline(self, transaction=True, shard_hint=None):  # noqa: ANN001, ANN201
        pipe = super().pipeline(transaction, shard_hint)
        execute = pipe.execute

        def counted(raise_on_error=True):  # noqa: ANN001, ANN202
            self.trips += 1
            return execute(raise_on_error)

        pipe.execute = counted
        return pipe


def test_recording_costs_one_round_trip(r, redis_url):
    client = CountingRedis.from_url(redis_url, decode_responses=True)
    store = UnmatchedStore(client)
    store.record("会员日是哪天", "会员日是哪天", "u0", 1)   # loads this process's copy
    client.trips = 0
    texts = ["会员日是哪天", "会员日是哪天呀", "你们老板是谁", "门店几点开门", "你们老板是谁啊"]
    for n, text in enumerate(texts * 4):
        store.record(text, text, f"u{n}", 10 + n)
    assert client.trips == len(texts) * 4
    assert [g["count"] for g in store.groups()] == [9, 8, 4]
    client.close()


def test_a_group_another_process_just_created_is_joined(r):
    here, there = UnmatchedStore(r), UnmatchedStore(r)
    here.record("先来一条", "先来一条", "u0", 1)   # both processes have their copy now
    there.record("先来一条", "先来一条", "u1", 2)
    first = here.record("怎么改发票抬头", "怎么改发票抬头", "u2", 3)
    # `there` has not reloaded its copy: the script tells it about the new group.
    assert there.record("怎么改发票抬头啊", "怎么改发票抬头啊", "u3", 4) == first
    assert there.record("怎么改发票抬头呀", "怎么改发票抬头呀", "u4", 5) == first
    assert store_counts(here) == {"怎么改发票抬头": 3, "先来一条": 2}


def test_near_identical_first_queries_at_once_start_one_group(r):
    processes = [UnmatchedStore(r) for _ in range(4)]
    for store in processes:
        store.record("先来一条", "先来一条", "u0", 1)
    # Long enough that every two of a round are near-identical, not only each to the first.
    for base in ["会员卡在哪里可以办理", "你们的老板到底是谁", "市中心的门店几点开门",
                 "买了以后可以开发票吗", "有没有学生专属的优惠"]:
        texts = [base, f"{base}呢", f"{base}啊", f"{base}吧"]
        start = threading.Barrier(len(processes))

        def record(pair, start=start):  # noqa: ANN001, ANN202
            store, text = pair
            start.wait()
            return store.record(text, text, "u", 2)

        with ThreadPoolExecutor(len(processes)) as pool:
            groups = set(pool.map(record, zip(processes, texts, strict=True)))
        assert len(groups) == 1


def test_a_resolved_group_is_not_revived_by_a_stale_copy(r):
    here, there = UnmatchedStore(r), UnmatchedStore(r)
    gid = here.record("会员日是哪天", "会员日是哪天", "u1", 1)
    assert there.record("会员日是哪天呀", "会员日是哪天呀", "u2", 2) == gid
    here.resolve(gid)
    again = there.record("会员日是哪天呀", "会员日是哪天呀", "u3", 3)
    assert store_counts(here) == {"会员日是哪天呀": 1}
    assert here.get(again)["text"] == "会员日是哪天呀"


def store_counts(store: UnmatchedStore) -> dict[str, int]:
    return {g["text"]: g["count"] for g in store.groups()}
