"""On-hook rejection: early media, the announcement, clearing with the trunk's cause — and the
switch's proof that CONNECT never crossed the span, so the caller pays nothing."""
import numpy as np
import pytest

from confcall.conference import OnHookPolicy, OnHookRejector
from confcall.dahdi.legs import Cause, LegState, Presentation
from confcall.dsp.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from confcall.sim import SimPhone

from pri_harness import tone

PROMPTS = {"confirmed": 600.0, "no_ani": 900.0, "rate_limited": 1300.0}


def _setup(h, policy=OnHookPolicy()):
    for name, freq in PROMPTS.items():
        h.media.add_sound(name, tone(freq, 1.5))
    requests = []
    rej = OnHookRejector(h.reactor, h.media, policy=policy, on_request=requests.append)
    h.trunk.on_incoming = rej.offer
    return rej, requests


def _dominant_hz(codes: bytes, law: str = "A") -> float:
    x = (alaw_decode if law == "A" else ulaw_decode)(np.frombuffer(codes, np.uint8))
    x = x.astype(np.float64)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * 8000 / len(x))


@pytest.mark.parametrize("cause", [Cause.NORMAL_CLEARING, Cause.USER_BUSY, Cause.CALL_REJECTED])
def test_access_call_rejected_on_hook_with_announcement(pri, cause):
    h = pri(media=True)
    rej, requests = _setup(h, OnHookPolicy(cause=cause))
    phone = h.switch.add_phone(SimPhone("13800138000"))
    rec = h.switch.place_call("13800138000", "95000")
    assert h.run_until(lambda rec=rec: rec.ended, 10)
    # what the switch saw: proceeding, in-band progress, announcement, DISCONNECT(cause)
    names = [m for _, m in rec.messages]
    assert names[:3] == ["SETUP", "CALL PROCEEDING", "PROGRESS(inband)"]
    assert f"DISCONNECT({int(cause)})" in names and "CONNECT" not in names
    assert not rec.connected and rec.cleared_by == "confcall" and rec.cause == cause
    # the caller heard the whole announcement as early media, byte for byte
    prompt = alaw_encode(tone(600.0, 1.5)).tobytes()
    assert prompt in bytes(rec.early_audio)
    assert rec.early_audio == rec.audio
    assert 1.5 <= rec.ended_at - rec.started_at < 2.0
    # the leg reported the numbers exactly, and a callback was requested for the ANI
    leg, verdict = rej.handled[0]
    assert (leg.ani, leg.dnis, leg.presentation) == ("13800138000", "95000",
                                                     Presentation.ALLOWED)
    assert verdict == "confirmed" and not leg.answered and leg.state is LegState.CLEARED
    assert [(r.ani, r.dnis) for r in requests] == [("13800138000", "95000")]
    assert phone.calls == [rec]
    assert h.trunk.free_channels() == 30


def test_withheld_number_is_told_and_not_called_back(pri):
    h = pri(media=True)
    rej, requests = _setup(h)
    for pres in ("restricted", "unavailable"):
        rec = h.switch.place_call("13800138000", "95000", presentation=pres)
        assert h.run_until(lambda rec=rec: rec.ended, 10)
        assert not rec.connected
        assert abs(_dominant_hz(bytes(rec.early_audio[-8000:-800])) - 900) < 20
    assert [v for _, v in rej.handled] == ["no_ani", "no_ani"]
    assert rej.handled[0][0].presentation is Presentation.RESTRICTED
    assert rej.handled[1][0].presentation is Presentation.UNAVAILABLE
    assert requests == []


def test_rate_limit_per_ani_stops_a_callback_storm(pri):
    h = pri(media=True)
    rej, requests = _setup(h, OnHookPolicy(rate_limit=3, rate_window_s=60))
    recs = []
    for _ in range(5):
        recs.append(h.switch.place_call("13800138000", "95000"))
        assert h.run_until(lambda: recs[-1].ended, 10)
    other = h.switch.place_call("13900139000", "95000")
    assert h.run_until(lambda: other.ended, 10)
    assert [v for _, v in rej.handled] == ["confirmed"] * 3 + ["rate_limited"] * 2 + ["confirmed"]
    assert [r.ani for r in requests] == ["13800138000"] * 3 + ["13900139000"]
    assert not any(r.connected for r in recs)
    assert abs(_dominant_hz(bytes(recs[4].early_audio[-8000:-800])) - 1300) < 20
    h.run(61)  # the window slides
    again = h.switch.place_call("13800138000", "95000")
    assert h.run_until(lambda: again.ended, 10)
    assert rej.handled[-1][1] == "confirmed" and len(requests) == 5


def test_caller_hangs_up_during_announcement(pri):
    h = pri(media=True)
    rej, requests = _setup(h)
    rec = h.switch.place_call("13800138000", "95000")
    h.run(0.5)
    h.switch.hangup(rec, 16)
    assert h.run_until(lambda: rec.ended and h.trunk.free_channels() == 30, 5)
    leg = rej.handled[0][0]
    assert leg.kinds()[-2:] == ["failed", "cleared"] and leg.cause == 16
    assert not rec.connected
    assert [r.ani for r in requests] == ["13800138000"]  # they heard "confirmed" start


def test_policy_refuses_causes_a_carrier_would_bill_or_misread():
    with pytest.raises(ValueError, match="reject cause must be one of"):
        OnHookPolicy(cause=31)
    with pytest.raises(ValueError):
        OnHookPolicy(rate_limit=0)


def test_t1_rejection_in_mulaw(pri):
    h = pri("T1", "ni2", media=True)
    rej, requests = _setup(h)
    rec = h.switch.place_call("2125551234", "8005550100")
    assert h.run_until(lambda rec=rec: rec.ended, 10)
    assert not rec.connected and rec.cause == 16
    assert ulaw_encode(tone(600.0, 1.5)).tobytes() in bytes(rec.early_audio)
    assert requests[0].ani == "2125551234"


def test_rate_limiter_forgets_idle_callers():
    from confcall.conference.onhook import AniRateLimiter
    lim = AniRateLimiter(limit=2, window_s=60)
    for i in range(999):
        assert lim.allow(f"1380000{i:04d}", now=0.0)
    assert len(lim) == 999
    assert lim.allow("13900000000", now=61.0)  # the 1000th check sweeps the idle ones
    assert len(lim) == 1
    assert lim.allow("13900000000", now=62.0) and not lim.allow("13900000000", now=63.0)
