"""The RADIUS sender delivering the outbox to a real FreeRADIUS (tests/radiusd.py): every record
arrives exactly once — across a billing-server outage, a fail-over and a restart of the box."""
from collections import Counter

import pytest
from sqlalchemy import select

from confcall.billing import outbox
from confcall.billing.sender import RadiusSender
from confcall.config import RadiusServerConf
from confcall.ids import box_id
from confcall.store.models import AcctRecord
from tests.billing.charged_legs import account, at, call
from tests.radiusd import RadiusServer, _free_udp_port, radius_time

FAST = {"timeout_s": 0.2, "max_timeout_s": 0.4, "retries": 1, "dead_time_s": 0.5,
        "poll_s": 0.05}


def conf_of(server: RadiusServer, secret: str | None = None) -> RadiusServerConf:
    return RadiusServerConf("127.0.0.1", server.port, secret or server.secret)


def queued(store):
    return store.run(lambda s: {r.record_id: r for r in s.scalars(select(AcctRecord))})


def conferences(store, payer, n, start_s=0.0):
    for i in range(n):
        t = start_s + 200 * i
        call(store, payer, f"c{t}", f"c{t}/1", "02087654321", at(t), 125, interims=60)
        call(store, payer, f"c{t}", f"c{t}/2", "13900139000", at(t + 1), 30)


def received(server):
    return Counter(r["Confcall-Record-Id"] for r in server.records())


@pytest.fixture
def sender_of(store):
    made = []

    def make(servers, **kw):
        s = RadiusSender(store, servers, box=box_id(), **{**FAST, **kw})
        s.start()
        made.append(s)
        return s
    yield make
    for s in made:
        s.stop()


def test_records_reach_freeradius_once_with_their_attributes(store, radius_outbox, radiusd,
                                                             sender_of):
    payer = account(store, "+8613800138000")
    conferences(store, payer, 3)
    rows = queued(store)
    assert len(rows) == 3 * (4 + 2)  # start, 2 interims, stop; start, stop
    sender = sender_of([conf_of(radiusd)])
    assert sender.wait_idle(10)
    got = {r["Confcall-Record-Id"]: r for r in radiusd.records()}
    assert received(radiusd) == Counter(list(rows))  # each record once, nothing else
    stop = next(r for r in got.values() if r["Acct-Status-Type"] == "Stop"
                and r["Called-Station-Id"] == "02087654321")
    assert stop["Acct-Session-Time"] == "125" and stop["Confcall-Charge-Fen"] == "90"
    assert stop["Confcall-Number-Class"] == "Long-Distance"
    assert stop["Acct-Terminate-Cause"] == "User-Request" and stop["User-Name"] == payer
    assert radius_time(stop["Event-Timestamp"]) == at(125)
    assert radius_time(stop["Confcall-Answer-Time"]) == at(0)
    interims = sorted(int(r["Acct-Session-Time"]) for r in got.values()
                      if r["Acct-Status-Type"] == "Interim-Update")
    assert interims == [60, 60, 60, 120, 120, 120]
    assert all(r.sent_at is not None and r.server == f"127.0.0.1:{radiusd.port}"
               for r in queued(store).values())
    assert sender.stats.delivered == len(rows)
    # the box restarts: a new sender finds nothing to send
    sender.stop()
    again = sender_of([conf_of(radiusd)])
    assert again.wait_idle(10) and again.stats.delivered == 0
    assert received(radiusd) == Counter(list(rows))


def test_a_billing_server_down_for_a_while_gets_every_record_once_when_back(
        store, radius_outbox, radiusd, sender_of):
    payer = account(store, "+8613800138000")
    conferences(store, payer, 1)
    sender = sender_of([conf_of(radiusd)])
    assert sender.wait_idle(10)
    before = received(radiusd)
    radiusd.stop()  # the billing server goes away
    conferences(store, payer, 4, start_s=1000)
    sender.wake()
    # declared dead, probed after its dead time, still dead: records wait in the outbox
    assert sender.wait_until(lambda s: s.stats.servers_down >= 2, 10)
    waiting = store.run(outbox.backlog, box_id())
    assert waiting.records == 4 * 6 and not sender.wait_idle(0.01)
    radiusd.start()  # back on the same port
    assert sender.wait_idle(15)
    assert set(before.values()) == {1}
    assert received(radiusd) == Counter(list(queued(store)))  # every record exactly once
    assert store.run(outbox.backlog, box_id()).records == 0


def test_records_fail_over_to_the_next_server(store, radius_outbox, radiusd, sender_of):
    payer = account(store, "+8613800138000")
    conferences(store, payer, 2)
    silent = RadiusServerConf("127.0.0.1", _free_udp_port(), "whatever")
    sender = sender_of([silent, conf_of(radiusd)])
    assert sender.wait_idle(10)
    assert received(radiusd) == Counter(list(queued(store)))
    assert sender.stats.by_server == {f"127.0.0.1:{radiusd.port}": 12}
    assert sender.stats.servers_down >= 1


def test_answers_signed_with_another_secret_are_not_taken_for_delivery(
        store, radius_outbox, radiusd, sender_of):
    payer = account(store, "+8613800138000")
    conferences(store, payer, 1)
    # FreeRADIUS drops requests whose authenticator does not match its secret
    sender = sender_of([conf_of(radiusd, secret="not-the-secret")])
    assert sender.wait_until(lambda s: s.stats.servers_down >= 1, 10)
    assert sender.stats.delivered == 0 and radiusd.records() == []
    assert store.run(outbox.backlog, box_id()).records == 6
