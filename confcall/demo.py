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
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import IO, Any, Callable

from confcall.clock import every
from confcall.config import Config

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
    def __init__(self, reactor: Any, out: IO[str] = sys.stdout, *, duration: float = 60.0,
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
        self.done = False
        self.finished = False
        self._steps: list[tuple[str, Callable[[], bool], Callable[[], None], float]] = []
        self._loops: list[Any] = []
        self._handler = _Narrator(self)

    # -- output -------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        line = f"[{float(self.reactor.seconds()) - self.t0:6.2f}s] {text}"
        self.lines.append(line)
        self.out.write(line + "\n")
        self.out.flush()

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
        for number, fen in ((A, 5_000), (D, 2_000)):
            e164 = "+86" + number
            ops.create_account(self.store, e164, PIN)
            ops.adjust(self.store, e164, fen, f"demo-{e164}", "demo opening balance")
        from datetime import UTC, datetime

        from confcall.web.operators import create_operator
        create_operator(self.store, "demo", OPERATOR_PASSWORD, "admin", datetime.now(UTC))

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
        if self.duration > 0:
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
        self.say(f"media: {dropped} audio blocks dropped by overrun (the media engine "
                 f"fell behind the span clock {'never' if not dropped else 'sometimes'})")
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
            self.say(f"[subscribers] {what}")
        action()

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
        self.step("", lambda: "access" in st and st["access"].ended, lambda: self.say(
            f"[switch] A's access call cleared with cause {st['access'].cause} after "
            f"{len(st['access'].early_audio) / 8000:.1f} s of announcement; CONNECT never "
            f"sent: A is not charged" if not st["access"].connected else
            "[switch] ERROR: the access call was answered"))
        self.step("A's phone rings (the callback) and A answers",
                  lambda: len(a.calls) >= 2 and a.last.connected, lambda: None)
        self.step(f"A keys B's number: {B} #", lambda: True, lambda: a.press(B + "#"),
                  after_s=4.0)
        self.step(f"while B rings, A keys * {C} # and * {E} #", lambda: bool(b.calls),
                  lambda: a.press("*" + C + "#*" + E + "#"), after_s=0.5)
        self.step("B, C answered; A pauses: the conversation starts; everyone talks",
                  lambda: bool(c.calls) and c.last.connected,
                  lambda: [p.talk() for p in (a, b, c)], after_s=8.0)
        self.step("A presses 0: who is in the call?", lambda: True, lambda: a.press("0"),
                  after_s=4.0)
        self.step("A presses ** 2 # to drop seat 2 (B)", lambda: True,
                  lambda: a.press("**2#"), after_s=5.0)
        self.step("A hangs up: the conference ends", lambda: True,
                  lambda: sw.hangup(a.last, 16), after_s=5.0)
        self.step("", lambda: a.last.ended, self._statement, after_s=1.0)
        self.step(f"D calls the service number {SERVICE}", lambda: True,
                  lambda: st.__setitem__("ivr", sw.place_call(D, SERVICE)), after_s=1.0)
        self.step(f"D enters the PIN {PIN} #", lambda: st["ivr"].connected,
                  lambda: d.press(PIN + "#"), after_s=5.0)
        self.step("D presses 2: balance", lambda: True, lambda: d.press("2"), after_s=4.0)
        self.step("D hangs up", lambda: True, lambda: self._ivr_done(st["ivr"]), after_s=8.0)
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

        def show_legs(rows: list[tuple[str, str, int, int, int]]) -> None:
            for dest, cls, dur, billed, fen in rows:
                self.say(f"[rating] leg to {dest} ({cls}): {dur} s, billed {billed} s = "
                         f"{fen / 100:.2f} yuan")

        def show_balance(b: Any) -> None:
            self.say(f"[rating] A's balance now {b.balance_fen / 100:.2f} yuan "
                     f"(started at 50.00); the access call cost nothing")

        runner.call(legs).addCallback(show_legs).addCallback(
            lambda _: runner.call_plain(ops.balance, "+86" + A)).addCallback(show_balance)

    def _ivr_done(self, rec: Any) -> None:
        for sw in self.switches:
            sw.hangup(rec, 16)
        heard = self.daemon.ivr.calls[-1].heard if self.daemon.ivr.calls else []
        self.say(f"[subscribers] D heard: {' '.join(heard)}")

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
        for line in render_reports(inventory(), in_use).splitlines():
            self.say(f"[status] {line}")

