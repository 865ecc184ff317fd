"""One vocabulary from `hw genconf` to `serve`: for every card profile shipped, the span config
genconf writes starts the box as is (on a card simulated to match it), its spans come up with
the switch type and side written, a call is served, and the echo canceller the config names
is the one running — the card's (DAHDI_ECHOCANCEL_PARAMS with taps, ours off) or ours."""
from pathlib import Path

import pytest
from click.testing import CliRunner

from confcall.cli import main
from confcall.daemon import HW_EC_TAPS
from confcall.dsp import g711
from confcall.hw import load_span_config

from box_harness import ACCESS, audio, heard_prompt

PROFILES = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "hw_profiles")
                  .glob("*.toml"))
A = "13800138000"


def _genconf(tmp_path: Path, profile: str, plan: str | None = None) -> Path:
    args = ["hw", "genconf", profile, "-o", str(tmp_path / "system.conf"),
            "--span-config", str(tmp_path / "spans.toml"),
            "--modprobe", str(tmp_path / "modprobe.conf")]
    if plan is not None:
        (tmp_path / "plan.toml").write_text(plan)
        args += ["--plan", str(tmp_path / "plan.toml")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    return tmp_path / "spans.toml"


def _check_echo(bx, spanconf) -> None:
    engine = bx.media.engine
    for trunk in bx.trunks:
        s = spanconf.span(trunk.span.spanno)
        sim = bx.card.span(trunk.span.spanno)
        for ch in trunk.span.bchannels:
            taps = sim.channels[ch.params().chanpos - 1].ec_taps
            ours = bool(engine.echo.enabled[bx.daemon.batch.row_of(ch.channo)])
            if s.echo_canceller == "hw":
                assert (taps, ours) == (HW_EC_TAPS, False), (s.spanno, ch.channo)
            else:
                assert (taps, ours) == (0, s.echo_canceller == "software"), (s.spanno,
                                                                              ch.channo)


def _serve_a_call(bx, switch, law) -> None:
    a = bx.phone(A, answer_after=1.0)
    rec = switch.place_call(A, ACCESS)
    assert bx.run_until(lambda: rec.ended, 10)
    assert heard_prompt(audio(rec, law=law), "confirmed")
    assert bx.run_until(lambda: bool(a.calls) and a.calls[-1].connected, 15)  # the callback


@pytest.mark.parametrize("profile", PROFILES)
def test_generated_span_config_serves_as_is(box, tmp_path, profile):
    path = _genconf(tmp_path, profile)
    spanconf = load_span_config(path)
    bx = box(span_config=str(path), echo_canceller=True)
    assert [t.span.spanno for t in bx.trunks] == [s.spanno for s in spanconf.spans]
    for trunk in bx.trunks:
        s = spanconf.span(trunk.span.spanno)
        assert trunk.up and trunk.link.switchtype == s.switchtype
        assert trunk.link.network is (s.signaling == "pri_net")
        assert len(trunk.span.bchannels) == len(s.channels)
    _check_echo(bx, spanconf)
    bx.account(A)
    last = spanconf.spans[-1]
    _serve_a_call(bx, bx.switches[-1], g711.LAW_ALAW if last.line == "E1" else g711.LAW_ULAW)


def test_network_side_and_per_span_echo_cancellers(box, tmp_path):
    plan = """profile = "te205p"
[[span]]
span = 1
side = "net"
echo_canceller = "hw"
timing = 0
[[span]]
span = 2
echo_canceller = "software"
timing = 1
"""
    path = _genconf(tmp_path, "te205p", plan)
    text = path.read_text()
    assert 'signaling = "pri_net"' in text and 'switchtype = "euroisdn_e1"' in text
    spanconf = load_span_config(path)
    bx = box(span_config=str(path), echo_canceller=True)
    assert bx.trunks[0].link.network is True and bx.trunks[1].link.network is False
    assert bx.switches[0].link.network is False  # the far end is the CPE on span 1
    _check_echo(bx, spanconf)
    bx.account(A)
    _serve_a_call(bx, bx.switches[0], g711.LAW_ALAW)  # a call in over the network side
