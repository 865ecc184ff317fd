"""The per-tick batch: every B-channel read and written by one shim call, byte-exact."""
import numpy as np

from confcall.dahdi import BChannelBatch, Channel, Span
from confcall.dahdi.constants import ELAST


def _feed(rng, sims):
    """Give each simulated far end a stream of random codes; return the expected blocks."""
    expected = {}
    for sim in sims:
        blocks = []
        expected[sim.channo] = blocks

        def source(n, blocks=blocks):
            b = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
            blocks.append(b)
            return b
        sim.source = source
    return expected


def test_round_trip_byte_exact_two_spans(make_card):
    card = make_card([("E1", "pri"), ("T1", "pri")])
    rng = np.random.default_rng(7)
    spans = [Span.open(1, range(1, 32)), Span.open(2, range(32, 56))]
    chans = spans[0].bchannels + spans[1].bchannels
    assert len(chans) == 30 + 23
    batch = BChannelBatch(chans)
    assert batch.idle[0] == 0xD5 and batch.idle[-1] == 0xFF
    expected = _feed(rng, [card.channel(c.channo) for c in chans])
    sent = {c.channo: bytearray() for c in chans}
    for _ in range(50):
        card.tick()
        assert batch.read() == len(chans)
        for i, c in enumerate(chans):
            assert batch.rx[i].tobytes() == expected[c.channo][-1]
        batch.tx[:] = rng.integers(0, 256, batch.tx.shape, dtype=np.uint8)
        assert batch.write() == len(chans)
        for i, c in enumerate(chans):
            sent[c.channo] += batch.tx[i].tobytes()
    card.tick()  # the far end collects the last block
    for c in chans:
        assert bytes(card.channel(c.channo).heard) == bytes(sent[c.channo])
    for s in spans:
        s.close()


def test_missing_block_reads_idle_not_stale_audio(make_card):
    card = make_card()
    with Channel(1) as a, Channel(2) as b:
        batch = BChannelBatch([a, b])
        card.channel(1).source = lambda n: b"\x01" * n
        card.tick()
        assert batch.read() == 2
        assert batch.rx[0, 0] == 1
        assert batch.read() == 0  # nothing new this tick
        assert (batch.rx == 0xD5).all() and (batch.rx_status == -11).all()  # EAGAIN


def test_event_on_one_channel_does_not_stop_the_others(make_card):
    card = make_card()
    with Span.open(1, range(1, 32)) as span:
        batch = BChannelBatch(span.bchannels)
        card.channel(7).queue_event(7)  # an overrun on channel 7 only
        card.tick()
        assert batch.read() == 29
        rows = batch.rows_with_events()
        assert [span.bchannels[i].channo for i in rows] == [7]
        assert batch.rx_status[rows[0]] == -ELAST
        assert span.bchannels[rows[0]].drain_events() == [7]
        card.tick()
        assert batch.read() == 30


def test_closed_channel_row_is_detached_and_others_continue(make_card):
    card = make_card()
    with Span.open(1, range(1, 32)) as span:
        batch = BChannelBatch(span.bchannels)
        span.bchannels[0].close()
        batch.detach(0)
        card.tick()
        assert batch.read() == 29
        assert batch.write() == 29
        assert batch.tx_status[0] < 0
