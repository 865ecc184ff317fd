"""The prefix → area table: seeded from phonenumbers' geodata, then owned by the operator.

Keys are *national* numbers without the trunk 0 (``10`` Beijing, ``21`` Shanghai, ``755``
Shenzhen; mobiles by their 7-digit block, ``1380013``).  Fixed lines map to their own area
code.  phonenumbers gives a mobile block only a city *name*; the city is mapped to an area code
through the names of the fixed-line area codes.  Blocks whose city is unknown (162, 165–167,
171–175, 19x, ...) are not seeded: rating treats an unknown area as long distance and reports
it (``unknown_areas``).  Mobile blocks are compressed: when all ten children of a prefix map to
the same area, the parent prefix is stored instead.

Loading phonenumbers' geodata costs ~100 MB and a second: seeding is an operator action
(``confcall rate seed-areas``), never done on the call path.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from confcall.store.models import AreaPrefix, table_of

__all__ = ["build_area_table", "known_area", "lookup_area", "remove_area", "seed_areas",
           "set_area"]

# Area codes phonenumbers' fixed-line data lacks or names differently (city → code).
_EXTRA_CITIES = {"Kaifeng, Henan": "378", "Zhuzhou, Hunan": "733", "Xiangfan, Hubei": "710"}


_ZH_PROVINCE = re.compile(r"^(?:.+?(?:省|自治区)|内蒙古|广西|新疆|西藏|宁夏)")


def _zh_city_keys(name_zh: str) -> list[str]:
    """'广西壮族自治区南宁市、崇左市' → ['zh:南宁', 'zh:崇左'] (province and 市 dropped)."""
    body = _ZH_PROVINCE.sub("", name_zh)
    return ["zh:" + c.removesuffix("市") for c in body.split("、") if c]


def _city_keys(name_en: str) -> list[str]:
    """'Shenyang/Tieling, Liaoning' → ['Shenyang, Liaoning', 'Tieling, Liaoning', 'Shenyang',
    'Tieling'] (qualified names first, bare city names as a fallback)."""
    cities, _, province = name_en.partition(", ")
    names = [c.strip() for c in cities.split("/") if c.strip()]
    qualified = [f"{c}, {province}" if province else c for c in names]
    return qualified + names


def build_area_table() -> dict[str, tuple[str, str]]:
    """{national prefix: (area code, Chinese name)} computed from phonenumbers (no DB)."""
    from phonenumbers.geodata import GEOCODE_DATA

    fixed: dict[str, tuple[str, str]] = {}
    city_to_area: dict[str, str] = dict(_EXTRA_CITIES)
    for key, names in GEOCODE_DATA.items():
        if not key.startswith("86") or key.startswith("861") and key != "8610":
            continue
        national = key[2:]
        if len(national) not in (2, 3):
            continue  # sub-prefixes of an area code carry no new area
        fixed[national] = (national, names.get("zh", names.get("en", "")))
        for city in _city_keys(names.get("en", "")) + _zh_city_keys(names.get("zh", "")):
            city_to_area.setdefault(city, national)
    mobile: dict[str, tuple[str, str]] = {}
    for key, names in GEOCODE_DATA.items():
        if key.startswith("861") and key != "8610" and len(key) >= 5:
            keys = _city_keys(names.get("en", "")) + _zh_city_keys(names.get("zh", ""))
            area = next((city_to_area[c] for c in keys
                         if c in city_to_area), None)
            if area is not None:
                mobile[key[2:]] = (area, names.get("zh", names.get("en", "")))
    return {**fixed, **_compress(mobile)}


def _compress(table: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Replace ten siblings with the same area by their parent prefix, repeatedly."""
    current = dict(table)
    while True:
        groups: dict[str, list[str]] = {}
        for prefix in current:
            if len(prefix) > 3:
                groups.setdefault(prefix[:-1], []).append(prefix)
        changed = False
        for parent, children in groups.items():
            if len(children) == 10 and parent not in current:
                areas = {current[c][0] for c in children}
                if len(areas) == 1:
                    value = current[children[0]]
                    for c in children:
                        del current[c]
                    current[parent] = value
                    changed = True
        if not changed:
            return current


def seed_areas(session: Session, table: dict[str, tuple[str, str]] | None = None,
               replace_operator_rows: bool = False) -> int:
    """(Re)seed from phonenumbers; rows the operator set (source 'operator') are kept."""
    table = build_area_table() if table is None else table
    keep: set[str] = set()
    if not replace_operator_rows:
        keep = set(session.scalars(select(AreaPrefix.prefix)
                                   .where(AreaPrefix.source == "operator")))
    session.execute(delete(AreaPrefix).where(AreaPrefix.source == "phonenumbers"))
    rows = [{"prefix": p, "area": a, "name": n[:120], "source": "phonenumbers"}
            for p, (a, n) in table.items() if p not in keep]
    for i in range(0, len(rows), 5000):
        session.execute(table_of(AreaPrefix).insert(), rows[i:i + 5000])
    return len(rows)


def _prefixes(national: str) -> list[str]:
    return [national[:i] for i in range(len(national), 1, -1)]


def lookup_area(session: Session, national: str) -> str | None:
    """Longest-prefix match of a national number in the table; None if unknown."""
    row = session.execute(select(AreaPrefix.prefix, AreaPrefix.area)
                          .where(AreaPrefix.prefix.in_(_prefixes(national)))).all()
    if not row:
        return None
    return max(row, key=lambda r: len(r[0]))[1]


def known_area(session: Session, area: str) -> bool:
    """Whether ``area`` is an area code of the table (any area when the table is empty: a
    database nobody seeded cannot tell)."""
    if session.scalar(select(AreaPrefix.prefix).where(AreaPrefix.area == area).limit(1)):
        return True
    return session.scalar(select(AreaPrefix.prefix).limit(1)) is None


def set_area(session: Session, prefix: str, area: str, name: str = "") -> None:
    """Operator edit: add or change a prefix; it survives re-seeding."""
    from . import validate
    from .errors import MoneyError
    validate.ascii_digits("PREFIX", prefix, 2, 16)
    validate.ascii_digits("AREA", area, 2, 4)
    validate.text("--name", name, 120)
    if not known_area(session, area):  # a typo would leave every number under it unratable
        raise MoneyError("area.invalid", area=area)
    row = session.get(AreaPrefix, prefix)
    if row is None:
        session.add(AreaPrefix(prefix=prefix, area=area, name=name, source="operator"))
    else:
        row.area, row.name, row.source = area, name or row.name, "operator"


def remove_area(session: Session, prefixes: Iterable[str]) -> None:
    session.execute(delete(AreaPrefix).where(AreaPrefix.prefix.in_(list(prefixes))))
