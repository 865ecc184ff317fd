"""The RADIUS accounting client's state machine in virtual time: packets on the wire (decoded by
pyrad as a server would), retransmission with back-off, fail-over, probing, bad replies."""
import hashlib
import struct

from pyrad import packet as rpacket

from confcall.billing.client import (
    INITIAL_WINDOW,
    AccountingClient,
    BadReply,
    Delivered,
    OutRecord,
    Send,
    Server,
    ServerDown,
    ServerUp,
)
from confcall.billing.sender import load_dictionary

DICT = load_dictionary()
A, B = Server("a:1813", b"secret-a"), Server("b:1813", b"secret-b")


def record(i: int, queued_at: float = 0.0) -> OutRecord:
    return OutRecord(i, {"Acct-Status-Type": "Start", "Acct-Session-Id": f"s{i}",
                         "User-Name": "+8613800138000", "Confcall-Record-Id": f"s{i}/start",
                         "Confcall-Charge-Fen": 0}, queued_at)


def answer(request: bytes, secret: bytes) -> bytes:
    """The Accounting-Response a server sends (RFC 2866 §3)."""
    ident = request[1]
    head = struct.pack("!BBH", 5, ident, 20)
    return head + hashlib.md5(head + request[4:20] + secret).digest()


def decode(raw: bytes, secret: bytes) -> rpacket.AcctPacket:
    pkt = rpacket.AcctPacket(packet=raw, secret=secret, dict=DICT)
    assert pkt.VerifyAcctRequest()  # the Request Authenticator a server checks
    return pkt


def sends(actions):
    return [a for a in actions if isinstance(a, Send)]


def client(**kw):
    kw = {"timeout_s": 1.0, "max_timeout_s": 4.0, "retries": 2, "dead_time_s": 30.0,
          "window": 4, **kw}
    return AccountingClient([A, B], DICT, **kw)


def test_a_record_is_sent_to_the_first_server_and_delivered_on_its_answer():
    c = client()
    c.offer([record(7, queued_at=-12.0)], 0.0)
    out = sends(c.poll(0.0))
    assert [s.server for s in out] == [0]
    pkt = decode(out[0].packet, A.secret)
    assert pkt.code == rpacket.AccountingRequest
    assert pkt["Acct-Session-Id"] == ["s7"] and pkt["Acct-Status-Type"] == ["Start"]
    assert pkt["Acct-Delay-Time"] == [12]  # waiting since 12 s before it was sent
    acts = c.received(0, answer(out[0].packet, A.secret), 0.1)
    assert Delivered(7, 0) in acts and c.idle()


def test_retransmissions_repeat_the_same_packet_with_doubling_timeouts():
    c = client(retries=3, max_timeout_s=3.0)
    c.offer([record(1)], 0.0)
    first = sends(c.poll(0.0))[0].packet
    times = []
    t = 0.0
    while len(times) < 3:
        t += 0.25
        for s in sends(c.poll(t)):
            assert s.packet == first  # same Identifier and authenticator: a duplicate
            times.append(t)
    assert times == [1.0, 3.0, 6.0]  # after 1, 2, then 3 (capped) seconds
    assert c.received(0, answer(first, A.secret), 6.1)[0] == Delivered(1, 0)


def test_a_silent_server_fails_over_with_everything_it_held_then_is_probed_back():
    c = client(retries=1, window=2)
    c.offer([record(i) for i in range(3)], 0.0)
    out = sends(c.poll(0.0))
    assert [s.server for s in out] == [0, 0]  # window 2 on the primary; the third waits
    assert sends(c.poll(1.0)) and [s.server for s in sends(c.poll(1.0))] == []
    acts = c.poll(3.0)  # 1 s + 2 s without an answer after one retransmission
    down = [a for a in acts if isinstance(a, ServerDown)]
    assert down == [ServerDown(0, 33.0, 2)]
    moved = sends(acts)
    assert [s.server for s in moved] == [1, 1]
    assert [decode(s.packet, B.secret)["Acct-Session-Id"][0] for s in moved] == ["s0", "s1"]
    third = sends(c.received(1, answer(moved[0].packet, B.secret), 3.1))
    assert [s.server for s in third] == [1]  # an answer frees room: the next one goes at once
    c.received(1, answer(moved[1].packet, B.secret), 3.1)
    c.received(1, answer(third[0].packet, B.secret), 3.2)
    assert c.idle()
    # its dead time over, the primary gets one record as a probe; its answer brings it back
    c.offer([record(10), record(11)], 40.0)
    probe = sends(c.poll(40.0))
    assert [s.server for s in probe] == [0, 1]
    acts = c.received(0, answer(probe[0].packet, A.secret), 40.1)
    assert ServerUp(0) in acts and c.alive(0)
    c.offer([record(12)], 40.2)
    assert [s.server for s in sends(c.poll(40.2))] == [0]


def test_all_servers_dead_records_wait_for_the_first_to_come_back():
    c = client(retries=0, dead_time_s=10.0)
    c.offer([record(1)], 0.0)
    c.poll(0.0)
    c.poll(1.0)  # primary dead, the record goes to the secondary
    c.poll(2.0)  # secondary dead too
    assert not c.alive(0) and not c.alive(1)
    assert sends(c.poll(5.0)) == [] and not c.idle()
    assert c.next_deadline() == 11.0
    probe = sends(c.poll(11.0))
    assert [s.server for s in probe] == [0]
    assert Delivered(1, 0) in c.received(0, answer(probe[0].packet, A.secret), 11.5)


def test_replies_with_a_wrong_authenticator_or_unknown_id_are_dropped():
    c = client()
    c.offer([record(1)], 0.0)
    req = sends(c.poll(0.0))[0].packet
    bad = c.received(0, answer(req, b"not-the-secret"), 0.1)
    assert isinstance(bad[0], BadReply) and "Authenticator" in bad[0].reason
    assert isinstance(c.received(0, b"\x05\x01", 0.1)[0], BadReply)
    stray = bytearray(answer(req, A.secret))
    stray[1] = (stray[1] + 1) % 256
    assert c.received(0, bytes(stray), 0.1) == []
    assert not c.idle()
    assert Delivered(1, 0) in c.received(0, answer(req, A.secret), 0.2)


def test_the_window_opens_with_answers_up_to_256_and_identifiers_stay_unique():
    c = AccountingClient([A], DICT, window=256)
    c.offer([record(i) for i in range(1000)], 0.0)
    wire = {s.packet[1]: s.packet for s in sends(c.poll(0.0))}
    assert len(wire) == INITIAL_WINDOW  # slow start
    peak, t = 0, 0.0
    while wire:
        t += 0.001
        ident, req = next(iter(wire.items()))
        del wire[ident]
        for s in sends(c.received(0, answer(req, A.secret), t)):
            assert s.packet[1] not in wire  # an Identifier is reused only after its answer
            wire[s.packet[1]] = s.packet
        peak = max(peak, len(wire))
        if c.room():
            c.offer([record(i) for i in range(1000, 1000 + c.room())], t)
            for s in sends(c.poll(t)):
                wire[s.packet[1]] = s.packet
        if peak == 256:
            break
    assert peak == 256  # never more than the Identifier space


def test_a_lost_burst_halves_the_window_once():
    c = AccountingClient([A], DICT, window=256, timeout_s=1.0, retries=3)
    c.offer([record(i) for i in range(200)], 0.0)
    first = sends(c.poll(0.0))
    t = 0.0
    for s in first:  # answers bring the window to 32
        t += 0.001
        first += sends(c.received(0, answer(s.packet, A.secret), t))
        if len(first) >= 48:
            break
    inflight = len(c.servers[0].inflight)
    assert inflight == 32
    retrans = sends(c.poll(t + 1.5))  # the whole window went unanswered
    assert len(retrans) == 32 and c.servers[0].cwnd == 16.0  # halved once, not 32 times
    for s in retrans:
        c.received(0, answer(s.packet, A.secret), t + 1.6)
    assert len(c.servers[0].inflight) <= 17


def test_an_hour_without_a_billing_server_loses_nothing_and_duplicates_nothing():
    """A record every 2 s for an hour while both servers are silent: the client holds one
    window and only probes (no retransmission storm), the rest waits in the outbox; when the
    primary answers again every record is delivered exactly once (virtual time)."""
    c = AccountingClient([A, B], DICT, timeout_s=2.0, max_timeout_s=16.0, retries=3,
                         dead_time_s=30.0, window=256)
    outbox: list[int] = []
    sent_while_down, delivered, t = 0, [], 0.0

    def feed(now):
        if c.room() and outbox:
            take = outbox[:c.room()]
            del outbox[:len(take)]
            c.offer([record(i) for i in take], now)
    while t < 3600:
        outbox.append(int(t // 2))
        feed(t)
        sent_while_down += len(sends(c.poll(t)))
        t += 2.0
    assert not c.alive(0) and not c.alive(1) and len(outbox) == 1800 - 512
    assert sent_while_down < 3600 / 30 * 2 * 4 + 64  # probes, each retried 3 times
    wire: list[bytes] = []
    while not c.idle() or outbox:
        feed(t)
        wire += [s.packet for s in sends(c.poll(t)) if s.server == 0]
        while wire:
            for a in c.received(0, answer(wire.pop(0), A.secret), t):
                if isinstance(a, Delivered):
                    delivered.append(a.record)
                elif isinstance(a, Send) and a.server == 0:
                    wire.append(a.packet)
            feed(t)
            wire += [s.packet for s in sends(c.poll(t)) if s.server == 0]
        t += 1.0
        assert t < 3600 + 600
    assert sorted(delivered) == list(range(1800))  # each once
