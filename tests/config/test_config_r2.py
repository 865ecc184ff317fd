"""The MFC/R2 keys of [[trunk]] and the span kinds confcall runs: what loads, what is refused
(with the file, the key and the rule), and robbed-bit T1 CAS refused everywhere it can be
asked for (config, `span status --sim`, the simulator) with the same clear reason."""
import pytest
from click.testing import CliRunner

from confcall.cli import main
from confcall.config import ConfigError, parse_config
from confcall.daemon import Daemon
from confcall.sim import SimCard


def test_r2_trunk_keys_load():
    cfg = parse_config({"hardware": {"simulated": True, "sim_spans": ["E1:pri", "E1:cas"]},
                        "trunk": [{"span": 1, "switchtype": "euroisdn_e1"},
                                  {"span": 2, "signalling": "r2", "r2_variant": "CN",
                                   "r2_reject": "no_charge", "r2_max_ani": 15,
                                   "r2_answer_timeout_s": 45}]})
    t = cfg.trunk_for(2)
    assert (t.signalling, t.r2_variant, t.r2_reject, t.r2_max_ani) == ("r2", "CN", "no_charge",
                                                                         15)
    assert t.r2_answer_timeout_s == 45.0 and t.r2_keys_given
    assert cfg.trunk_for(1).r2_reject == "busy" and not cfg.trunk_for(1).r2_keys_given


@pytest.mark.parametrize("trunk, key, problem", [
    ({"r2_reject": "free"}, "trunk[0].r2_reject", "busy, unallocated, no_charge"),
    ({"r2_variant": "XX"}, "trunk[0].r2_variant", "allowed: CN"),
    ({"r2_max_ani": 0}, "trunk[0].r2_max_ani", "1..79"),
    ({"r2_answer_timeout_s": 1}, "trunk[0].r2_answer_timeout_s", "5..600"),
    ({"r2_category": "vip"}, "trunk[0].r2_category", "national_subscriber"),
    ({"signalling": "cas"}, "trunk[0].signalling", "pri, r2"),
    ({"signalling": "pri", "r2_reject": "busy"}, "trunk[0].r2_reject", "signalling is pri"),
    ({"signalling": "r2", "reject_cause": 17}, "trunk[0].reject_cause", "signalling is r2"),
])
def test_bad_r2_keys_name_the_key_and_the_rule(trunk, key, problem):
    with pytest.raises(ConfigError) as e:
        parse_config({"trunk": [{"span": 1, **trunk}]}, "box.toml")
    assert e.value.key == key and problem in e.value.problem and str(e.value).startswith("box")


def test_robbed_bit_t1_cas_is_refused_with_a_reason():
    with pytest.raises(ConfigError, match="robbed-bit T1 CAS"):
        parse_config({"hardware": {"sim_spans": ["E1:pri", "T1:cas"]}})
    r = CliRunner().invoke(main, ["span", "status", "--sim", "E1:pri,T1:cas"])
    assert r.exit_code == 2 and "robbed-bit T1 CAS" in r.output and "Traceback" not in r.output
    assert "use T1:pri or E1:cas" in r.output
    with pytest.raises(ValueError, match="robbed-bit T1 CAS"):
        SimCard([("T1", "cas")])


def test_a_trunk_entry_must_match_the_span_it_names():
    from twisted.internet.task import Clock
    card = SimCard([("E1", "pri"), ("E1", "cas")])
    cfg = parse_config({"hardware": {"simulated": True, "sim_spans": ["E1:pri", "E1:cas"]},
                        "trunk": [{"span": 2, "signalling": "pri"}]})
    with pytest.raises(RuntimeError, match="span 2 is configured for r2"):
        Daemon(cfg, Clock(), card=card)._span_plans()
    cfg = parse_config({"trunk": [{"span": 1, "r2_reject": "no_charge"}]})
    with pytest.raises(RuntimeError, match="r2_\\* keys, but span 1 is PRI"):
        Daemon(cfg, Clock(), card=card)._span_plans()
    plans = Daemon(parse_config({}), Clock(), card=card)._span_plans()
    assert [(p.spanno, p.signalling, len(p.channels)) for p in plans] == [(1, "pri", 31),
                                                                          (2, "r2", 30)]


def test_spans_from_the_generated_span_config(tmp_path):
    """A real box: the span config `confcall hw genconf` writes says which spans are R2."""
    from twisted.internet.task import Clock
    conf = tmp_path / "spans.toml"
    conf.write_text('profile = "te420"\n'
                    '[[span]]\nspanno = 1\nline = "E1"\nsignaling = "pri_cpe"\n'
                    'switchtype = "euroisdn"\nchannels = "1-15,17-31"\ndchannel = 16\n'
                    '[[span]]\nspanno = 2\nline = "E1"\nsignaling = "mfcr2"\nr2_variant = "ITU"\n'
                    'channels = "32-46,48-62"\n')
    cfg = parse_config({"hardware": {"span_config": str(conf)},
                        "trunk": [{"span": 1}, {"span": 2, "r2_reject": "unallocated"}]})
    plans = Daemon(cfg, Clock())._span_plans()
    assert [(p.spanno, p.signalling, len(p.channels)) for p in plans] == [(1, "pri", 31),
                                                                          (2, "r2", 30)]
    assert plans[1].r2_variant == "ITU"  # the span config's, as no [[trunk]] overrides it
