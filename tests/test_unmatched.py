"""Unmatched queries are kept and grouped with their look-alikes."""

from __future__ import annotations

from bot.unmatched import UnmatchedStore


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
