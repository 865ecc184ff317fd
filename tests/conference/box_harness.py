"""The whole box on the simulated span, in virtual time: real libpri on both sides, the real
media engine, real rating on SQLite, phones that key DTMF and talk.

Prompts here are short tones, one frequency per key, so a test can tell from a recording which
prompt was heard; the real Mandarin/English prompts are tested in tests/prompts."""
from __future__ import annotations

import shutil
from pathlib import Path
from datetime import UTC, datetime

import numpy as np
import pytest

from confcall.conference.callback import CallbackPolicy
from confcall.conference.session import SessionConfig
from confcall.config import Config
from confcall.daemon import Daemon
from confcall.dsp import g711
from confcall.rating import ops
from confcall.store import Store
from confcall.store.runner import DbRunner
from confcall.sim import SimCard, SimPhone, SimSwitch, VirtualMediaClock
from confcall.sim.threads import CountingPool, ThreadedClock
from confcall.sim.r2switch import SimR2Switch
from confcall.sim.voice import decode, level_db
from tests.pgcluster import template

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ACCESS, SERVICE, CALLER_ID = "95000", "95001", "95000"

PROMPT_KEYS = """confirmed no_ani unknown_account account_locked low_balance rate_limited
welcome_callback enter_number enter_more invalid_number blocked_number own_number
duplicate_number too_many_participants no_channel calling ringing joined busy no_answer failed
participant_left last_participant_left seat participants_count music_on music_off cancelled
credit_warning credit_exhausted goodbye no_such_seat conference_ended
ivr_welcome ivr_enter_pin ivr_wrong_pin ivr_locked ivr_menu ivr_invalid_choice ivr_enter_card
ivr_enter_card_pin ivr_recharge_ok ivr_card_used ivr_card_invalid ivr_card_expired
ivr_card_locked ivr_balance_is ivr_enter_old_pin ivr_enter_new_pin ivr_confirm_new_pin
ivr_pin_changed ivr_pin_mismatch ivr_pin_rules ivr_timeout yuan fen minus
d0 d1 d2 d3 d4 d5 d6 d7 d8 d9
limit_reached ivr_menu_carrier ivr_carrier_billed ivr_spent_month_is ivr_month_left_is
ivr_enter_target ivr_target_is ivr_confirm_target ivr_target_menu ivr_enter_target_pin
ivr_target_wrong_pin ivr_target_no_account ivr_recharged_number ivr_its_balance_is
welcome_booked
""".split()
# one frequency per prompt from 1000 Hz in 30 Hz steps (voices sit below 800 Hz), at most
# 3560 Hz (86 keys)
PROMPT_HZ = {k: 1000.0 + 30 * i for i, k in enumerate(PROMPT_KEYS)}
_HZ = np.array([PROMPT_HZ[k] for k in PROMPT_KEYS])
MUSIC_HZ, BACKGROUND_HZ = 3600.0, 3800.0
# prompts_heard tells tones apart within 8 Hz; the music must stay well clear of every prompt
assert max(PROMPT_HZ.values()) <= MUSIC_HZ - 40, "too many prompt keys: extend the tone scheme"


def tone(hz: float, seconds: float, level: int = 8000) -> np.ndarray:
    n = np.arange(int(8000 * seconds))
    return (level * np.sin(2 * np.pi * hz * n / 8000)).astype(np.int16)


def tone_sounds() -> dict[str, np.ndarray]:
    sounds = {key: tone(hz, 0.3) for key, hz in PROMPT_HZ.items()}
    sounds["waiting_music"] = tone(MUSIC_HZ, 2.0, 3000)
    sounds["background_music"] = tone(BACKGROUND_HZ, 2.0, 3000)
    return sounds


class Box:
    """The daemon (``confcall.daemon.Daemon``) on a simulated card, plus the carrier's switch
    and its subscribers, all on one virtual clock."""

    def __init__(self, tmp_path, *, spans: int = 1, callback: CallbackPolicy | None = None,
                 session: SessionConfig | None = None, min_balance_fen: int = 100,
                 language: str = "zh", sounds=None, echo_canceller: bool = False,
                 span_kinds=None, trunks=(), config: dict | None = None,
                 config_overrides: dict | None = None, epoch: datetime = NOW,
                 database=None, db_url: str | None = None,
                 span_config: str | None = None) -> None:
        """``span_kinds``: e.g. [("E1", "pri"), ("E1", "cas")] instead of ``spans`` PRI E1s;
        ``trunks``: the config's [[trunk]] entries (``TrunkConf``), e.g. an R2 reject mode;
        ``config``: further ``Config`` fields (e.g. RADIUS servers, CDR files);
        ``db_url``: another migrated database (e.g. PostgreSQL) instead of a SQLite copy;
        ``config_overrides``: the same as ``config``, merged over it (e.g. ``web_enabled``,
        the [booking] keys); ``epoch``: the UTC time of virtual second 0 (a box coming back
        later); ``database``: an existing SQLite file to use (a restart) instead of a fresh
        copy of the seeded template."""
        config = {**(config or {}), **(config_overrides or {})}
        # the write journal (issue 13) in the test's directory, never in the cwd's var/
        config.setdefault("write_journal", str(Path(tmp_path) / "writes.journal"))
        kinds = list(span_kinds) if span_kinds else [("E1", "pri")] * spans
        spanconf = None
        if span_config:  # `hw genconf` output run as is, on a card simulated to match it
            from confcall.hw import load_span_config
            from confcall.hw.spanconf import sim_spans
            spanconf = load_span_config(span_config)
            kinds = sim_spans(spanconf)
            config = {**(config or {}), "span_config": span_config}
        self.card = SimCard(kinds).install()
        # the daemon ticks the card itself; DB work runs in the daemon's kind of thread pool
        # (taking no virtual time: the clock waits for it, see confcall.sim.threads)
        self.pool = CountingPool(1, 4)
        self.clock = VirtualMediaClock(reactor=ThreadedClock(self.pool))
        self.reactor = self.clock.reactor
        self.epoch = epoch
        db = database or tmp_path / "confcall.db"
        if database is None:
            shutil.copyfile(template("sqlite", None), db)
        self.db_path = db
        self.store = Store(db_url or f"sqlite:///{db}")
        self.runner = DbRunner(self.store, self.reactor, pool=self.pool)
        self.pool.start()
        cb = callback or CallbackPolicy(delay_s=2.0, retries=2, retry_interval_s=20.0,
                                        caller_id=CALLER_ID)
        sc = session or SessionConfig()
        config = Config(simulated=True, sim_spans=tuple(kinds), trunks=tuple(trunks),
                        access_numbers=(ACCESS,), service_numbers=(SERVICE,),
                        caller_id=cb.caller_id or CALLER_ID, min_balance_fen=min_balance_fen,
                        callback_delay_s=cb.delay_s, callback_retries=cb.retries,
                        callback_retry_interval_s=cb.retry_interval_s,
                        max_participants=sc.max_participants,
                        entry_timeout_s=sc.entry_timeout_s, finish_timeout_s=sc.finish_timeout_s,
                        language=language, echo_canceller=echo_canceller, **(config or {}))
        self.daemon = Daemon(config, self.reactor, runner=self.runner, store=self.store,
                             card=self.card, sounds=sounds if sounds is not None else
                             tone_sounds(), media_in_thread=False, epoch=epoch)
        self.daemon.start()
        d = self.daemon
        self.trunks, self.media, self.money = d.trunks, d.media, d.money
        self.records, self.group, self.callbacks = d.records, d.group, d.callbacks
        self.screen, self.rejector, self.ivr, self.router = d.screen, d.rejector, d.ivr, d.router
        def far_end(sim):
            if sim.signalling != "pri":
                return SimR2Switch(sim, self.reactor)
            s = spanconf.span(sim.spanno) if spanconf else None
            return SimSwitch(sim, self.reactor, ring_timeout=30.0,
                             switchtype=(s.switchtype if s else None) or
                             ("euroisdn_e1" if sim.line == "E1" else "ni2"),
                             network=not (s and s.signaling == "pri_net"))
        self.switches = [far_end(sim) for sim in self.card.spans]
        for sw in self.switches:
            self.clock.add_hook(sw.service)
        self.switch = self.switches[0]
        assert self.clock.run_until(lambda: all(t.up for t in self.trunks)
                                    and all(s.up for s in self.switches), 5)

    # -- set-up helpers ---------------------------------------------------------------------------
    def account(self, number: str, fen: int = 10_000, pin: str = "482913") -> str:
        e164 = "+86" + number.lstrip("0")
        ops.create_account(self.store, e164, pin, now=NOW)
        if fen:
            ops.adjust(self.store, e164, fen, f"fund-{e164}", "test funding", now=NOW)
        return e164

    def phone(self, number: str, **kwargs) -> SimPhone:
        phone = SimPhone(number, **kwargs)
        for sw in self.switches:
            sw.add_phone(phone)
        return phone

    def run(self, seconds: float) -> None:
        self.clock.run(seconds)

    def run_until(self, pred, timeout: float = 30.0) -> bool:
        return self.clock.run_until(pred, timeout)

    def call_log(self) -> list:
        """The call_legs table: every leg, recorded at seizure."""
        from types import SimpleNamespace

        from sqlalchemy import select

        from confcall.store.models import CallLog
        with self.store.transaction() as s:
            rows = s.scalars(select(CallLog).order_by(CallLog.id)).all()
            return [SimpleNamespace(**{c: getattr(r, c) for c in (
                "reference", "conference_ref", "role", "direction", "number", "trunk",
                "channo", "seized_at", "answered_at", "ended_at", "cause")}) for r in rows]

    @property
    def sessions(self):
        return self.callbacks.sessions

    def vanish(self) -> float:
        """The box dies between two ticks, as a killed process does: nothing of its stop runs
        (its span, switch and phones stop with its clock). Returns its last virtual second;
        a later ``close`` does nothing."""
        at = self.clock.now
        self.reactor.settle()
        for sw in self.switches:
            sw.link.stop()
        self.card.uninstall()
        self.pool.stop()
        self.store.dispose()
        self._closed = True
        return at

    def close(self) -> None:
        """Stop the box as ``serve`` does at SIGTERM; a second call does nothing (a test that
        restarts a box closes it before the fixture's teardown does)."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        stopped = self.daemon.stop()
        self.clock.run_until(lambda: stopped.called, 10)
        for s in self.switches:
            s.stop() if isinstance(s, SimR2Switch) else s.link.stop()
        self.card.uninstall()
        self.reactor.settle()
        self.pool.stop()
        self.store.dispose()


# -- listening ------------------------------------------------------------------------------------
def audio(rec, start: float | None = None, end: float | None = None, *,
          law: int = g711.LAW_ALAW) -> np.ndarray:
    """What the phone heard on that call, between two virtual times (seconds); ``law``:
    μ-law on T1."""
    x = decode(rec.audio, law)
    t0 = rec.started_at
    a = 0 if start is None else max(0, int((start - t0) * 8000))
    b = x.size if end is None else max(0, int((end - t0) * 8000))
    return x[a:b]


def heard_prompt(x: np.ndarray, key: str, threshold_db: float = -30.0) -> bool:
    """The prompt's tone is present in some 200 ms window."""
    hz = PROMPT_HZ[key]
    n = 1600
    return any(level_db(x[i:i + n], hz) > threshold_db for i in range(0, x.size - n + 1, 400))


def prompts_heard(x: np.ndarray) -> list[str]:
    """The sequence of prompts in a recording: the dominant prompt tone of each 100 ms window
    (50 ms hop), runs of ~6 windows per 300 ms prompt."""
    n, hop = 800, 400
    w = np.hanning(n)
    seq: list[str | None] = []
    for i in range(0, x.size - n + 1, hop):
        spec = np.abs(np.fft.rfft(x[i:i + n] * w, 8000))  # 1 Hz bins
        hz = float(np.argmax(spec))
        amp = 2 * spec[int(hz)] / w.sum() / 32768
        j = int(np.argmin(np.abs(_HZ - hz)))
        ok = amp > 10 ** (-30 / 20) and abs(_HZ[j] - hz) <= 8
        seq.append(PROMPT_KEYS[j] if ok else None)
    out: list[str] = []
    run_key, run = None, 0
    for k in seq + [None]:
        if k == run_key:
            run += 1
            continue
        if run_key is not None:
            out += [run_key] * max(1, round(run / 6))
        run_key, run = k, 1
    return out


def contains(seq: list[str], sub: list[str]) -> bool:
    return any(seq[i:i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


def voice_level(x: np.ndarray, hz: float) -> float:
    return level_db(x, hz)


@pytest.fixture
def box(tmp_path):
    """A factory of boxes (``box(**Box kwargs)``), all closed at the test's end. Shared by the
    call-control, booking and web tests through their conftest."""
    made: list[Box] = []

    def make(**kwargs) -> Box:
        b = Box(tmp_path, **kwargs)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()
