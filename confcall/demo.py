"""`confcall demo`: the whole box on the embedded default, with scripted subscribers, narrated.

What runs: the daemon (``confcall.daemon.Daemon``) on a simulated two-span E1 card with SQLite
(``var/demo.db``, recreated each run), the carrier's switch (libpri NET) on each span, and
subscribers on it who do what a subscriber does:

1. A dials the access number: hears "request confirmed" as early media, is cleared, pays nothing.
2. The box calls A back; A keys B ``#``, ``*`` C ``#``, ``*`` E ``#`` (E is busy).
3. B and C answer and hear waiting music until A is done; then everyone talks.
4. A presses ``0`` (who is in the call), then ``** 2 #`` to drop B; then A hangs up.
5. A's statement: the rated legs and the new balance.
6. D calls the service number, enters the PIN and hears the balance.
7. Span 2 loses signal for a few seconds (RED alarm) and comes back; the status shows it.

The session takes its reactor: the CLI runs it on the real reactor (real time, media thread,
DB pool, real prompts); the tests run the same script on a ``task.Clock``.

The narration tells what was observed, never what the script meant to happen: ``[do]`` lines
are the subscribers' actions; ``[box]`` lines are the box's own log; every other line is an
observation made on the simulated line — audio the phones decoded (who hears whom, at what
level), signalling the switch saw (CONNECT or not, causes, who cleared), money in the
database (ledger and rated legs) — and carries the facts it was made from (``narration``).
By default the run lasts until the script's last step has been observed.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import IO, Any, Callable

from confcall.clock import every
from confcall.config import Config
from confcall.dsp.g711 import LAW_ALAW

__all__ = ["DemoSession", "A", "B", "C", "D", "E"]

A, B, C, D, E = "13800138000", "13900139000", "13700137000", "13600136000", "13500135000"
PIN = "482913"
OPERATOR_PASSWORD = "demo-operator"  # the console's demo login (operator "demo")
ACCESS, SERVICE = "95000", "95001"
_STEP_S = 0.2


def _free_or_any(port: int) -> int:
    """``port`` if nothing listens on it on 127.0.0.1, else 0 (any free port)."""
    import socket
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


class _Narrator(logging.Handler):
    """confcall's own log lines, as a readable running commentary."""

    def __init__(self, session: "DemoSession") -> None:
        super().__init__(logging.INFO)
        self.session = session

    def emit(self, record: logging.LogRecord) -> None:
        if record.name in ("confcall.pri", "confcall.daemon", "confcall.calls"):
            return  # the daemon's own status lines arrive through on_event
        self.session.say(f"[box] {record.getMessage()}")


class DemoSession:
    def __init__(self, reactor: Any, out: IO[str] = sys.stdout, *, duration: float | None = None,
                 language: str = "zh", virtual: bool = False, sounds: Any = None,
                 var_dir: str = "var") -> None:
        self.reactor = reactor
        self.out = out
        self.duration = duration
        self.language = language
        self.virtual = virtual
        self.sounds = sounds
        self.var = Path(var_dir)
        self.t0 = float(reactor.seconds())
        self.lines: list[str] = []
        # (kind, line, facts): kind "do" (an action), "box" (the box's log) or what was
        # observed ("line", "heard", "money", "status"), with the facts it was made from
        self.narration: list[tuple[str, str, dict[str, Any]]] = []
        self.done = False
        self.finished = False
        self._steps: list[tuple[str, Callable[[], bool], Callable[[], None], float]] = []
        self._loops: list[Any] = []
        self._handler = _Narrator(self)

    # -- output -------------------------------------------------------------------------------
    def say(self, text: str, kind: str = "box", **facts: Any) -> None:
        line = f"[{float(self.reactor.seconds()) - self.t0:6.2f}s] {text}"
        self.lines.append(line)
        self.narration.append((kind, line, facts))
        self.out.write(line + "\n")
        self.out.flush()

    def seen(self, kind: str, text: str, **facts: Any) -> None:
        """An observation: ``text`` made from ``facts`` (decoded audio, signalling, rows)."""
        if not facts:
            raise ValueError(f"an observation needs the facts it was made from: {text!r}")
        self.say(f"[{kind}] {text}", kind, **facts)

    # -- start/stop ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """The demo's database: fresh, migrated, seeded, with A and D funded. Synchronous:
        call it before the reactor runs (the store refuses to block a running reactor)."""
        from confcall.daemon import _seed_if_empty, ensure_pepper
        from confcall.rating import ops
        from confcall.store import Store, upgrade

        self.var.mkdir(parents=True, exist_ok=True)
        db = self.var / "demo.db"
        for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            if p.exists():
                p.unlink()
        url = f"sqlite:///{db}"
        ensure_pepper(str(self.var))
        if self.virtual:
            from confcall.rating import secrets_
            secrets_.configure("test")  # cheap argon2: the virtual run is a test
        upgrade(url)
        self.url = url
        self.store = Store(url)
        _seed_if_empty(self.store)
        self._opening_fen = 5_000
        for number, fen in ((A, self._opening_fen), (D, 2_000)):
            e164 = "+86" + number
            ops.create_account(self.store, e164, PIN)
            ops.adjust(self.store, e164, fen, f"demo-{e164}", "demo opening balance")
        from datetime import UTC, datetime

        from confcall.web.operators import create_operator
        create_operator(self.store, "demo", OPERATOR_PASSWORD, "admin", datetime.now(UTC))
        # prompts rendered and media kernels compiled before the reactor runs (issue 13)
        from confcall.daemon import prompt_sounds
        from confcall.warmup import warm_kernels
        if self.sounds is None:
            self.sounds = prompt_sounds(self.language)
        warm_kernels()

    def start(self) -> None:
        from confcall.sim import SimCard, SimPhone, SimSwitch

        from confcall.daemon import Daemon

        if not hasattr(self, "store"):
            self.prepare()
        url = self.url
        self.card = SimCard([("E1", "pri"), ("E1", "pri")],
                            devicetype="Simulated 2-span E1 (demo)").install()
        config = Config(source="demo", database_url=url, simulated=True,
                        access_numbers=(ACCESS,), service_numbers=(SERVICE,), caller_id=ACCESS,
                        callback_delay_s=3.0, language=self.language,
                        web_enabled=not self.virtual, web_bind="127.0.0.1",
                        web_port=_free_or_any(8080), metrics_port=_free_or_any(9464))
        runner = None
        if self.virtual:
            from confcall.store.inline import InlineRunner
            runner = InlineRunner(self.store)
        logging.getLogger("confcall").addHandler(self._handler)
        logging.getLogger("confcall").setLevel(logging.INFO)
        self.daemon = Daemon(config, self.reactor, runner=runner, store=self.store,
                             card=self.card, sounds=self.sounds,
                             media_in_thread=not self.virtual, on_event=lambda t: self.say(
                                 f"[box] {t}"))
        self.daemon.start()
        self.switches = [SimSwitch(sim, self.reactor) for sim in self.card.spans]
        self.phones = {
            "A": SimPhone(A, answer_after=1.5, voice_hz=350.0),
            "B": SimPhone(B, answer_after=2.0, voice_hz=450.0),
            "C": SimPhone(C, answer_after=3.0, voice_hz=550.0),
            "D": SimPhone(D, answer_after=1.0),
            "E": SimPhone(E, behaviour="busy"),
        }
        for sw in self.switches:
            for phone in self.phones.values():
                sw.add_phone(phone)
        self._loops += [every(self.reactor, 0.02, self._service_switches),
                        every(self.reactor, _STEP_S, self._run_script)]
        self._script()
        web = getattr(self.daemon, "_web_port", None)
        if web is not None:
            self.say(f"web: open http://127.0.0.1:{web.getHost().port}/ and log in as {A} "
                     f"with password {PIN} (operator console /ops: demo / "
                     f"{OPERATOR_PASSWORD}); a call booked there is "
                     "dialled by this box at its time (run with --duration 0 to wait for it)")
        self.say(f"subscribers: A {A} (balance 50.00 yuan), B {B}, C {C}, D {D} "
                 f"(20.00 yuan), E {E} (always busy); access number {ACCESS}, service "
                 f"number {SERVICE}; prompts in {self.language}")
        if self.duration:
            self.reactor.callLater(self.duration, self.stop)

    def _service_switches(self) -> None:
        for sw in self.switches:
            sw.service()

    def stop(self) -> Any:
        """End the run (returns a Deferred the reactor's shutdown can wait for)."""
        if self.done or not hasattr(self, "daemon"):
            return None
        self.done = True
        dropped = sum(c.overruns for sp in self.card.spans for c in sp.channels)
        self.seen("line", f"{dropped} audio blocks dropped by overrun on the card (the media "
                  f"engine fell behind the span clock {'never' if not dropped else 'sometimes'})",
                  overruns=dropped)
        return self.daemon.stop().addCallback(self._stopped)

    def _stopped(self, _: Any) -> None:
        for loop in self._loops:
            if loop.running:
                loop.stop()
        for sw in self.switches:
            sw.link.stop()
        self.card.uninstall()
        self.store.dispose()
        logging.getLogger("confcall").removeHandler(self._handler)
        self.say("demo finished")
        self.finished = True
        if not self.virtual:
            try:
                self.reactor.stop()
            except Exception:  # noqa: BLE001 - already stopping
                pass

    # -- the script ------------------------------------------------------------------------------
    def step(self, what: str, when: Callable[[], bool], action: Callable[[], None],
             after_s: float = 0.0) -> None:
        self._steps.append((what, when, action, after_s))

    def _run_script(self) -> None:
        if not self._steps or self.done:
            return
        what, when, action, after_s = self._steps[0]
        if not when():
            return
        self._steps.pop(0)
        if after_s:  # the condition held: now wait the delay, then act
            t = float(self.reactor.seconds()) + after_s
            self._steps.insert(0, (what, lambda: float(self.reactor.seconds()) >= t, action,
                                   0.0))
            return
        if what:
            self.say(f"[do] {what}", "do")
        action()
        if not self._steps and self.duration is None:
            self.reactor.callLater(2.0, self.stop)  # the last step observed: the run is over

    def _phone(self, key: str) -> Any:
        return self.phones[key]

    def _script(self) -> None:
        a, b, c, d = (self._phone(k) for k in "ABCD")
        sw = self.switches[0]
        st: dict[str, Any] = {}
        now = lambda: float(self.reactor.seconds())  # noqa: E731
        start = now()

        self.step(f"A dials the access number {ACCESS}", lambda: now() - start >= 1.0,
                  lambda: st.__setitem__("access", sw.place_call(A, ACCESS)))
        self.step("", lambda: "access" in st and st["access"].ended,
                  lambda: self._access_seen(st["access"]))
        self.step("", lambda: len(a.calls) >= 2 and a.last.connected, lambda: self.seen(
            "line", f"A's phone rang (the callback, from {a.last.calling or 'withheld'}) and "
                    "A answered: CONNECT", calling=a.last.calling, connected=True))
        self.step(f"A keys B's number: {B} #", lambda: True, lambda: a.press(B + "#"),
                  after_s=4.0)
        self.step(f"while B rings, A keys * {C} # and * {E} #", lambda: bool(b.calls),
                  lambda: a.press("*" + C + "#*" + E + "#"), after_s=0.5)
        self.step("A, B and C talk (each phone its own voice tone)",
                  lambda: bool(c.calls) and c.last.connected,
                  lambda: [p.talk() for p in (a, b, c)], after_s=8.0)
        self.step("", lambda: True, lambda: self._who_hears_whom(
            {"A": a, "B": b, "C": c}), after_s=3.0)
        self.step("", lambda: bool(self.phones["E"].calls) and self.phones["E"].last.ended,
                  lambda: self.seen("line", f"E's line: cause {self.phones['E'].last.cause} "
                                    "(busy), never connected",
                                    cause=self.phones["E"].last.cause,
                                    connected=self.phones["E"].last.connected))
        self.step("A presses 0: who is in the call?", lambda: True, lambda: a.press("0"),
                  after_s=4.0)
        self.step("A presses ** 2 # to drop seat 2 (B)", lambda: True,
                  lambda: a.press("**2#"), after_s=5.0)
        self.step("", lambda: b.last.ended, lambda: self.seen(
            "line", f"B's call cleared by {b.last.cleared_by} with cause {b.last.cause}",
            cleared_by=b.last.cleared_by, cause=b.last.cause))
        self.step("A hangs up: the conference ends", lambda: True,
                  lambda: sw.hangup(a.last, 16), after_s=5.0)
        self.step("", lambda: a.last.ended, self._statement, after_s=1.0)
        self.step(f"D calls the service number {SERVICE}", lambda: True,
                  lambda: st.__setitem__("ivr", sw.place_call(D, SERVICE)), after_s=1.0)
        self.step(f"D enters the PIN {PIN} #", lambda: st["ivr"].connected,
                  lambda: d.press(PIN + "#"), after_s=5.0)
        self.step("D presses 2: balance", lambda: True, lambda: d.press("2"), after_s=4.0)
        self.step("D hangs up", lambda: True, lambda: self._ivr_done(st["ivr"]), after_s=8.0)
        self.step("", lambda: st["ivr"].ended, self._d_balance)
        self.step("span 2 loses signal (RED alarm)", lambda: True, self._alarm_on,
                  after_s=1.0)
        self.step("span 2 signal restored", lambda: True, self._alarm_off, after_s=4.0)
        self.step("", lambda: True, self._status, after_s=3.0)

    def _statement(self) -> None:
        from confcall.rating import ops
        runner = self.daemon.runner

        def legs(session: Any) -> list[tuple[str, str, int, int, int]]:
            from sqlalchemy import select

            from confcall.store.models import Leg
            return [(x.destination, x.number_class, x.duration_s, x.billed_s, x.amount_fen)
                    for x in session.scalars(select(Leg).order_by(Leg.id))]

        rated: list[int] = []

        def show_legs(rows: list[tuple[str, str, int, int, int]]) -> None:
            for dest, cls, dur, billed, fen in rows:
                rated.append(fen)
                self.seen("money", f"leg to {dest} ({cls}): {dur} s, billed {billed} s = "
                          f"{fen / 100:.2f} yuan", destination=dest, billed_s=billed,
                          amount_fen=fen)

        def show_balance(b: Any) -> None:
            opening = self._opening_fen
            paid = opening - b.balance_fen
            self.seen("money", f"A's balance now {b.balance_fen / 100:.2f} yuan (was "
                      f"{opening / 100:.2f}): paid {paid / 100:.2f} = the "
                      f"{len(rated)} rated legs" + (", nothing for the access call"
                                                    if paid == sum(rated) else
                                                    f" + {(paid - sum(rated)) / 100:.2f} more"),
                      balance_fen=b.balance_fen, opening_fen=opening, legs_fen=sum(rated))

        runner.call(legs).addCallback(show_legs).addCallback(
            lambda _: runner.call_plain(ops.balance, "+86" + A)).addCallback(show_balance) \
            .addErrback(lambda f: self.say(f"[box] reading A's statement failed: "
                                           f"{f.getErrorMessage()}"))

    def _ivr_done(self, rec: Any) -> None:
        for sw in self.switches:
            sw.hangup(rec, 16)
        from confcall.sim.voice import decode
        x = decode(rec.audio, LAW_ALAW)
        loud = _speech_seconds(x)
        self.seen("heard", f"D heard {loud:.1f} s of announcements in a {len(x) / 8000:.1f} s "
                  "call", speech_s=round(loud, 1), call_s=round(len(x) / 8000, 1))
        heard = self.daemon.ivr.calls[-1].heard if self.daemon.ivr.calls else []
        self.say(f"[box] IVR prompts played to D: {' '.join(heard)}")

    def _d_balance(self) -> None:
        from confcall.rating import ops
        d = self.daemon.runner.call_plain(ops.balance, "+86" + D)
        d.addCallback(lambda b: self.seen(
            "money", f"D's balance in the database: {b.balance_fen / 100:.2f} yuan",
            balance_fen=b.balance_fen))
        d.addErrback(lambda f: self.say(f"[box] reading D's balance failed: "
                                        f"{f.getErrorMessage()}"))

    def _access_seen(self, rec: Any) -> None:
        """What the switch saw of A's access call, and A's money after it (database)."""
        from confcall.rating import ops
        facts = {"cause": rec.cause, "connected": rec.connected,
                 "early_s": round(len(rec.early_audio) / 8000, 1),
                 "progress": rec.saw("PROGRESS")}
        self.seen("line", f"A's access call cleared with cause {rec.cause} after "
                  f"{facts['early_s']:.1f} s of announcement (PROGRESS "
                  f"{'seen' if facts['progress'] else 'NOT seen'}); CONNECT "
                  f"{'never sent' if not rec.connected else 'SENT'}", **facts)
        d = self.daemon.runner.call_plain(ops.balance, "+86" + A)
        d.addCallback(lambda b: self.seen(
            "money", f"A's balance after the access call: {b.balance_fen / 100:.2f} yuan "
            + ("(unchanged: A is not charged)" if b.balance_fen == self._opening_fen else
               f"(CHANGED from {self._opening_fen / 100:.2f})"),
            balance_fen=b.balance_fen, opening_fen=self._opening_fen))
        d.addErrback(lambda f: self.say(f"[box] reading A's balance failed: "
                                        f"{f.getErrorMessage()}"))

    def _who_hears_whom(self, phones: dict[str, Any]) -> None:
        """Decode the last second each talking phone heard and measure every voice in it."""
        from confcall.sim.voice import decode, level_db
        levels: dict[str, dict[str, float]] = {}
        for name, phone in phones.items():
            x = decode(phone.last.audio, LAW_ALAW)[-8000:]
            levels[name] = {other: round(level_db(x, p.voice_hz), 1)
                            for other, p in phones.items()}
        parts = []
        for name, lv in levels.items():
            others = ", ".join(f"{o} at {lv[o]:.0f} dB" for o in lv if o != name)
            parts.append(f"{name} hears {others} (own voice {lv[name]:.0f} dB)")
        self.seen("heard", "; ".join(parts), levels=levels)

    def _alarm_on(self) -> None:
        self.card.spans[1].raise_alarm("RED", "LOS")
        self.card.spans[1].add_errors(bpv=17, crc4=5)
        self._status()

    def _alarm_off(self) -> None:
        self.card.spans[1].clear_alarm()

    def _status(self) -> None:
        from confcall.console import render_reports
        from confcall.dahdi.inventory import inventory
        in_use = {leg.channo for t in self.daemon.trunks for leg in t.legs.values()
                  if leg.channo is not None}
        spans = inventory()
        for line in render_reports(spans, in_use).splitlines():
            self.seen("status", line, source="DAHDI_SPANSTAT")


def _speech_seconds(x: Any, threshold: float = 300.0) -> float:
    """Seconds of 20 ms blocks whose RMS exceeds ``threshold`` (sound, not silence)."""
    import numpy as np
    n = len(x) // 160
    if n == 0:
        return 0.0
    blocks = np.asarray(x[:n * 160], dtype=np.float64).reshape(n, 160)
    return float(np.count_nonzero(np.sqrt(np.mean(blocks ** 2, axis=1)) > threshold)) * 0.02
