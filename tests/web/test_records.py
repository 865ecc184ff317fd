"""Call records on the site: a conference the box rated shows in the subscriber's history
(page and CSV: destination, class, duration, cost) and in the operator's CDR list, whose
filters (number, class, dates) select exactly the matching legs."""
from __future__ import annotations

from datetime import timedelta

from confcall.rating import ops
from confcall.rating.cdr import LegRecord

from .conftest import NOW, PIN, A
from .test_console import op_login


def rated_conference(world) -> dict[str, tuple[str, int, int]]:
    """A's conference as the box rates it when it ends: destination → (class, seconds, fen)."""
    start = NOW - timedelta(hours=1)

    def leg(ref: str, dest: str, talk: int | None) -> LegRecord:
        ans = start + timedelta(seconds=5) if talk is not None else None
        end = ans + timedelta(seconds=talk) if ans else start + timedelta(seconds=30)
        return LegRecord(ref, dest, start, end, ans)
    bill = ops.rate_conference(world.store, A, "web-c1", start, start + timedelta(minutes=5), [
        leg("web-c1/1", "02188887777", 61), leg("web-c1/2", "13912345678", 125),
        leg("web-c1/3", "+12125550123", 30), leg("web-c1/4", "01088887777", None)], now=NOW)
    return {x.destination: (x.number_class, x.duration_s, x.amount_fen) for x in bill.legs}


def test_history_lists_the_calls_with_class_duration_and_cost(world):
    legs = rated_conference(world)
    c = world.client()
    c.login("13800138000", PIN)
    page = c.get("/history").text
    table = page.split('id="calls"')[1].split("</table>")[0]
    for dest, (_cls, seconds, fen) in legs.items():
        row = next(r for r in table.split("<tr>") if dest in r)
        assert f"<td>{seconds}</td>" in row and f"{fen // 100}.{fen % 100:02d}" in row, row
    assert "国际" in table  # the class in the page's language
    lines = c.get("/history.csv").body.decode("utf-8-sig").splitlines()
    calls = [x.split(",") for x in lines if x.startswith("call,")]
    assert {(x[3], x[4], int(x[5]), int(x[6])) for x in calls} == {
        (dest, cls, s, fen) for dest, (cls, s, fen) in legs.items()}
    api = c.get("/api/v1/history").json()
    assert sum(x["cost_fen"] for x in api["calls"]) == sum(f for _c, _s, f in legs.values())


def test_cdr_filters_select_exactly_the_matching_legs(world):
    legs = rated_conference(world)
    c = world.client()
    op_login(c)
    every = c.get("/api/v1/ops/cdrs").json()
    assert {x["destination"] for x in every} == set(legs)
    intl = c.get("/api/v1/ops/cdrs?cls=international").json()
    assert [x["destination"] for x in intl] == ["+12125550123"]
    assert intl[0]["amount_fen"] == legs["+12125550123"][2] and intl[0]["payer"] == A
    one = c.get("/api/v1/ops/cdrs?number=2188887777").json()
    assert [x["destination"] for x in one] == ["+862188887777"]
    day = (NOW - timedelta(hours=1)).date().isoformat()
    before = (NOW - timedelta(days=2)).date().isoformat()
    assert len(c.get(f"/api/v1/ops/cdrs?from={day}&to={day}").json()) == len(legs)
    assert c.get(f"/api/v1/ops/cdrs?from={before}&to={before}").json() == []
    page = c.get("/ops/cdrs?cls=international").text
    assert "+12125550123" in page and "+862188887777" not in page
