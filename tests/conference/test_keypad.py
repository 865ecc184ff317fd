"""The keypad grammar, fed whole, in pieces and one key at a time."""
import pytest

from confcall.conference.keypad import (BadEntry, Cancel, Drop, FinishInviting, Invite, Keypad,
                                        KeyState, ListMembers, StartEntry, ToggleMusic)


def run(keys: str, kp: Keypad | None = None):
    kp = kp or Keypad()
    out = []
    for k in keys:
        out += kp.feed(k)
    return kp, out


def test_setup_round_b_star_c_then_pause_finishes():
    kp, out = run("13800138001#*13800138002#")
    assert out == [Invite("13800138001"), Invite("13800138002")]
    assert kp.inviting and kp.state is KeyState.AFTER_INVITE
    assert kp.timeout_s == 6.0
    assert kp.timeout() == [FinishInviting()]
    assert not kp.inviting and kp.state is KeyState.IDLE and kp.timeout_s is None


def test_setup_round_numbers_back_to_back_and_hash_to_finish():
    kp, out = run("111#222##")
    assert out == [Invite("111"), Invite("222"), FinishInviting()]


def test_setup_round_nothing_typed_reprompts_not_finishes():
    kp = Keypad()
    assert kp.timeout() == [Cancel("timeout")]
    assert kp.state is KeyState.NUMBER and kp.inviting
    assert run("#", kp)[1] == [Cancel("key")]


def test_in_call_invite_drop_cancel_list_music():
    kp, _ = run("1#")
    kp.timeout()
    _, out = run("*555#", kp)
    assert out == [StartEntry(), Invite("555")] and kp.inviting
    _, out = run("#", kp)
    assert out == [FinishInviting()] and not kp.inviting
    _, out = run("**2#", kp)
    assert out == [StartEntry(), Drop(2)] and not kp.inviting and kp.state is KeyState.IDLE
    _, out = run("*13*#", kp)
    assert out == [StartEntry(), Cancel("key")] and not kp.inviting
    _, out = run("*#", kp)
    assert out == [StartEntry(), Cancel("key")]
    _, out = run("0", kp)
    assert out == [ListMembers()]
    _, out = run("9", kp)
    assert out == [ToggleMusic()]
    _, out = run("12345", kp)
    assert out == []  # lone digits in the conversation do nothing


def test_star_mid_number_starts_over():
    kp, _ = run("1#")
    kp.timeout()
    _, out = run("*138*139#", kp)
    assert out == [StartEntry(), Invite("139")]


def test_entry_timeout_in_call_cancels_and_stops_music():
    kp, _ = run("1#")
    kp.timeout()
    run("*13", kp)
    assert kp.inviting and kp.timeout_s == 10.0
    assert kp.timeout() == [Cancel("timeout")]
    assert not kp.inviting and kp.state is KeyState.IDLE


def test_too_long_entries_and_bad_keys():
    kp, out = run("1" * 25)
    assert out == [BadEntry("too_long")] and kp.state is KeyState.NUMBER
    kp, _ = run("1#")
    kp.timeout()
    _, out = run("**1234", kp)
    assert out[-1] == BadEntry("too_long")
    with pytest.raises(ValueError):
        kp.feed("x")
    assert kp.feed("A") == []


@pytest.mark.parametrize("chunks", [["13800138001#*13800138002##"],
                                    ["138", "00138001", "#*", "138001", "38002#", "#"]])
def test_chunking_does_not_matter(chunks):
    kp = Keypad()
    out = []
    for c in chunks:
        out += run(c, kp)[1]
    assert out == [Invite("13800138001"), Invite("13800138002"), FinishInviting()]
