"""Every B-channel of one or more spans, read and written with one C call per tick.

Why: 30 channels × 50 ticks/s × N spans of Python ``read()`` calls would eat the core that the
mixer needs. The arrays are allocated once; the media thread calls ``read()``/``write()``
(each a single shim call that releases the GIL) and hands ``rx``/``tx`` to the DSP kernels.

Audio ownership (MFC/R2): an R2 channel's compelled MF signalling rides its own audio, so
while OpenR2 signals on it, OpenR2 reads and writes it and the batch must not. Such rows are
created *lent to signalling* and are handed to the media engine when the call's MF exchange
ends (``hand_to_media``), and back when the call ends (``hand_to_signalling``). A hand-over
is requested from the reactor thread and takes effect at the start of the batch's next
``read()``, i.e. at a tick boundary of the media thread; ``owned_by_media`` tells the
signalling side when a hand-back has taken effect, so that the two never read one channel in
the same tick. DAHDI events on CAS rows belong to the signalling (its CAS bit changes), so the
batch never reports them as rows to drain.
"""
from __future__ import annotations

import os
import queue
from typing import Sequence

import numpy as np

from ._shim import ffi, lib
from .channel import Channel
from .constants import ELAST, Law, SigType

__all__ = ["BChannelBatch"]


class BChannelBatch:
    """Row i of ``rx``/``tx`` is ``channels[i]``'s block of G.711 codes."""

    def __init__(self, channels: Sequence[Channel], laws: Sequence[Law] | None = None,
                 blocksize: int = 160, *, lent: Sequence[bool] | None = None) -> None:
        """``lent[i]``: row i starts owned by its signalling (an R2 channel), not read."""
        n = len(channels)
        self.channels = list(channels)
        self.blocksize = blocksize
        self.rx = np.zeros((n, blocksize), dtype=np.uint8)
        self.tx = np.zeros((n, blocksize), dtype=np.uint8)
        self.rx_status = np.zeros(n, dtype=np.int32)
        self.tx_status = np.zeros(n, dtype=np.int32)
        self._open_fds = np.array([c.fileno() for c in channels], dtype=np.int32)
        self.media_owned = np.ones(n, dtype=np.bool_)
        if lent is not None:
            self.media_owned[:] = ~np.asarray(lent, dtype=np.bool_)
        self.fds = np.where(self.media_owned, self._open_fds, -1).astype(np.int32)
        self.blocks_in = np.zeros(n, dtype=np.int64)  # full blocks read per row, ever
        self._full = np.zeros(n, dtype=np.bool_)
        self._handovers: queue.SimpleQueue[tuple[int, bool]] = queue.SimpleQueue()
        # only a batch with R2 rows can find itself with no row to pace the media thread
        self._wake_r, self._wake_w = (os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
                                      if not self.media_owned.all() else (-1, -1))
        self._drainable = np.array([_sigtype(c) != SigType.CAS for c in channels],
                                   dtype=np.bool_)
        laws = list(laws) if laws is not None else [Law(c.params().curlaw) for c in channels]
        self.laws = np.array([int(law) for law in laws], dtype=np.int8)
        self.idle = np.array([Law(law).idle_code for law in laws], dtype=np.uint8)
        self.tx[:] = self.idle[:, None]
        self._event_rows = np.zeros(n, dtype=np.bool_)
        # cffi pointers taken once: the tick does no allocation.
        self._p_fds = ffi.cast("int *", self.fds.ctypes.data)
        self._p_rx = ffi.cast("uint8_t *", self.rx.ctypes.data)
        self._p_tx = ffi.cast("uint8_t *", self.tx.ctypes.data)
        self._p_idle = ffi.cast("uint8_t *", self.idle.ctypes.data)
        self._p_rxs = ffi.cast("int *", self.rx_status.ctypes.data)
        self._p_txs = ffi.cast("int *", self.tx_status.ctypes.data)

    def __len__(self) -> int:
        return len(self.channels)

    def read(self) -> int:
        """Fill ``rx``; returns how many channels delivered a full block. Hand-overs asked
        for since the last tick take effect first."""
        if not self._handovers.empty():
            self._apply_handovers()
        full = lib.dshim_read_blocks(len(self.fds), self._p_fds, self._p_rx, self.blocksize,
                                     self.blocksize, self._p_idle, self._p_rxs)
        np.equal(self.rx_status, self.blocksize, out=self._full)
        np.add(self.blocks_in, self._full, out=self.blocks_in)
        return full

    # -- audio ownership (R2) ----------------------------------------------------------------
    def hand_to_media(self, row: int) -> None:
        """From the next tick the media engine reads and writes ``row`` (any thread)."""
        self._handovers.put((row, True))
        if self._wake_w >= 0:
            try:  # wakes a media thread that had no media-owned row to pace it
                os.write(self._wake_w, b"!")
            except OSError:
                pass

    def hand_to_signalling(self, row: int) -> None:
        """From the next tick the media engine leaves ``row`` alone (any thread)."""
        self._handovers.put((row, False))

    def owned_by_media(self, row: int) -> bool:
        """Whether the media engine reads ``row`` now (hand-overs applied so far)."""
        return bool(self.media_owned[row])

    def row_of(self, channo: int) -> int:
        for i, ch in enumerate(self.channels):
            if ch.channo == channo:
                return i
        raise KeyError(f"channel {channo} is not in this batch")

    def _apply_handovers(self) -> None:
        while True:
            try:
                row, media = self._handovers.get_nowait()
            except queue.Empty:
                break
            self.fds[row] = self._open_fds[row] if media else -1
            self.media_owned[row] = media
        if self._wake_r >= 0:
            try:
                while os.read(self._wake_r, 64):
                    pass
            except OSError:
                pass

    def write(self) -> int:
        """Send ``tx``; returns how many channels took a full block."""
        return lib.dshim_write_blocks(len(self.fds), self._p_fds, self._p_tx, self.blocksize,
                                      self.blocksize, self._p_txs)

    def detach(self, index: int) -> None:
        """Stop touching row ``index`` (its channel closed): the row reads idle from now on."""
        self.fds[index] = -1
        self._open_fds[index] = -1

    def rows_with_events(self) -> np.ndarray:
        """Rows whose last read failed with ELAST and whose events the media side may fetch
        with DAHDI_GETEVENT (not CAS rows: their bit changes are the signalling's)."""
        return np.flatnonzero((self.rx_status == -ELAST) & self._drainable)

    def any_events(self) -> bool:
        """Whether any row's last read hit a pending event (no allocation: the per-tick check)."""
        np.equal(self.rx_status, -ELAST, out=self._event_rows)
        np.logical_and(self._event_rows, self._drainable, out=self._event_rows)
        return bool(self._event_rows.any())

    def pacing_fd(self) -> int:
        """An open channel whose readiness paces the media thread: a PRI B-channel when there
        is one (never handed back), else any media-owned row; with none (an idle R2-only box)
        a pipe that a hand-over to media wakes, so the thread waits instead of spinning."""
        best = -1
        for i, fd in enumerate(self.fds):
            if fd >= 0:
                if self._drainable[i]:
                    return int(fd)
                if best < 0:
                    best = int(fd)
        if best >= 0:
            return best
        return self._wake_r if (self._open_fds >= 0).any() else -1

    def close(self) -> None:
        """Release the wake pipe (the channels belong to their spans)."""
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1


def _sigtype(ch: Channel) -> int:
    try:
        return ch.params().sigtype
    except Exception:  # noqa: BLE001 - a closed or odd channel: treat as a B-channel
        return int(SigType.CLEAR)
