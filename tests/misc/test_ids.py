"""Identifiers: box id + ULID, unique across boxes, sortable, validated."""
import pytest

from confcall import ids


def test_refs_carry_the_box_and_sort_by_time():
    ids.set_box_id("bj-01")
    refs = [ids.new_ref("conf") for _ in range(2000)]
    assert all(r.startswith("bj-01-conf-") and len(r) == len("bj-01-conf-") + 26 for r in refs)
    assert len(set(refs)) == 2000
    assert refs == sorted(refs)  # a burst within one millisecond still sorts in order


def test_ulid_time_prefix_orders_across_milliseconds(monkeypatch):
    monkeypatch.setattr(ids, "_last_ms", -1)  # restored afterwards: later refs use real time
    future = 4_000_000_000_000
    a = ids.new_ulid(now_ms=future)
    b = ids.new_ulid(now_ms=future + 1)
    assert a < b and a[:10] != b[:10]


@pytest.mark.parametrize("bad", ["", "Box1", "a b", "x" * 33, "-lead", "框"])
def test_bad_box_ids_are_refused(bad):
    with pytest.raises(ValueError, match="box id"):
        ids.set_box_id(bad)


def test_random_parts_are_never_reused_across_pool_refills(monkeypatch):
    """The random parts are read from the kernel in batches: each is used once, also past
    a refill (more milliseconds than one batch holds)."""
    monkeypatch.setattr(ids, "_last_ms", -1)
    base = 4_100_000_000_000
    rands = [ids.new_ulid(now_ms=base + i)[10:] for i in range(3 * ids._POOL_ULIDS + 7)]
    assert len(set(rands)) == len(rands)


def test_a_forked_child_does_not_repeat_the_parents_random_parts(monkeypatch):
    import os

    monkeypatch.setattr(ids, "_last_ms", -1)
    ids.new_ulid(now_ms=4_200_000_000_000)  # the pool now holds unread bytes
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ULID, then out at once
        os.write(write, ids.new_ulid(now_ms=4_200_000_000_001).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    mine = ids.new_ulid(now_ms=4_200_000_000_001)
    assert len(child) == 26 and child[10:] != mine[10:]
