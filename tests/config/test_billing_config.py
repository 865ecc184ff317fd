"""The billing hand-off's config: [[radius]] servers with their secrets, [accounting], [cdr];
every bad value refused with the file and the key named."""
import pytest

from confcall.config import ConfigError, load_config, parse_config

GOOD = """
[[radius]]
host = "127.0.0.1"
port = 18130
secret_file = "{secret}"
[[radius]]
host = "billing-2.example.net"
secret = "inline secret"
[accounting]
interim_s = 30
retries = 2
dead_time_s = 10
[cdr]
directory = "/var/spool/confcall/cdr"
rotate_minutes = 5
rotate_records = 2000
"""


def test_good_file(tmp_path):
    secret = tmp_path / "radius.secret"
    secret.write_text("from-a-file\n")
    p = tmp_path / "confcall.toml"
    p.write_text(GOOD.format(secret=secret))
    cfg = load_config(p)
    a, b = cfg.radius_servers
    assert (a.host, a.port, a.secret) == ("127.0.0.1", 18130, "from-a-file")
    assert (b.name, b.secret) == ("billing-2.example.net:1813", "inline secret")
    assert "from-a-file" not in repr(a)  # never in logs
    assert (cfg.acct_interim_s, cfg.acct_retries, cfg.acct_dead_time_s) == (30.0, 2, 10.0)
    assert (cfg.cdr_directory, cfg.cdr_rotate_minutes, cfg.cdr_rotate_records) == \
        ("/var/spool/confcall/cdr", 5.0, 2000)


def test_defaults_send_nothing():
    cfg = parse_config({})
    assert cfg.radius_servers == () and cfg.cdr_directory == "" and cfg.acct_interim_s == 60


@pytest.mark.parametrize("data, key, words", [
    ({"radius": {"host": "x"}}, "radius", "use [[radius]] tables"),
    ({"radius": [{"port": 1813, "secret": "s"}]}, "radius[0].host", "host name or IP"),
    ({"radius": [{"host": "a", "port": 70000, "secret": "s"}]}, "radius[0].port", "1-65535"),
    ({"radius": [{"host": "a"}]}, "radius[0].secret", "exactly one of secret, secret_file"),
    ({"radius": [{"host": "a", "secret": "s", "secret_file": "/x"}]}, "radius[0].secret",
     "exactly one"),
    ({"radius": [{"host": "a", "secret_file": "/nonexistent/secret"}]},
     "radius[0].secret_file", "No such file"),
    ({"radius": [{"host": "a", "secret": ""}]}, "radius[0].secret", "1-128 bytes"),
    ({"radius": [{"host": "a", "secret": "s", "timeout": 3}]}, "radius[0].timeout",
     "unknown key"),
    ({"radius": [{"host": "a", "secret": "s"}, {"host": "a", "secret": "t"}]},
     "radius[1].host", "listed twice"),
    ({"accounting": {"interim_s": 0}}, "accounting.interim_s", "outside 1.0..86400.0"),
    ({"accounting": {"window": 300}}, "accounting.window", "outside 1..256"),
    ({"accounting": {"timeout_s": 5, "max_timeout_s": 2}}, "accounting.max_timeout_s",
     ">= accounting.timeout_s"),
    ({"accounting": {"dictionary": "/nonexistent/dictionary"}}, "accounting.dictionary",
     "no such file"),
    ({"accounting": {"retries": "3"}}, "accounting.retries", "expected int"),
    ({"cdr": {"rotate_records": 0}}, "cdr.rotate_records", "outside 1..10000000"),
    ({"cdr": {"rotate_every": 5}}, "cdr.rotate_every", "unknown key"),
])
def test_bad_values_name_the_key(data, key, words):
    with pytest.raises(ConfigError) as e:
        parse_config(data, "box.toml")
    assert e.value.key == key and words in e.value.problem, str(e.value)
    assert str(e.value).startswith(f"box.toml: {key}: ")
