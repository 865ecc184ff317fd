"""Every B-channel of one or more spans, read and written with one C call per tick.

Why: 30 channels × 50 ticks/s × N spans of Python ``read()`` calls would eat the core that the
mixer needs. The arrays are allocated once; the media thread calls ``read()``/``write()``
(each a single shim call that releases the GIL) and hands ``rx``/``tx`` to the DSP kernels.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ._shim import ffi, lib
from .channel import Channel
from .constants import ELAST, Law

__all__ = ["BChannelBatch"]


class BChannelBatch:
    """Row i of ``rx``/``tx`` is ``channels[i]``'s block of G.711 codes."""

    def __init__(self, channels: Sequence[Channel], laws: Sequence[Law] | None = None,
                 blocksize: int = 160) -> None:
        n = len(channels)
        self.channels = list(channels)
        self.blocksize = blocksize
        self.rx = np.zeros((n, blocksize), dtype=np.uint8)
        self.tx = np.zeros((n, blocksize), dtype=np.uint8)
        self.rx_status = np.zeros(n, dtype=np.int32)
        self.tx_status = np.zeros(n, dtype=np.int32)
        self.fds = np.array([c.fileno() for c in channels], dtype=np.int32)
        laws = list(laws) if laws is not None else [Law(c.params().curlaw) for c in channels]
        self.laws = np.array([int(l) for l in laws], dtype=np.int8)
        self.idle = np.array([Law(l).idle_code for l in laws], dtype=np.uint8)
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
        """Fill ``rx``; returns how many channels delivered a full block."""
        return lib.dshim_read_blocks(len(self.fds), self._p_fds, self._p_rx, self.blocksize,
                                     self.blocksize, self._p_idle, self._p_rxs)

    def write(self) -> int:
        """Send ``tx``; returns how many channels took a full block."""
        return lib.dshim_write_blocks(len(self.fds), self._p_fds, self._p_tx, self.blocksize,
                                      self.blocksize, self._p_txs)

    def detach(self, index: int) -> None:
        """Stop touching row ``index`` (its channel closed): the row reads idle from now on."""
        self.fds[index] = -1

    def rows_with_events(self) -> np.ndarray:
        """Rows whose last read failed with ELAST: their owner must call DAHDI_GETEVENT."""
        return np.flatnonzero(self.rx_status == -ELAST)

    def any_events(self) -> bool:
        """Whether any row's last read hit a pending event (no allocation: the per-tick check)."""
        np.equal(self.rx_status, -ELAST, out=self._event_rows)
        return bool(self._event_rows.any())

    def pacing_fd(self) -> int:
        """An open channel whose readiness paces the media thread (-1: none left)."""
        for fd in self.fds:
            if fd >= 0:
                return int(fd)
        return -1
