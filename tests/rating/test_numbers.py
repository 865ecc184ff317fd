"""Classification of Chinese numbers relative to the payer's home area, on both engines."""
import pytest

from confcall.rating import MoneyError
from confcall.rating.areas import build_area_table, lookup_area, set_area
from confcall.rating.numbers import classify, classify_dialled, normalize
from confcall.store.models import NumberRule

BEIJING, SHANGHAI = "10", "21"


@pytest.mark.parametrize("dialled,home,cls,area", [
    ("88887777", BEIJING, "local", "10"),                        # Beijing fixed, local dialling
    ("010 8888 7777", BEIJING, "local", "10"),
    ("+86 10 8888 7777", BEIJING, "local", "10"),
    ("021-8888-7777", BEIJING, "long_distance", "21"),            # Shanghai fixed from Beijing
    ("88887777", SHANGHAI, "local", "21"),                        # same digits, Shanghai payer
    ("010 8888 7777", SHANGHAI, "long_distance", "10"),
    ("0755 2888 7777", BEIJING, "long_distance", "755"),          # Shenzhen fixed
    ("13800138000", BEIJING, "mobile_local", "10"),               # Beijing mobile block
    ("13800138000", SHANGHAI, "mobile_long_distance", "10"),
    ("13912345678", BEIJING, "mobile_long_distance", "519"),      # Changzhou, Jiangsu
    ("13912345678", "519", "mobile_local", "519"),
    ("15012345678", BEIJING, "mobile_long_distance", "870"),      # Zhaotong, Yunnan
    ("4008123456", BEIJING, "free", None),
    ("800 123 4567", BEIJING, "free", None),
    ("110", BEIJING, "blocked", None),
    ("119", SHANGHAI, "blocked", None),
    ("120", BEIJING, "blocked", None),
    ("+1 212 555 0123", BEIJING, "international", None),
    ("00 44 20 7946 0018", BEIJING, "international", None),
])
def test_classification(store, dialled, home, cls, area):
    with store.transaction() as s:
        c = classify_dialled(s, dialled, home)
    assert (c.cls, c.area) == (cls, area)


def test_unknown_mobile_area_is_long_distance_and_reported(store):
    with store.transaction() as s:
        c = classify_dialled(s, "19912345678", BEIJING)  # 19x: phonenumbers has no city
    assert c.cls == "mobile_long_distance" and not c.area_known
    assert "unknown" in c.reason


def test_operator_edits_win(store):
    with store.transaction() as s:
        set_area(s, "1991234", "10", "operator: Beijing block")
        s.add(NumberRule(prefix="1068", action="block", reason="premium SMS gateway"))
        s.add(NumberRule(prefix="1099", action="free", reason="our own service line"))
    with store.transaction() as s:
        assert classify_dialled(s, "19912345678", BEIJING).cls == "mobile_local"
        blocked = classify_dialled(s, "010 6812 3456", BEIJING)
        assert blocked.cls == "blocked" and blocked.reason == "premium SMS gateway"
        assert classify_dialled(s, "010 9912 3456", SHANGHAI).cls == "free"
        # emergency numbers stay blocked whatever the rules say
        assert classify(s, "110", BEIJING).cls == "blocked"


@pytest.mark.parametrize("bad,reason", [
    ("", "empty"), ("12a45678", "only digits"), ("1380013800", "wrong length"),
    ("+86 10 1", "no such number range"), ("+999 1234", "unknown country code"),
    ("0" * 20, "too long"), ("8888 7777 #", "only digits"),
])
def test_malformed_numbers(store, bad, reason):
    with pytest.raises(MoneyError) as err:
        normalize(bad, BEIJING)
    assert err.value.key == "number.malformed"
    assert reason in str(err.value).lower()


def test_malformed_message_is_specific():
    with pytest.raises(MoneyError, match="wrong length for a Chinese number"):
        normalize("1380013800", BEIJING)
    with pytest.raises(MoneyError, match="needs the caller's area code"):
        normalize("88887777", None)


def test_area_table_seeded_from_phonenumbers(store):
    table = build_area_table()
    assert table["10"][0] == "10" and table["21"][0] == "21"
    assert not any(p.startswith("199") for p in table)  # no city for 19x: not seeded
    with store.transaction() as s:
        assert lookup_area(s, "1088887777") == "10"
        assert lookup_area(s, "13800138000") == "10"
        assert lookup_area(s, "2188887777") == "21"
        assert lookup_area(s, "19912345678") is None
