"""The carrier's billing hand-off on the whole box: a carrier-billed subscriber with no balance runs
a conference (a prepaid one with none cannot), its legs reach a real FreeRADIUS as Start /
Interim-Update / Stop with the rated durations and charges, and land in a CDR file; the
service number tells a carrier-billed subscriber what was spent, never a balance."""
import csv
import hashlib
import io
from datetime import timedelta

from box_harness import ACCESS, NOW, SERVICE, audio, contains, heard_prompt, prompts_heard
from sqlalchemy import select

from confcall.config import RadiusServerConf
from confcall.rating import ops
from confcall.store.models import BilledLeg, LedgerEntry, Leg
from tests.billing.charged_legs import call as rated_call
from tests.radiusd import RadiusServer, radius_time

A, B, D = "13800138000", "13900139000", "13700137000"
INTERIM_S = 5.0


def billing_box(box, tmp_path, radiusd):
    return box(config={
        "radius_servers": (RadiusServerConf("127.0.0.1", radiusd.port, radiusd.secret),),
        "acct_interim_s": INTERIM_S, "acct_timeout_s": 0.2, "acct_max_timeout_s": 0.4,
        "cdr_directory": str(tmp_path / "cdr"), "cdr_rotate_minutes": 0.1})


def test_carrier_billed_conference_reaches_radius_and_cdr_files(box, tmp_path):
    radiusd = RadiusServer()
    radiusd.start()
    try:
        _conference(box, tmp_path, radiusd)
    finally:
        radiusd.close()


def _conference(box, tmp_path, radiusd):
    bx = billing_box(box, tmp_path, radiusd)
    carrier = bx.account(A, fen=0)
    ops.set_billing(bx.store, carrier, "carrier")
    bx.account(D, fen=0)  # prepaid, empty
    a, b, d = bx.phone(A, answer_after=1.0), bx.phone(B, answer_after=2.0), bx.phone(D)

    # the prepaid subscriber with no balance is refused at the access number, never called back
    refused = bx.switch.place_call(D, ACCESS)
    assert bx.run_until(lambda: refused.ended, 10)
    assert heard_prompt(audio(refused), "low_balance") and not refused.connected
    # the carrier-billed one with no balance is called back and runs a conference
    access = bx.switch.place_call(A, ACCESS)
    assert bx.run_until(lambda: access.ended, 10)
    assert heard_prompt(audio(access), "confirmed")
    assert bx.run_until(lambda: len(a.calls) == 2 and a.last.connected, 10)
    assert bx.run_until(lambda: bool(bx.sessions), 2)
    bx.run(1.5)
    a.press(B + "#")
    assert bx.run_until(lambda: len(b.calls) == 1 and b.last.connected, 10)
    bx.run(12.3)
    bx.switch.hangup(a.last, 16)
    s = bx.sessions[0]
    assert bx.run_until(lambda: s.ended and b.last.ended, 5)
    bx.run(8)  # the CDR file's rotation (6 s) comes round
    assert d.calls == [refused] and len(a.calls) == 2

    # rated for the carrier: no balance needed, nothing debited
    def db(s):
        return (s.scalars(select(Leg).order_by(Leg.id)).all(),
                s.scalars(select(LedgerEntry)).all(),
                s.scalars(select(BilledLeg).order_by(BilledLeg.id)).all())
    legs, ledger, billed = bx.store.run(db)
    assert len(legs) == 2 and all(leg.amount_fen > 0 for leg in legs)
    assert [e.amount_fen for e in ledger] == []  # D was created with 0: no funding entry
    assert ops.balance(bx.store, carrier).balance_fen == 0
    assert [x.billing_mode for x in billed] == ["carrier", "carrier"]

    # RADIUS: Start, Interim-Update every 5 s, Stop per leg, each once
    assert bx.daemon.radius.wait_idle(10)
    got = radiusd.records()
    assert len({r["Confcall-Record-Id"] for r in got}) == len(got)
    by_leg = {x.leg_ref: x for x in billed}
    for leg in legs:
        x = by_leg[leg.reference]
        mine = [r for r in got if r["Acct-Session-Id"] == x.session_id]
        kinds = [r["Acct-Status-Type"] for r in mine]
        n = int((leg.ended_at - leg.answered_at).total_seconds() // INTERIM_S)
        assert kinds == ["Start"] + ["Interim-Update"] * n + ["Stop"], kinds
        assert [int(r["Acct-Session-Time"]) for r in mine[1:-1]] == \
               [int(INTERIM_S * (i + 1)) for i in range(n)]
        start, stop = mine[0], mine[-1]
        assert radius_time(start["Event-Timestamp"]) == leg.answered_at.replace(microsecond=0)
        assert int(stop["Acct-Session-Time"]) == leg.duration_s
        assert int(stop["Confcall-Charge-Fen"]) == leg.amount_fen
        assert stop["User-Name"] == carrier and stop["Confcall-Billing-Mode"] == "Carrier"
        assert stop["Acct-Multi-Session-Id"] == s.reference
        assert stop["Confcall-Q850-Cause"] == "16"
    roles = sorted(r["Confcall-Leg-Role"] for r in got if r["Acct-Status-Type"] == "Stop")
    assert roles == ["Initiator", "Participant"]

    # the CDR file: both legs, its total equal to the database's, its checksum right
    files = sorted((tmp_path / "cdr").glob("*.csv"))
    assert len(files) == 1 and files[0].name.startswith("cdr_")
    data = files[0].read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert sorted(r["record_id"] for r in rows) == sorted(x.session_id for x in billed)
    assert sum(int(r["charge_fen"]) for r in rows) == sum(leg.amount_fen for leg in legs)
    side = files[0].with_name(files[0].name + ".sha256").read_text()
    assert side == f"{hashlib.sha256(data).hexdigest()}  {files[0].name}\n"


def test_the_service_number_tells_a_carrier_billed_subscriber_what_was_spent(box):
    bx = box()
    carrier = bx.account(A, fen=0, pin="482913")
    ops.set_billing(bx.store, carrier, "carrier", month_limit_fen=5_000)
    rated_call(bx.store, carrier, "c0", "c0/1", "02087654321", NOW - timedelta(hours=1), 125)
    a = bx.phone(A)
    rec = bx.switch.place_call(A, SERVICE)
    assert bx.run_until(lambda: rec.connected, 5)
    bx.run(1.0)
    a.press("482913#")
    bx.run(4.5)
    a.press("2")
    bx.run(9)
    a.press("1")
    bx.run(6)
    heard = prompts_heard(audio(rec))
    assert contains(heard, ["ivr_enter_pin", "ivr_menu_carrier"])
    # 90 fen spent this month, 49.10 yuan left under the 50 yuan limit; no "balance", no card
    assert contains(heard, ["ivr_spent_month_is", "d0", "yuan", "d9", "d0", "fen",
                            "ivr_month_left_is", "d4", "d9", "yuan", "d1", "d0", "fen",
                            "ivr_menu_carrier"])
    assert contains(heard, ["ivr_carrier_billed", "ivr_menu_carrier"])
    assert "ivr_balance_is" not in heard and "ivr_menu" not in heard
    assert "ivr_enter_card" not in heard
    bx.switch.hangup(rec)
    assert bx.run_until(lambda: rec.ended, 5)
