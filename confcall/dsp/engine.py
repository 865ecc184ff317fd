"""The media engine: every B-channel of every span through the DSP chain, once per 20 ms tick.

What it does
------------
Takes one ``(nchan, 160)`` uint8 array of G.711 codes read from all open B-channels (each
channel with its own law, 1 = μ-law, 2 = A-law) and fills one same-shaped array to write back,
running decode → echo cancel → DTMF detect → key suppression → N-1 mix (+ prompts, music) →
encode. DTMF is detected on the echo-cancelled signal *before* the canceller's NLP (which could
take a quiet key press under loud far-end speech for residual echo); the mix gets the NLP
output. Commands from call control (join/leave, mute, deaf, gains, prompts, music, echo
canceller on/off, law) are queued from any thread and applied at the next tick boundary;
events (digit start/end, prompt finished) go out through an injected ``deliver(fn, *args)``
(``reactor.callFromThread`` in production, a direct call in tests).

How it works
------------
All state lives in the stage modules' per-channel arrays (``g711``, ``echo``, ``dtmf``,
``keysuppress``, ``mixer``), allocated once here. A tick is at most two numba calls (each
releases the GIL) and a Python loop over the *events* of that tick only (none in the usual
tick): the echo canceller over all channels whose canceller is on (skipped while none is), then
one fused kernel (``_tick``) that takes each channel through decode → DTMF → key suppression →
its conference's sum while its 160 samples sit in L1 cache, renders each conference's music,
and takes each channel again through N-1 output (+ music, prompt) → encode. Per-stage passes
over whole arrays would stream ~8 KB a channel through the caches every tick; fused, a channel
costs its codes in and out, its delay line and its detector state (~1.6 KB) and the engine
needs no work arrays (measured: as fast as separate passes over the same per-channel kernels,
within this VM's ±5 % noise). At 960 channels a tick's state is far beyond L2, so what a
channel costs is mostly the cache lines its state occupies: the stages keep it small (16-bit
rings, the detector's tone bins together and its rarely used guard bins apart). The stages' own
array-wide functions (``dtmf.rx``, ``mixer.mix`` …) run the same per-channel kernels. The echo
canceller's reference for this tick's rx is the linear audio sent in the previous tick.
Commands are closures on a ``SimpleQueue`` run by the media thread before the tick, so the
arrays are only ever touched by one thread.

How to use it
-------------
::

    eng = MediaEngine(nchan, laws, deliver=reactor.callFromThread, on_event=call_control.event)
    pid = eng.register_sound(int16_audio)      # once, at start-up (prompts and music)
    eng.join(ch, conf=3); eng.play(ch, pid)    # from any thread
    eng.process_tick(rx_codes, tx_codes)       # tests: step in virtual time
    eng.start(read, write)                     # production: own thread; read(rx) blocks for
    eng.stop()                                 # the next tick and returns False to stop;
                                               # eng.wait() joins a thread that ended so

``on_event`` receives ``DigitEvent`` records (``start=True`` when a key's tone is confirmed,
about 40 ms in; ``start=False`` at the tone's end) and ``PromptDone`` records. Conference ids
are 0..nchan-1, chosen by call control. Echo cancellers are on by default (every channel is a
PSTN leg behind a hybrid); turn them off for channels whose card cancels echo in hardware.
While no channel's canceller is on, the tick skips the echo stage altogether.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from . import dtmf, echo, g711, keysuppress, mixer

BLOCK = 160  # samples per tick (20 ms at 8 kHz)
FAULTS_BEFORE_STOP = 50  # ticks in a row that fail (1 s): the engine stops and says so

log = logging.getLogger("confcall.media")


# error_model="numpy": no zero-divisor test before each division (every divisor here is a
# constant or the validated chunk length); measured 3 % of the tick
@njit(nogil=True, cache=True, _nrt=False, fastmath=True, error_model="numpy")
def _tick(rx, tx, law, ec_on, clean, pre_nlp, sent, row, drow, orow, wrow, wbits, D, kfirst,
          klast, E, K, M, data, off, length, done, done_id, counts):
    """One tick of every channel after the echo stage (see the module doc); ``counts`` gets
    the number of DTMF events and of finished prompts."""
    nch = rx.shape[0]
    n = rx.shape[1]
    nev = 0
    for c in range(nch):
        if ec_on:
            x = clean[c]
            xd = pre_nlp[c]  # DTMF before the NLP, which could eat a quiet key
        else:
            g711.decode_row(rx[c], law[c], row)
            x = row
            xd = row
        nev = dtmf.chan(c, xd, D, E, nev)
        keysuppress.chan_in(c, x, kfirst[c], klast[c], D[15][c] >= 0, K)
        keysuppress.delayed(c, drow, K)
        mixer.contribute(c, drow, M)
    mixer.render_music(n, M, data, off, length)
    ndone = 0
    for c in range(nch):
        keysuppress.delayed(c, drow, K)  # again: the channel's own contribution
        ndone = mixer.output(c, drow, orow, M, data, done, done_id, ndone)
        g711.encode_row(orow, law[c], tx[c], wrow, wbits)
        if ec_on:
            sc = sent[c]
            for i in range(n):
                sc[i] = orow[i]
    mixer.end_tick(M)
    counts[0] = nev
    counts[1] = ndone


@dataclass(frozen=True)
class DigitEvent:
    """A DTMF digit started (``start``) or ended on ``chan``; ``sample`` is the engine sample
    clock (8 kHz, ``tick * 160 + offset``) of the tone edge, ``tick`` when it was reported."""

    chan: int
    digit: str
    start: bool
    tick: int
    sample: int


@dataclass(frozen=True)
class PromptDone:
    chan: int
    sound: int
    tick: int


@dataclass(frozen=True)
class MediaFault:
    """A fault in the media path, for call control and the NOC.

    ``chan``: the engine row whose channel failed (its call must be cleared; the row is out of
    service), or -1 for a fault of the whole tick. ``fatal``: the engine gave up after
    ``FAULTS_BEFORE_STOP`` failing ticks in a row and its thread ended: every call is silent.
    ``cause``: what failed, as the exception said it (errno and channel included)."""

    chan: int
    cause: str
    tick: int
    fatal: bool = False


class TickGuard:
    """What the media loop does with an exception: log it with its cause (the traceback once,
    then once a second while it repeats), count it, and say when to give up."""

    def __init__(self, limit: int = FAULTS_BEFORE_STOP) -> None:
        self.limit = limit
        self.in_a_row = 0
        self.total = 0
        self.last: str = ""

    def ok(self) -> None:
        if self.in_a_row:
            log.warning("media tick recovered after %d failing tick(s)", self.in_a_row)
        self.in_a_row = 0

    def fault(self, e: BaseException) -> bool:
        """Record ``e``; True when the loop must stop (too many failing ticks in a row)."""
        self.in_a_row += 1
        self.total += 1
        self.last = describe(e)
        if self.in_a_row == 1:
            log.error("media tick failed: %s", self.last, exc_info=e)
        elif self.in_a_row % 50 == 0:
            log.error("media tick still failing (%d in a row): %s", self.in_a_row, self.last)
        return self.in_a_row >= self.limit


def describe(e: BaseException) -> str:
    """An exception as one line for logs and alarms: its type, errno name and message."""
    import errno as _errno
    err = getattr(e, "errno", None)
    name = _errno.errorcode.get(err, "") if isinstance(err, int) else ""
    text = str(e) or type(e).__name__
    if name and name not in text:
        text = f"[{name}] {text}"
    return f"{type(e).__name__}: {text}"


def _direct(fn: Callable, *args) -> None:
    fn(*args)


class MediaEngine:
    """Owns the DSP state of ``nchan`` channels and runs the per-tick pipeline."""

    def __init__(self, nchan: int, laws, deliver: Callable = _direct,
                 on_event: Callable | None = None, echo_cancel: bool = True,
                 level_control: bool = False):
        if nchan <= 0:
            raise ValueError("nchan must be positive")
        self.nchan = nchan
        self.law = np.ascontiguousarray(np.broadcast_to(np.asarray(laws, np.int8), (nchan,)))
        if not np.all(np.isin(self.law, (g711.LAW_MULAW, g711.LAW_ALAW))):
            raise ValueError("laws must be 1 (mu-law) or 2 (A-law)")
        self.deliver = deliver
        self.on_event = on_event or (lambda ev: None)
        self.tick = 0
        self.dtmf = dtmf.init(nchan)
        self.echo = echo.init(nchan)
        self.echo.enabled[:] = 1 if echo_cancel else 0
        self._echo_any = echo_cancel  # some channel's canceller is on (else the stage is skipped)
        self.ks = keysuppress.init(nchan)
        self.mix = mixer.init(nchan, BLOCK)
        self._level_default = 1 if level_control else 0  # every new call's levelling
        self.mix.level_on[:] = self._level_default
        self.bank = mixer.Bank()
        shape = (nchan, BLOCK)
        self.lin = np.zeros(shape, np.float32)  # decoded input (echo canceller on)
        self.clean = np.zeros(shape, np.float32)
        self.pre_nlp = np.zeros(shape, np.float32)  # echo-cancelled, before the NLP
        self.sent = np.zeros(shape, np.float32)  # echo reference: last tick's output
        self._rows = np.zeros((4, BLOCK), np.float32)  # one channel's work rows (stay in L1)
        self._wbits = self._rows[3].view(np.int32)  # the encoder's work row, as integers
        self._counts = np.zeros(2, np.int64)
        self._args: tuple = ()
        self._args_bank: mixer.Bank | None = None
        self.events = dtmf.Events(max(256, 4 * nchan))
        self.done = np.zeros(nchan, np.int32)
        self.done_id = np.zeros(nchan, np.int32)
        self._cmds: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending_bank = self.bank
        self._thread: threading.Thread | None = None
        self._running = False
        self.on_fault: Callable[[MediaFault], None] | None = None  # on the deliver thread
        self.guard = TickGuard()
        self.failed = ""  # why the thread gave up ("" while it runs or never failed)

    # ------------------------------------------------------------------ tick
    def process_tick(self, rx_codes: np.ndarray, tx_codes: np.ndarray) -> None:
        """Apply pending commands, then process one 20 ms tick of every channel."""
        if (rx_codes.shape != (self.nchan, BLOCK) or tx_codes.shape != rx_codes.shape
                or rx_codes.dtype != np.uint8 or tx_codes.dtype != np.uint8):
            raise ValueError(f"expected ({self.nchan}, {BLOCK}) uint8 arrays")
        self._apply_commands()
        ec = self._echo_any
        if ec:
            g711.decode(rx_codes, self.law, self.lin)
            echo.process(self.echo, self.lin, self.sent, self.clean, self.pre_nlp)
        if self._args_bank is not self.bank:  # built once, again only after register_sound
            self._args = self._tick_args()
            self._args_bank = self.bank
        _tick(rx_codes, tx_codes, self.law, ec, *self._args)
        nev, ndone = int(self._counts[0]), int(self._counts[1])
        if nev or ndone:
            self._emit(nev, ndone)
        self.tick += 1

    def _tick_args(self) -> tuple:
        """The fused kernel's arguments after (rx, tx, law, echo on): every state array, as
        one tuple so a tick does not rebuild it."""
        b = self.bank
        r = self._rows
        return (self.clean, self.pre_nlp, self.sent, r[0], r[1], r[2], r[3], self._wbits,
                self.dtmf.arrays(), self.dtmf.kfirst, self.dtmf.klast, self.events.arrays(),
                self.ks.arrays(), mixer.arrays(self.mix), b.data, b.off, b.length, self.done,
                self.done_id, self._counts)

    def _emit(self, nev: int, ndone: int) -> None:
        ev = self.events
        for j in range(nev):
            self.deliver(self.on_event, DigitEvent(
                int(ev.chan[j]), dtmf.DIGITS[ev.digit[j]], bool(ev.kind[j] == dtmf.START),
                self.tick, int(ev.time[j])))
        for j in range(ndone):
            self.deliver(self.on_event, PromptDone(int(self.done[j]), int(self.done_id[j]),
                                                   self.tick))

    # --------------------------------------------------------------- thread
    def start(self, read: Callable, write: Callable) -> None:
        """Run ticks in a daemon thread: ``read(rx)`` fills rx and returns False to stop.

        The loop is guarded: an exception from ``read``, a kernel or ``write`` is logged with
        its cause and reported to ``on_fault`` (through ``deliver``), and the next tick runs 20
        ms later, so a passing fault costs one tick. After ``FAULTS_BEFORE_STOP`` failing
        ticks in a row the thread ends, ``failed`` says why and a fatal ``MediaFault`` goes
        out: call control clears the calls that can no longer be heard and may start again."""
        if self._thread is not None:
            if self._thread.is_alive():
                raise RuntimeError("already running")
            self._thread = None  # it ended (by a fault): a restart
        rx = np.zeros((self.nchan, BLOCK), np.uint8)
        tx = np.zeros((self.nchan, BLOCK), np.uint8)
        self._running = True
        self.failed = ""
        self.guard = guard = TickGuard()

        def loop() -> None:
            try:
                while self._running:
                    try:
                        if not read(rx):
                            break
                        self.process_tick(rx, tx)
                        write(tx)
                    except Exception as e:  # noqa: BLE001 - logged, reported, survived
                        if self._fault(guard, e):
                            break
                        time.sleep(BLOCK / 8000)  # the tick's worth: no spinning on a fault
                        continue
                    guard.ok()
            except BaseException as e:  # noqa: BLE001 - the thread must never end unseen
                self._fault(guard, e, fatal=True)
            finally:
                self._running = False

        self._thread = threading.Thread(target=loop, name="media", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the media thread is alive and ticking."""
        return self._running and self._thread is not None and self._thread.is_alive()

    def _fault(self, guard: TickGuard, e: BaseException, fatal: bool = False) -> bool:
        fatal = guard.fault(e) or fatal
        if fatal:
            self.failed = f"stopped after {guard.in_a_row} failing tick(s): {guard.last}"
            log.critical("media engine %s", self.failed)
        if self.on_fault is not None and (guard.in_a_row == 1 or fatal):
            try:
                self.deliver(self.on_fault, MediaFault(-1, guard.last, self.tick, fatal))
            except Exception:  # noqa: BLE001 - e.g. the reactor is gone at shutdown
                log.exception("media fault could not be reported")
        return fatal

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the media thread to end by itself (its tick source returned False)."""
        if self._thread is not None:
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self._thread = None

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop after the current tick (the tick source may still block until its next tick)."""
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # ------------------------------------------------------------- commands
    def _apply_commands(self) -> None:
        while True:
            try:
                cmd = self._cmds.get_nowait()
            except queue.Empty:
                return
            cmd()

    def _chan(self, chan: int) -> int:
        if not 0 <= chan < self.nchan:
            raise ValueError(f"no channel {chan}")
        return chan

    def _post(self, fn: Callable) -> None:
        self._cmds.put(fn)

    def register_sound(self, audio: np.ndarray) -> int:
        """Register a prompt or music (8 kHz linear int16); returns its id. Call at start-up:
        the bank grows at the next tick boundary."""
        a = np.asarray(audio)
        if a.ndim != 1 or a.size == 0:
            raise ValueError("sound must be a non-empty 1-D array")
        with self._lock:
            cur = self._pending_bank
            new = mixer.Bank()
            new.data, new.off, new.length = cur.data, cur.off, cur.length
            sid = new.add(a)
            self._pending_bank = new
        if self._thread is None:
            # not running: usable at once, and no queued command keeps this bank alive (112
            # prompts queued 112 growing copies until the first tick: ~500 MB at start-up)
            self.bank = new
        else:
            self._post(lambda: setattr(self, "bank", new))
        return sid

    def join(self, chan: int, conf: int, talk: float = 1.0, listen: float = 1.0) -> None:
        c = self._chan(chan)
        if not 0 <= conf < self.nchan:
            raise ValueError("conference ids are 0..nchan-1")
        m = self.mix

        def f() -> None:
            m.conf[c] = conf
            m.talk[c] = talk
            m.listen[c] = listen
        self._post(f)

    def leave(self, chan: int) -> None:
        c = self._chan(chan)
        self._post(lambda: self.mix.conf.__setitem__(c, -1))

    def mute(self, chan: int, on: bool = True) -> None:
        c = self._chan(chan)
        self._post(lambda: self.mix.mute.__setitem__(c, 1 if on else 0))

    def deaf(self, chan: int, on: bool = True) -> None:
        c = self._chan(chan)
        self._post(lambda: self.mix.deaf.__setitem__(c, 1 if on else 0))

    def set_gains(self, chan: int, talk_db: float = 0.0, listen_db: float = 0.0) -> None:
        c = self._chan(chan)
        t, li = 10 ** (talk_db / 20), 10 ** (listen_db / 20)

        def f() -> None:
            self.mix.talk[c] = t
            self.mix.listen[c] = li
        self._post(f)

    def hear_music(self, chan: int, on: bool = True) -> None:
        c = self._chan(chan)
        self._post(lambda: self.mix.hear_music.__setitem__(c, 1 if on else 0))

    def play(self, chan: int, sound: int, level_db: float = 0.0) -> None:
        """Play a registered sound to ``chan`` only (replaces any prompt playing there)."""
        c = self._chan(chan)
        g = 10 ** (level_db / 20)

        def f() -> None:
            b = self.bank
            if not 0 <= sound < b.off.size:
                raise ValueError(f"no sound {sound}")
            m = self.mix
            m.prompt_id[c] = sound
            m.prompt_pos[c] = b.off[sound]
            m.prompt_end[c] = b.off[sound] + b.length[sound]
            m.prompt_gain[c] = g
        self._check_sound(sound)
        self._post(f)

    def stop_prompt(self, chan: int) -> None:
        c = self._chan(chan)
        self._post(lambda: self.mix.prompt_id.__setitem__(c, -1))

    def waiting_music(self, conf: int, sound: int | None, level_db: float = 0.0) -> None:
        """Start (``sound``) or stop (None) the waiting music of a conference."""
        self._music(self.mix.wait_src, self.mix.wait_pos, self.mix.wait_gain, conf, sound,
                    level_db)

    def background_music(self, conf: int, sound: int | None, level_db: float = -20.0) -> None:
        """Set (``sound``) or clear (None) a conference's background music and its level."""
        self._music(self.mix.bg_src, self.mix.bg_pos, self.mix.bg_gain, conf, sound, level_db)

    def _music(self, src, pos, gain, conf: int, sound: int | None, level_db: float) -> None:
        if not 0 <= conf < self.nchan:
            raise ValueError("conference ids are 0..nchan-1")
        if sound is not None:
            self._check_sound(sound)
        g = 10 ** (level_db / 20)

        def f() -> None:
            src[conf] = -1 if sound is None else sound
            pos[conf] = 0
            gain[conf] = g
        self._post(f)

    def _check_sound(self, sound: int) -> None:
        with self._lock:
            known = self._pending_bank.off.size
        if not 0 <= sound < known:
            raise ValueError(f"no sound {sound}")

    def echo_canceller(self, chan: int, on: bool = True, nlp: bool = True) -> None:
        c = self._chan(chan)

        def f() -> None:
            if on and not self.echo.enabled[c]:
                echo.reset(self.echo, [c])
                self.sent[c] = 0.0  # not kept up to date while no canceller needed it
            self.echo.enabled[c] = 1 if on else 0
            self.echo.nlp_on[c] = 1 if nlp else 0
            self._echo_any = bool(self.echo.enabled.any())
        self._post(f)

    def level_control(self, chan: int, on: bool = True) -> None:
        """Conference levelling for ``chan``'s contribution: a slow, bounded automatic gain
        towards a common speech level and a noise gate while it does not talk (see
        ``mixer``); off by default."""
        c = self._chan(chan)
        self._post(lambda: self.mix.level_on.__setitem__(c, 1 if on else 0))

    def key_suppression(self, chan: int, on: bool = True) -> None:
        c = self._chan(chan)
        self._post(lambda: self.ks.enabled.__setitem__(c, 1 if on else 0))

    def set_law(self, chan: int, law: int) -> None:
        c = self._chan(chan)
        if law not in (g711.LAW_MULAW, g711.LAW_ALAW):
            raise ValueError("law must be 1 (mu-law) or 2 (A-law)")
        self._post(lambda: self.law.__setitem__(c, law))

    def reset_channel(self, chan: int) -> None:
        """A new call on ``chan``: forget everything of the previous one."""
        c = self._chan(chan)

        def f() -> None:
            for mod, st in ((dtmf, self.dtmf), (echo, self.echo), (keysuppress, self.ks),
                            (mixer, self.mix)):
                mod.reset(st, [c])
            self.mix.level_on[c] = self._level_default
            self.sent[c] = 0.0
        self._post(f)

    def levels_dbm0(self) -> np.ndarray:
        """Each channel's input level (dBm0, about 100 ms average; -99 for silence), a copy."""
        ms = self.mix.power.astype(np.float64) / (dtmf.DBM0_PEAK**2 / 2)
        return np.maximum(10 * np.log10(ms + 1e-12), -99.0)

    def status(self, chan: int) -> dict:
        c = self._chan(chan)
        return {"law": int(self.law[c]), "dtmf": dtmf.status(self.dtmf, c),
                "echo": echo.status(self.echo, c), "keys": keysuppress.status(self.ks, c),
                "mixer": mixer.status(self.mix, c), "level_dbm0": float(self.levels_dbm0()[c])}
