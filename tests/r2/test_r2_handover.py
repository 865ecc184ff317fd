"""Audio ownership on an R2 channel (docs/r2.md): OpenR2 reads the timeslot while it signals,
the media engine's batch after the MF exchange ends, and back. Every block the line delivers
is read exactly once — never by both, never by neither — and the media engine gets the far
end's speech in order from its first block."""
import re
import struct

from confcall.dahdi.legs import LegState
from confcall.dahdi.r2 import R2Link

STAMP = b"STMP"


def stamped(start: int = 0):
    """A far-end source whose block k carries the number k (not audio: a witness)."""
    k = [start]

    def source(n: int) -> bytes:
        block = STAMP + struct.pack("<I", k[0])
        k[0] += 1
        return block + bytes([0xD5]) * (n - len(block))
    return source


def stamp_of(block: bytes) -> int | None:
    return struct.unpack("<I", block[4:8])[0] if block[:4] == STAMP else None


class Ledger:
    """Per tick, who read the channel's block: the line's count, OpenR2's, the batch's."""

    def __init__(self, h, chanpos: int) -> None:
        self.h = h
        self.sim_ch = h.sim.channel(chanpos)
        self.fd = h.trunk.by_pos[chanpos].fd
        self.row = h.trunk.by_pos[chanpos].row
        self.rows: list[tuple[int, int, int]] = []
        self.media_blocks: list[bytes] = []
        h.clock.add_hook(self.probe)  # after trunk, switch and media: the tick's outcome

    def counts(self) -> tuple[int, int, int]:
        return (self.sim_ch.blocks_sent, R2Link.reads(self.fd),
                int(self.h.batch.blocks_in[self.row]))

    def probe(self) -> None:
        self.rows.append(self.counts())
        if self.h.batch.owned_by_media(self.row):
            self.media_blocks.append(bytes(self.h.batch.rx[self.row]))

    def deltas(self) -> list[tuple[int, int, int]]:
        return [tuple(b - a for a, b in zip(p, q, strict=True))
                for p, q in zip(self.rows, self.rows[1:], strict=False)]


def assert_each_block_read_once(ledger: Ledger) -> tuple[int, int]:
    """Every block the line delivered was read once, by one reader: OpenR2 every tick up to
    the hand-over, then the batch every tick, no gap between; at the hand-back (call over, idle
    line) OpenR2 takes the blocks the batch left, at most two ticks late. Returns the ticks of
    the hand-over and of the hand-back."""
    d = ledger.deltas()
    assert d and all(sent == 1 for sent, _, _ in d)
    sent, r2, media = (b - a for a, b in zip(ledger.rows[0], ledger.rows[-1], strict=True))
    assert r2 + media == sent  # none lost, none twice
    assert all(not (r2 and m) for _, r2, m in d)  # never both in one tick
    owners = "".join("o" if r2 == 1 else "m" if m == 1 else "." if not (r2 or m) else "+"
                     for _, r2, m in d)
    # OpenR2 alone, then the media engine alone (continuously), then OpenR2 again
    shape = re.fullmatch(r"(o+)(m+)(\.{0,2}\+?)(o*)", owners)
    assert shape, owners
    return len(shape[1]), len(shape[1]) + len(shape[2])


def test_outgoing_call_hand_over_loses_and_repeats_no_block(r2):
    h = r2(media=True)
    h.phone("13900139000", answer_after=1.0)
    leg = h.trunk.dial("13900139000", "95000")
    ledger = Ledger(h, leg.chanpos)
    # the far end's speech path starts as soon as it accepts: stamp every block from then on
    far = h.switch.chans[leg.chanpos]
    assert h.run_until(lambda: far.line.value == "in_accepted", 10)  # its Group-B tone ended
    h.sim.channel(leg.chanpos).source = stamped()
    r2_before = R2Link.reads(ledger.fd)
    assert h.run_until(lambda: leg.answered, 5)
    h.run(1.0)
    leg.hangup()
    assert h.run_until(lambda: leg.state is LegState.CLEARED, 5)
    h.run(0.5)  # back to OpenR2, which reads the idle line again

    to_media, to_signalling = assert_each_block_read_once(ledger)
    assert to_signalling > to_media
    # the far end's speech: OpenR2 read its first block or two (the end of the Group-B tone
    # is only seen in them), the media engine every later one, in order, none missing or twice
    stamps = [s for s in map(stamp_of, ledger.media_blocks) if s is not None]
    read_by_openr2 = ledger.rows[to_media][1] - r2_before
    assert read_by_openr2 <= 2
    assert stamps and stamps == list(range(read_by_openr2, read_by_openr2 + len(stamps)))
    assert ledger.rows[-1][1] > ledger.rows[to_signalling][1]  # OpenR2 reads again
    assert not h.batch.owned_by_media(ledger.row)


def test_incoming_call_hand_over_at_acceptance(r2):
    h = r2(media=True)
    h.phone("13800138000")
    rec = h.switch.place_call("13800138000", "95000")
    ledger = Ledger(h, rec.chanpos)
    assert h.run_until(lambda: bool(h.incoming), 10)
    leg = h.incoming[0]
    assert (leg.ani, leg.dnis) == ("13800138000", "95000")
    assert not h.batch.owned_by_media(ledger.row)  # still signalling: OpenR2 reads it
    leg.answer()
    assert h.run_until(lambda: leg.answered and rec.answer_seen, 5)
    assert h.batch.owned_by_media(ledger.row)
    h.run(0.5)
    h.switch.hangup(rec)
    assert h.run_until(lambda: leg.state is LegState.CLEARED, 5)
    h.run(0.3)
    assert_each_block_read_once(ledger)
