"""docs/configuration.md is generated from config.py and must match it: a new config key
fails here until it is explained in config.py's docstring and the page is regenerated
(`python -m confcall.configref > docs/configuration.md`)."""
from pathlib import Path

import pytest

from confcall import config as cfgmod
from confcall.configref import render

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_page_is_the_generators_output():
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "docs/configuration.md is stale: run `python -m confcall.configref > "
        "docs/configuration.md`")


def test_every_key_the_parser_accepts_is_on_the_page():
    page = PAGE.read_text(encoding="utf-8")
    for section, keys in cfgmod._SECTIONS.items():
        assert f"## `[{section}]`" in page
        for key in keys:
            assert f"| `{key}` |" in page, f"[{section}] {key}"


def test_an_unexplained_key_stops_the_generator(monkeypatch):
    monkeypatch.setitem(cfgmod._SECTIONS, "metrics",
                        {**cfgmod._SECTIONS["metrics"], "path": ("metrics_path", str)})
    with pytest.raises(SystemExit, match=r"\[metrics\] path"):
        render()
