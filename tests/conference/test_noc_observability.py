"""What the NOC sees of a box that carried a conference: one log line per call event, each
with its call id, and a /metrics scrape whose figures are the calls that were made."""
import io
import json
import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from confcall.logsetup import configure_logging
from confcall.store.models import Leg

from box_harness import ACCESS
from scenarios import A, B, called_back, hang_up_and_settle, two_party_conference


def _conference(bx):
    """The two-party conference, ended by A and settled: every record and bill written."""
    call = two_party_conference(bx)
    hang_up_and_settle(bx, call)
    return call.access, call.a, call.b


def _scrape(bx) -> dict[tuple[str, tuple], float]:
    """Refresh the copied figures, wait for the revenue sum the refresh started in the DB pool
    (its result comes back through the reactor), then scrape ``/metrics`` over HTTP.

    ``reactor.settle()`` runs what the pool handed back and returns once no DB work is in
    flight, without moving virtual time: the gauge then holds this sum, and nothing periodic
    (the booking scheduler's poll) can have started since."""
    summed = bx.daemon.watch.refresh(revenue=True)
    bx.reactor.settle()
    assert summed.called
    port = bx.daemon.watch.metrics.serve("127.0.0.1", 0)
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    finally:
        bx.daemon.watch.metrics.stop()
    out = {}
    for fam in text_string_to_metric_families(text.decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_every_call_event_is_logged_with_its_call_id(box):
    stream = io.StringIO()
    handler = configure_logging("info", "json", stream)
    try:
        bx = box()
        access, a, b = _conference(bx)
    finally:
        import logging
        logging.getLogger("confcall").removeHandler(handler)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    calls = [e for e in events if e.get("event", "").startswith("leg.")]
    assert calls and all(e["call"].startswith("L") for e in calls)
    # three legs: the access call (rejected), the callback to A, the invitation to B
    by_call: dict[str, list[str]] = {}
    for e in calls:
        by_call.setdefault(e["call"], []).append(e["event"])
    assert len(by_call) == 3
    assert sorted(v[0] for v in by_call.values()) == ["leg.dialled", "leg.dialled",
                                                      "leg.offered"]
    assert all(v[-1] == "leg.cleared" for v in by_call.values())
    offered = next(e for e in calls if e["event"] == "leg.offered")
    assert offered["number"] == A and offered["dnis"] == ACCESS
    started = [e for e in events if e.get("event") == "conference.started"]
    ended = [e for e in events if e.get("event") == "conference.ended"]
    assert len(started) == 1 and len(ended) == 1
    assert started[0]["call"] in by_call and "leg.answered" in by_call[started[0]["call"]]
    assert ended[0]["conference"] == started[0]["conference"]


def test_metrics_scraped_after_a_conference_match_the_calls(box):
    bx = box()
    access, a, b = _conference(bx)
    m = _scrape(bx)
    assert m[("confcall_call_attempts_total", (("direction", "in"),))] == 1
    assert m[("confcall_call_attempts_total", (("direction", "out"),))] == 2
    assert m[("confcall_calls_answered_total", (("direction", "out"),))] == 2
    assert ("confcall_calls_answered_total", (("direction", "in"),)) not in m  # rejected
    assert m[("confcall_calls_cleared_total", (("cause", "16"), ("direction", "out")))] == 2
    in_cause = str(access.cause)
    assert m[("confcall_calls_cleared_total", (("cause", in_cause), ("direction", "in")))] == 1
    assert m[("confcall_calls_active", (("direction", "out"),))] == 0
    assert m[("confcall_conferences_total", ())] == 1
    assert m[("confcall_conferences_active", ())] == 0
    assert m[("confcall_callbacks_requested_total", ())] == 1
    assert m[("confcall_dtmf_digits_total", ())] == len(B + "##")
    assert m[("confcall_span_up", (("span", "1"),))] == 1
    assert m[("confcall_span_alarms", (("span", "1"),))] == 0
    assert m[("confcall_channels", (("span", "1"),))] == 30
    assert m[("confcall_channels_in_use", (("span", "1"),))] == 0
    assert m[("confcall_media_ticks", ())] > 500
    assert 0 < m[("confcall_media_tick_seconds", (("quantile", "0.5"),))] \
        <= m[("confcall_media_tick_seconds", (("quantile", "0.99"),))]
    assert m[("confcall_db_call_seconds_count", ())] > 0
    # nothing piles up: the scrape came after every write committed and the pool went idle
    assert m[("confcall_db_queue_depth", ())] == 0
    with bx.store.transaction() as s:
        charged = s.scalar(select(func.sum(Leg.amount_fen)))
    assert charged > 0 and m[("confcall_revenue_fen", ())] == charged


def test_span_alarm_and_channels_in_use_show_in_metrics(box):
    from confcall.dahdi.constants import Alarm
    bx = box()
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    called_back(bx, a, hear_prompt=False)
    m = _scrape(bx)
    assert m[("confcall_channels_in_use", (("span", "1"),))] == 1
    assert m[("confcall_calls_active", (("direction", "out"),))] == 1
    bx.card.spans[0].add_errors(crc4=7)
    bx.card.spans[0].raise_alarm("RED")
    bx.run(2)
    m = _scrape(bx)
    assert m[("confcall_span_alarms", (("span", "1"),))] == int(Alarm.RED)
    assert m[("confcall_span_up", (("span", "1"),))] == 0
    assert m[("confcall_span_errors", (("counter", "crc4"), ("span", "1")))] == 7


def test_grafana_dashboard_uses_only_metrics_the_box_exports():
    import re
    from pathlib import Path

    from confcall.metrics import BoxMetrics
    dash = json.loads((Path(__file__).resolve().parents[2] / "docs/grafana/confcall.json")
                      .read_text())
    exported = {s.name for fam in BoxMetrics().registry.collect() for s in fam.samples} | {
        f.name for f in BoxMetrics().registry.collect()}
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\bconfcall_[a-z_]+", e)}
    assert len(dash["panels"]) >= 16
    # labelled families export no sample before their first label value: compare names
    base = {re.sub(r"_(total|bucket|count|sum|created)$", "", n) for n in exported}
    assert {re.sub(r"_(total|bucket|count|sum)$", "", m) for m in used} <= base
