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
