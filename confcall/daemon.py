"""`confcall serve`: one box — spans and their signalling, the media engine, call control.

What it wires (DESIGN.md's map, left to right): the spans (real DAHDI from the span config
that `confcall hw genconf` wrote, or the simulated card) → a PRI or MFC/R2 trunk per span
(mixed freely, one trunk group for outgoing calls) → the media
engine over every B-channel → the access number (on-hook rejection, callback), the service
IVR and conferences → rating and the store through the DB thread pool.

Threads: the reactor runs signalling, timers and call control; the media engine runs in its
own thread paced by the span's clock (a DAHDI read returns every 20 ms); DB work runs in the
pool. With ``media_in_thread=False`` the media tick runs on the reactor from the span clock
instead (tests in virtual time).

Shutdown: every conference ends, every call is cleared with cause 16 and its records are
closed before the spans are released.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from twisted.internet.defer import Deferred

from confcall.conference import MediaService, OnHookPolicy, OnHookRejector
from confcall.conference.callback import CallbackPolicy, CallbackService
from confcall.conference.ivr import ServiceIvr
from confcall.conference.money import AccessScreen, RatingMoney
from confcall.conference.records import MemoryRecords
from confcall.conference.router import IncomingRouter
from confcall.conference.session import SessionConfig
from confcall.clock import every
from confcall.config import Config
from confcall.dahdi import BChannelBatch, Span
from confcall.dahdi.legs import Cause, LegState, Trunk
from confcall.dahdi.pri_trunk import PriTrunk
from confcall.dahdi.r2_trunk import R2Options, R2Trunk, RejectMode

__all__ = ["Daemon", "prompt_sounds", "ensure_pepper"]

log = logging.getLogger("confcall.daemon")

TICK_S = 0.020
HW_EC_TAPS = 128  # 16 ms tail: what DAHDI's hardware cancellers (VPMOCT) are asked for


def ensure_pepper(var_dir: str | None = None) -> str:
    """The server-side PIN pepper: $CONFCALL_PEPPER / $CONFCALL_PEPPER_FILE when set (a
    carrier's secret store), else /etc/confcall/pepper (root) or ~/.config/confcall/pepper,
    created once (0600), never beside the database (``confcall.rating.pepper``)."""
    from confcall.rating import pepper
    return pepper.ensure(var_dir)


def prompt_sounds(language: str, directory: str = "") -> dict[str, np.ndarray]:
    """Every prompt of the catalog in ``language`` (rendered if missing) plus the music."""
    from confcall.prompts import PromptLibrary, music_audio

    lib = PromptLibrary(language, directory or None)
    lib.ensure_rendered()
    sounds = {key: np.asarray(lib.audio(key)) for key in lib.keys()}
    music = np.asarray(music_audio())
    sounds["waiting_music"] = music
    sounds["background_music"] = music
    return sounds


@dataclass(eq=False)
class Daemon:
    config: Config
    reactor: Any
    runner: Any = None  # DbRunner (default) or InlineRunner (tests)
    store: Any = None
    card: Any = None  # the simulated card, when config.simulated
    sounds: dict[str, np.ndarray] | None = None
    media_in_thread: bool = True
    epoch: Any = None  # UTC datetime of reactor second 0 (virtual clocks)
    on_event: Callable[[str], None] | None = None
    spans: list[Span] = field(default_factory=list)
    trunks: list[Trunk] = field(default_factory=list)  # PriTrunk and R2Trunk, mixed
    _prepared: bool = field(default=False, init=False, repr=False)

    # -- start ----------------------------------------------------------------------------------
    def prepare(self) -> None:
        """The slow once-per-start work, done before any span is opened (issue 13 item 8):
        database migrations and seeding, prompt rendering (espeak-ng), and the media kernels
        compiled or loaded and run once. `confcall serve` calls this before the reactor runs,
        so none of it blocks signalling or delays a caller's announcement; ``start()`` calls it
        when nobody did (tests). Idempotent."""
        if self._prepared:
            return
        import time

        from confcall.warmup import warm_kernels
        t0 = time.perf_counter()
        self._prepare_store()
        if self.sounds is None:
            self.sounds = prompt_sounds(self.config.language, self.config.prompt_directory)
        from confcall.store.journal import WriteJournal  # issue 13: read once, off the reactor
        self.journal = WriteJournal(self.config.write_journal) if self.config.write_journal \
            else None
        kernels = warm_kernels()
        self._prepared = True
        log.info("prepared in %.1f s (media kernels %.1f s): store, %d sounds",
                 time.perf_counter() - t0, kernels, len(self.sounds))

    def start(self) -> None:
        from confcall.billing import handoff
        from confcall.ids import set_box_id
        if self.config.box_id:
            set_box_id(self.config.box_id)
        # before anything rates a leg (restart recovery included): queue RADIUS records
        handoff.configure(handoff.HandoffPolicy(radius=bool(self.config.radius_servers)))
        from confcall.rating import fraud  # toll-fraud defaults (issue 14)
        fraud.configure(self.config.fraud_max_conferences, self.config.fraud_spend_per_hour_fen,
                        self.config.fraud_callbacks_per_number)
        self.prepare()
        self.taking_calls, self.recovered = False, None  # until the restart recovery is done
        self._open_store()
        from confcall.boxwatch import BoxWatch
        self.watch = BoxWatch(self)  # call tracing, metrics, systemd (times the runner)
        self._open_spans()
        self._start_media()
        self._call_control()
        from confcall.media_faults import MediaFaultHandler  # issue 13: no silent media death
        self.media_faults = MediaFaultHandler(self.reactor, self.media, self.trunks, self._say)
        self._recover()
        self._loops: list[Any] = []
        self._start_billing()
        # A real reactor reads the D-channels when they are readable; a virtual one (tests)
        # has no fds to watch, so the span clock services them every tick.
        self._poll_trunks = not hasattr(self.reactor, "addReader")
        if self.card is not None:  # a late reactor runs the missed frames too, as a span would
            self._loops.append(every(self.reactor, TICK_S, self._span_clock, catch_up=True))
        for trunk in self.trunks:
            if not self._poll_trunks and isinstance(trunk, PriTrunk):
                trunk.link.start_reading()
            # PRI: DAHDI events (POLLPRI) and anything missed; R2: its whole signalling, which
            # rides the channels' bits and audio, once per 20 ms frame
            interval = TICK_S if isinstance(trunk, R2Trunk) else 0.1
            self._loops.append(every(self.reactor, interval, trunk.service))
        self._start_bookings()
        self._start_fleet()  # issue 13: heartbeat, and closing a dead box's rows (fleet.py)
        self._listen_control()
        self._start_web()
        self.watch.start()  # metrics endpoint, systemd READY + watchdog
        n_r2 = sum(1 for t in self.trunks if isinstance(t, R2Trunk))
        kinds = ", ".join(k for k in (f"{len(self.trunks) - n_r2} PRI" if n_r2 < len(self.trunks)
                                      else "", f"{n_r2} MFC/R2" if n_r2 else "") if k)
        if hasattr(self.reactor, "addReader"):  # a real box (tests run many in one process)
            import gc
            gc.freeze()  # start-up's objects (prompts, kernels, config) out of every GC pass
        self._say(f"confcall up: {len(self.trunks)} span(s) ({kinds}), {len(self.batch)} "
                  f"channels, access {', '.join(self.config.access_numbers)}, service "
                  f"{', '.join(self.config.service_numbers)}")

    def _listen_control(self) -> None:
        """The NOC CLI's socket (real reactors only; tests call confcall.control_socket.handle)."""
        import os
        from pathlib import Path

        from confcall.control_socket import ControlFactory
        self._control_port = None
        path = self.config.control_socket
        if not path or not hasattr(self.reactor, "listenUNIX"):
            return
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if os.path.exists(path):
            os.unlink(path)  # a stale socket from a box that died
        self._control_port = self.reactor.listenUNIX(path, ControlFactory(self), mode=0o600)

    def _start_web(self) -> None:
        """The web site on this reactor when the config has a [web] section (docs/web.md)."""
        self.web = None
        self._web_port = None
        if not self.config.web_enabled:
            return
        from confcall.web import WebConfig, WebSite
        self.web = WebSite(self.runner, config=WebConfig.from_config(self.config,
                                                                     len(self.batch)),
                           now=self.money.now, daemon=self)
        if hasattr(self.reactor, "listenTCP"):
            self._web_port = self.web.listen(self.reactor)
            host = self._web_port.getHost()
            scheme = "https" if self.web.config.tls else "http"
            self._say(f"web site on {scheme}://{host.host}:{host.port}/")

    def _say(self, text: str) -> None:
        log.info("%s", text)
        if self.on_event is not None:
            self.on_event(text)

    def _prepare_store(self) -> None:
        from confcall.store import Store, upgrade
        if self.store is None:
            upgrade(self.config.database_url)
            self.store = Store(self.config.database_url)
            _seed_if_empty(self.store)

    def _open_store(self) -> None:
        if self.runner is None:
            from confcall.store.runner import DbRunner
            self.runner = DbRunner(self.store, self.reactor)
            self.runner.start()

    def _open_spans(self) -> None:
        from confcall.startup import SpanFailures
        failures = SpanFailures()
        self._plans = self._span_plans()
        for plan in self._plans:
            span = Span.open(plan.spanno, plan.channels, echo_taps=plan.hw_ec_taps)
            for line in failures.add(plan.spanno, span.failed, len(plan.channels)):
                log.error("%s", line)
            trunk = self._make_trunk(plan, span)
            if trunk is None:
                failures.unused(plan.spanno)
                span.close()
                continue
            self.spans.append(span)
            self.trunks.append(trunk)
        if not self.trunks:
            raise RuntimeError(failures.summary())

    def _make_trunk(self, plan: SpanPlan, span: Span) -> Trunk | None:
        name = f"span{plan.spanno}"
        if plan.signalling == "pri":
            if span.dchannel is None:
                self._say(f"span {plan.spanno}: no D-channel; not used for PRI")
                return None
            return PriTrunk(span, self.reactor, switchtype=plan.switchtype, name=name,
                            on_status=self._say, network=plan.network,
                            t309_ms=self.config.pri_t309_ms)
        if not span.cas:
            self._say(f"span {plan.spanno}: no CAS channel; not used for MFC/R2")
            return None
        t = self.config.trunk_for(plan.spanno)
        options = R2Options(
            variant=plan.r2_variant, reject=RejectMode(t.r2_reject if t else "busy"),
            category=t.r2_category if t else "national_subscriber",
            max_ani=t.r2_max_ani if t else 20, max_dnis=t.r2_max_dnis if t else 20,
            answer_timeout_s=t.r2_answer_timeout_s if t else 60.0,
            numbers=self.config.access_numbers + self.config.service_numbers)
        return R2Trunk(span, self.reactor, options=options, name=name, on_status=self._say)

    def _span_plans(self) -> list[SpanPlan]:
        """Which spans to open and how they signal: the simulated card's spans, or the span
        config that `confcall hw genconf` wrote; [[trunk]] entries select and tune them."""
        cfg = self.config
        out: list[SpanPlan] = []
        if self.card is not None and not cfg.span_config:
            for sim in self.card.spans:
                t = cfg.trunk_for(sim.spanno)
                if cfg.trunks and t is None:
                    continue
                kind = "pri" if sim.signalling == "pri" else "r2"
                _check_signalling(t, sim.spanno, kind)
                chans = tuple(c.channo for c in sim.channels if c.sigtype)  # not R2's TS16
                default = "euroisdn_e1" if sim.line == "E1" else "ni2"
                out.append(SpanPlan(sim.spanno, chans, kind, t.switchtype if t else default,
                                    (t.r2_variant if t else "") or "CN"))
            return out
        from confcall.hw import load_span_config
        spanconf = load_span_config(cfg.span_config)
        for s in spanconf.spans:
            t = cfg.trunk_for(s.spanno)
            if cfg.trunks and t is None:
                continue
            kind = "pri" if s.is_pri else "r2"
            _check_signalling(t, s.spanno, kind)
            chans = tuple(s.channels) + ((s.dchannel,) if s.dchannel else ())
            out.append(SpanPlan(s.spanno, chans, kind,
                                t.switchtype if t else (s.switchtype or "euroisdn_e1"),
                                (t.r2_variant if t else "") or s.r2_variant or "CN",
                                network=s.signaling == "pri_net",
                                hw_ec_taps=HW_EC_TAPS if s.echo_canceller == "hw"
                                or s.echo_canceller.startswith("kernel:") else 0,
                                software_ec=s.software_ec))
        return out

    def _start_media(self) -> None:
        # R2 channels start lent to their signalling: OpenR2 owns them until a call's MF
        # exchange ends (docs/r2.md, "Audio ownership")
        chans = [c for s in self.spans for c in (*s.bchannels, *s.cas)]
        cas = {c.channo for s in self.spans for c in s.cas}
        self.batch = BChannelBatch(chans, lent=[c.channo in cas for c in chans])
        for trunk in self.trunks:
            if isinstance(trunk, R2Trunk):
                trunk.attach_media(self.batch)
        deliver = self.reactor.callFromThread if self.media_in_thread else None
        self.media = MediaService(self.batch, deliver=deliver,
                                  echo_cancel=self.config.echo_canceller,
                                  level_control=self.config.level_control)
        self._span_echo_cancellers()
        sounds = self.sounds if self.sounds is not None else {}  # rendered in prepare()
        for name, audio in sounds.items():
            self.media.add_sound(name, audio)
        if self.media_in_thread:
            self.media.start_thread()

    def _span_echo_cancellers(self) -> None:
        """Our software canceller stays off on spans whose card (or a kernel module) cancels
        echo, or that the span config says need none: two cancellers in a row fight."""
        plans = {p.spanno: p for p in getattr(self, "_plans", [])}
        for span in self.spans:
            plan = plans.get(span.spanno)
            if plan is None or plan.software_ec or not self.config.echo_canceller:
                continue
            for ch in (*span.bchannels, *span.cas):
                self.media.engine.echo_canceller(self.batch.row_of(ch.channo), False)
            self._say(f"span {span.spanno}: echo cancelled by the card "
                      f"({plan.hw_ec_taps} taps)" if plan.hw_ec_taps else
                      f"span {span.spanno}: no echo canceller (span config)")

    def _span_clock(self) -> None:
        """The simulated card's 20 ms frame clock (real cards clock themselves)."""
        self.card.tick()
        if self._poll_trunks:
            for trunk in self.trunks:
                trunk.service()
        if not self.media_in_thread:
            self.media.tick()

    def _call_control(self) -> None:
        cfg = self.config
        lang = cfg.language
        say_number, say_amount = _sayers(lang, set(self.media.sounds))
        from confcall.store.writes import OrderedWrites
        # one ordered, retried write queue per conference, shared by money and records; the
        # writes that must wait for the database are journalled on disk first (issue 13;
        # self.journal opened by prepare())
        self.writes = OrderedWrites(self.runner, self.reactor, journal=self.journal)
        self.money = RatingMoney(self.reactor, self.runner, epoch=self.epoch,
                                 writes=self.writes)
        self.records = self._records()
        from confcall.calltrace import TracedTrunkGroup
        self.group = TracedTrunkGroup(self.trunks, self.watch.calls)
        self.callbacks = CallbackService(
            self.reactor, self.group, self.media, self.money, self.records,
            policy=CallbackPolicy(cfg.callback_delay_s, cfg.callback_retries,
                                  cfg.callback_retry_interval_s, cfg.caller_id),
            session_config=SessionConfig(cfg.max_participants, cfg.entry_timeout_s,
                                         cfg.finish_timeout_s),
            say=say_number, on_session=self._session_started)
        self.screen = AccessScreen(self.runner, min_balance_fen=cfg.min_balance_fen)
        causes = {t.name: (cfg.trunk_for(t.span.spanno).reject_cause
                           if cfg.trunk_for(t.span.spanno) else 16) for t in self.trunks}
        self.rejector = OnHookRejector(
            self.reactor, self.media,
            policy=OnHookPolicy(rate_limit=cfg.rate_limit, rate_window_s=cfg.rate_window_s),
            on_request=self._callback_requested, screen=self._screen_access,
            trunk_causes=causes)
        self.ivr = ServiceIvr(self.reactor, self.media, self.runner, say_amount=say_amount,
                              now=self.money.now)
        routes = {n: self.rejector.offer for n in cfg.access_numbers}
        routes.update({n: self.ivr.offer for n in cfg.service_numbers})
        self.router = IncomingRouter(routes)
        for trunk in self.trunks:
            trunk.on_incoming = self._incoming

    def _recover(self) -> None:
        """Close what this box's previous run left open (``conference.recovery``), in the
        pool, retried while the DB is away. The box takes no call until it is done (every
        open row of this box is then its previous run's: nothing is told apart by time)."""
        from confcall.conference.recovery import restart
        from confcall.ids import box_id
        # the journal's writes first (the previous run's, queued while the DB was away)
        d = self.writes.call_plain("box-restart", restart, self.journal, box_id(),
                                   self.money.now())

        def done(results: Any) -> None:
            self.replayed, result = results
            self.recovered = result
            if self.replayed.entries:
                self._say(f"box restart: {self.replayed}")
            if result.legs_closed or result.holds_released or result.conferences_closed:
                self._say(f"box restart: {result}")

        d.addCallbacks(done, lambda f: log.error("box restart recovery failed: %s",
                                                 f.getErrorMessage()))
        d.addBoth(lambda _: self._take_calls())

    def _take_calls(self) -> None:
        """The restart recovery is over: answer incoming calls, start the booking scheduler
        (its callbacks and booked calls seize channels). Once."""
        if self.taking_calls:
            return
        self.taking_calls = True
        if getattr(self, "scheduler", None) is not None:
            self.scheduler.start()

    def _records(self) -> Any:
        try:
            from confcall.conference.records import StoreRecords
        except ImportError:
            return MemoryRecords()
        return StoreRecords(self.runner, self.money.to_dt, clock=self.reactor,
                            interim_s=self.config.acct_interim_s, writes=self.writes)

    def _start_billing(self) -> None:
        """The carrier's billing hand-off: RADIUS accounting from the outbox (its own thread)
        and CDR files (written in the DB pool every few seconds when due)."""
        from confcall.ids import box_id
        cfg = self.config
        self.radius = None
        if cfg.radius_servers:
            from confcall.billing.sender import RadiusSender
            self.radius = RadiusSender(
                self.store, cfg.radius_servers, box=box_id(), dictionary=cfg.acct_dictionary,
                timeout_s=cfg.acct_timeout_s, max_timeout_s=cfg.acct_max_timeout_s,
                retries=cfg.acct_retries, dead_time_s=cfg.acct_dead_time_s,
                window=cfg.acct_window)
            self.radius.start()
            self._say(f"RADIUS accounting to {', '.join(s.name for s in cfg.radius_servers)}")
        self._cdr_policy = None
        if cfg.cdr_directory:
            from pathlib import Path

            from confcall.billing.cdrfiles import CdrPolicy
            rotate_s = cfg.cdr_rotate_minutes * 60
            self._cdr_policy = CdrPolicy(Path(cfg.cdr_directory), rotate_s,
                                         cfg.cdr_rotate_records)
            self._cdr_busy = False
            self._loops.append(every(self.reactor, max(0.5, min(5.0, rotate_s / 4)),
                                     self._write_cdr_files))
            self._say(f"CDR files in {cfg.cdr_directory}, every {cfg.cdr_rotate_minutes:g} min "
                      f"or {cfg.cdr_rotate_records} records")

    def _write_cdr_files(self) -> None:
        """Close the CDR files that are due (file I/O and SQL in the DB pool)."""
        from confcall.billing.cdrfiles import flush
        from confcall.ids import box_id
        if self._cdr_busy or self._cdr_policy is None:
            return
        self._cdr_busy = True
        d = self.runner.call_plain(flush, box_id(), self._cdr_policy, self.money.now())

        def written(files: list[Any]) -> None:
            for f in files:
                self._say(f"CDR file {f.path.name}: {f.records} record(s), {f.total_fen} fen")

        def failed(f: Any) -> None:  # the records stay waiting; the next tick tries again
            log.error("writing CDR files failed: %s", f.getErrorMessage())

        def done(_: Any) -> None:
            self._cdr_busy = False
        d.addCallbacks(written, failed).addBoth(done)

    def _incoming(self, leg: Any) -> None:
        if not self.taking_calls:  # the restart recovery still runs (the DB is away?)
            log.warning("incoming call from %s to %s on %s B%s refused (cause 41): the box "
                        "is still closing its previous run's calls", leg.ani or "withheld",
                        leg.dnis, leg.trunk.name, leg.chanpos)
            leg.reject(Cause.TEMPORARY_FAILURE)
            return
        self._say(f"incoming call from {leg.ani or 'withheld'} to {leg.dnis} on "
                  f"{leg.trunk.name} B{leg.chanpos}")
        role = ("service" if leg.dnis in self.config.service_numbers else "access")
        from confcall.ids import new_ref
        ref = new_ref("in")  # box id + ULID: no collision across boxes or restarts
        self.records.leg_started(ref, leg, ref, role)
        self.watch.calls.watch(leg)

        def ended(_: Any, ev: Any) -> None:
            if ev.kind == "cleared":
                self.records.leg_ended(ref, leg)
        leg.watchers.append(ended)
        self.router.offer(leg)

    # -- bookings and durable callbacks (confcall/booking/scheduler.py) ---------------------------
    def _start_bookings(self) -> None:
        """The booking scheduler: booked conferences and phone-mode callbacks, both rows in
        the database, claimed with a lease so that boxes sharing it split the work."""
        from confcall.booking.scheduler import BookingScheduler, SchedulerPolicy, is_callback
        from confcall.ids import box_id
        self.scheduler = BookingScheduler(
            self.reactor, self.runner, self.callbacks, box=box_id(), now=self.money.now,
            policy=SchedulerPolicy.from_config(self.config, channels=len(self.batch)),
            on_serve=lambda call: self.callbacks.jobs.append(call) if is_callback(call)
            else None, writes=self.writes)  # its state writes: ordered, retried (issue 13)
        if self.taking_calls:  # else once the restart recovery is done (_take_calls)
            self.scheduler.start()

    def _start_fleet(self) -> None:
        from confcall.fleet import FleetPolicy, FleetWatch
        from confcall.ids import box_id
        self.fleet = FleetWatch(self.reactor, self.runner, box=box_id(), now=self.money.now,
                                policy=FleetPolicy.from_config(self.config), say=self._say)
        self.fleet.start()

    def _screen_access(self, leg: Any) -> Any:
        """The access screen, then the per-number callback limit across every box sharing
        the database (the rejector's own limiter only sees this box)."""
        from confcall.booking.leases import callbacks_recent
        cfg = self.config
        d = self.screen(leg)

        def storm(refusal: str | None) -> Any:
            payer = self.screen.payer_of(leg.ani)
            if refusal or payer is None:
                return refusal
            d2 = self.runner.call(callbacks_recent, payer, now=self.money.now(),
                                  window_s=cfg.rate_window_s)
            d2.addCallback(lambda n: "rate_limited" if n >= cfg.rate_limit else None)
            return d2
        d.addCallback(storm)
        return d

    def _callback_requested(self, req: Any) -> None:
        """The access call was rejected on-hook: the callback becomes a booking row (claimed
        by this box) before anything is dialled, so a restart still calls back."""
        from confcall.booking.leases import StormLimit, add_callback
        from confcall.ids import box_id
        payer = self.screen.payer_of(req.ani)
        if payer is None:
            return
        cfg = self.config
        d = self.runner.call(add_callback, payer=payer, dial=req.ani, box=box_id(),
                             now=self.money.now(), delay_s=cfg.callback_delay_s,
                             redials=cfg.callback_retries,
                             retry_interval_s=cfg.callback_retry_interval_s,
                             lease_s=cfg.booking_lease_s,
                             storm=StormLimit(cfg.rate_limit, cfg.rate_window_s))

        def written(job: Any) -> None:
            if job is not None:
                self.watch.callback_requested()
            if job is None:
                self._say(f"{req.ani}: callback refused: too many requests (all boxes)")
                return
            self._say(f"{req.ani}: request confirmed on-hook (never answered); calling back "
                      f"in {cfg.callback_delay_s:.0f} s")
            self.scheduler.serve(job)

        def failed(f: Any) -> None:
            log.error("%s: the callback could not be recorded: %s", req.ani,
                      f.getErrorMessage())
        d.addCallbacks(written, failed)

    def _session_started(self, session: Any) -> None:
        self._say(f"{session.initiator.number} answered the callback: conference "
                  f"{session.reference} started")
        self.watch.session_started(session)

        def ended(s: Any) -> None:
            self.watch.session_ended(s)
            self._say(f"conference {s.reference} ended after "
                      f"{(s.ended_at or 0) - s.started_at:.0f} s; legs rated for {s.payer}")
        session.on_end = ended

    # -- stop -------------------------------------------------------------------------------------
    def stop(self, grace_s: float = 5.0) -> Deferred[None]:
        """Graceful: end conferences and clear every call (cause 16), let the releases cross
        the D-channel (at most ``grace_s``), then release the hardware. Idempotent."""
        if getattr(self, "_stopping", None) is not None:
            return self._stopping
        self._stopping: Deferred[None] = Deferred()
        if getattr(self, "scheduler", None) is not None:
            self.scheduler.stop()  # claimed, not yet dialled bookings go back to the pool
        if getattr(self, "fleet", None) is not None:
            self.fleet.stop()
        for s in self.callbacks.sessions:
            if not s.ended:
                s.end("shutdown")
        for trunk in self.trunks:
            for leg in list(trunk.legs.values()):
                if leg.active:
                    leg.hangup(Cause.NORMAL_CLEARING)
        deadline = float(self.reactor.seconds()) + grace_s

        def check() -> None:
            busy = sum(1 for t in self.trunks for leg in t.legs.values()
                       if leg.state is not LegState.CLEARED)
            writes = getattr(self, "writes", None)
            waiting = writes.pending() if writes is not None else 0  # records of those calls
            if (busy or waiting) and float(self.reactor.seconds()) < deadline:
                self.reactor.callLater(0.1, check)
                return
            if busy:
                self._say(f"shutdown: {busy} call(s) did not finish releasing in {grace_s} s")
            if waiting:  # the next start's recovery closes those legs at their interim time
                self._say(f"shutdown: {waiting} money/record write(s) still waiting for the "
                          "database")
            self._release()
            self._stopping.callback(None)

        check()
        return self._stopping

    def _release(self) -> None:
        if getattr(self, "watch", None) is not None:
            self.watch.stop()
        if getattr(self, "_web_port", None) is not None:
            self._web_port.stopListening()
        port = getattr(self, "_control_port", None)
        if port is not None:
            import os
            port.stopListening()
            if os.path.exists(self.config.control_socket):
                os.unlink(self.config.control_socket)
        for loop in getattr(self, "_loops", []):
            if loop.running:
                loop.stop()
        if self.media_in_thread:
            self.media.stop_thread()
        if getattr(self, "radius", None) is not None:
            self.radius.stop()  # what was acknowledged is recorded; the rest stays queued
        from confcall.billing import handoff
        handoff.configure(handoff.HandoffPolicy())
        for trunk in self.trunks:
            if isinstance(trunk, R2Trunk):
                trunk.stop()
            else:
                trunk.link.stop()
        for span in self.spans:
            span.close()
        self.batch.close()
        self._say("confcall stopped: all calls cleared")


@dataclass(frozen=True)
class SpanPlan:
    """One span to open: its channels and how it signals."""

    spanno: int
    channels: tuple[int, ...]
    signalling: str  # pri | r2
    switchtype: str = "euroisdn_e1"
    r2_variant: str = "CN"
    network: bool = False  # PRI: we are the network side (span config pri_net)
    hw_ec_taps: int = 0  # > 0: the card's (or a kernel) echo canceller on, this many taps
    software_ec: bool = True  # our own canceller on this span's channels ([media] permitting)


def _check_signalling(t: Any, spanno: int, kind: str) -> None:
    """A [[trunk]] that names its signalling must match the span (a miswired config)."""
    if t is not None and t.signalling and t.signalling != kind:
        raise RuntimeError(f"[[trunk]] span {spanno}: signalling = {t.signalling!r}, but span "
                           f"{spanno} is configured for {kind}")
    if t is not None and kind == "pri" and t.r2_keys_given:
        raise RuntimeError(f"[[trunk]] span {spanno}: r2_* keys, but span {spanno} is PRI")


def _sayers(lang: str, sounds: set[str]) -> tuple[Callable[[int], list[str]] | None,
                                                   Callable[[int], list[str]] | None]:
    """Number and amount readers over the catalog's number words; (None, None) when the loaded
    sounds lack them (call control then reads digit by digit)."""
    from confcall.prompts import say_amount, say_number
    if {"n0", "n10", "hundred", "yuan", "fen"} <= sounds:
        return (lambda n: say_number(lang, n)), (lambda fen: say_amount(lang, fen))
    return None, None


def _seed_if_empty(store: Any) -> list[str]:
    """The embedded default must run out of the box: areas and a default rate plan (also
    run by `confcall db upgrade`, so the CLI agrees with what serve would load)."""
    from sqlalchemy import func, select

    from confcall.rating import areas, rates
    from confcall.store.models import AreaPrefix, RatePlan
    done = []
    with store.transaction() as s:
        if s.scalar(select(func.count()).select_from(AreaPrefix)) == 0:
            areas.seed_areas(s, areas.build_area_table())
            done.append("seeded the area table (confcall rate seed-areas reloads it)")
        if s.scalar(select(func.count()).select_from(RatePlan)) == 0:
            rates.import_rates(s, "default", rates.DEFAULT_PLAN_CSV)
            done.append("loaded rate plan 'default' (confcall rate export default shows it)")
    return done


seed_defaults = _seed_if_empty
