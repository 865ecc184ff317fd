"""`confcall serve`'s config: good files load, every bad value names its file and key."""
import pytest
from click.testing import CliRunner

from confcall.cli import main
from confcall.config import Config, ConfigError, load_config, parse_config

GOOD = """
[database]
url = "sqlite:///var/test.db"
[hardware]
simulated = true
sim_spans = ["E1:pri", "T1"]
[[trunk]]
span = 1
switchtype = "euroisdn_e1"
reject_cause = 17
[[trunk]]
span = 2
switchtype = "ni2"
[numbers]
access = ["95000", "95002"]
service = ["95001"]
caller_id = "95000"
[callback]
delay_s = 3
retries = 4
[prompts]
language = "en"
"""


def test_good_file(tmp_path):
    p = tmp_path / "confcall.toml"
    p.write_text(GOOD)
    cfg = load_config(p)
    assert cfg.simulated and cfg.sim_spans == (("E1", "pri"), ("T1", "pri"))
    assert cfg.trunk_for(1).reject_cause == 17 and cfg.trunk_for(2).switchtype == "ni2"
    assert cfg.access_numbers == ("95000", "95002") and cfg.callback_delay_s == 3.0
    assert cfg.callback_retries == 4 and cfg.language == "en"
    assert cfg.max_participants == Config().max_participants  # untouched defaults


@pytest.mark.parametrize("text, key, problem", [
    ("[callbak]\ndelay_s = 1", "callbak", "unknown section"),
    ("[callback]\ndelay = 1", "callback.delay", "unknown key"),
    ("[callback]\ndelay_s = 'soon'", "callback.delay_s", "expected float"),
    ("[callback]\nretries = true", "callback.retries", "expected int"),
    ("[numbers]\naccess = ['95-000']", "numbers.access", "not a dialled number"),
    ("[numbers]\naccess = ['95000']\nservice = ['95000']", "numbers", "both"),
    ("[prompts]\nlanguage = 'fr'", "prompts.language", "zh or en"),
    ("[hardware]\nsim_spans = ['J1']", "hardware.sim_spans", "LINE"),
    ("[[trunk]]\nspan = 1\nswitchtype = 'qsig2'", "trunk[0].switchtype", "allowed"),
    ("[[trunk]]\nspan = 1\nreject_cause = 31", "trunk[0].reject_cause", "16, 17, 21"),
    ("[[trunk]]\nspan = 1\n[[trunk]]\nspan = 1", "trunk[1].span", "twice"),
    ("[[trunk]]\nswitchtype = 'ni2'", "trunk[0].span", "required"),
    ("[access]\nrate_limit = 0", "rate_limit", ">= 1"),
    ("[database]\nurl = 'mysql://x'", "database.url", "sqlite"),
])
def test_bad_values_name_file_and_key(text, key, problem):
    import tomllib
    with pytest.raises(ConfigError) as e:
        parse_config(tomllib.loads(text), "box.toml")
    assert e.value.key == key and problem in str(e.value)
    assert str(e.value).startswith(f"box.toml: {key}: ")


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[numbers\naccess=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_serve_refuses_a_bad_config_before_touching_anything(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[callback]\nretries = -1\n")
    r = CliRunner().invoke(main, ["serve", "--config", str(bad)])
    assert r.exit_code == 1 and "callback_retries: must be >= 0" in r.output
    none = tmp_path / "hw.toml"
    none.write_text("[hardware]\nsimulated = false\n")
    r = CliRunner().invoke(main, ["serve", "--config", str(none)])
    assert r.exit_code == 1 and "span_config" in r.output


def test_box_id_is_validated():
    from confcall.config import ConfigError, parse_config
    assert parse_config({"box": {"id": "bj-01"}}).box_id == "bj-01"
    with pytest.raises(ConfigError, match="box.id"):
        parse_config({"box": {"id": "Beijing 1"}})
