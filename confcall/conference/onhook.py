"""The access number: answer nothing, say why, clear — and ask for a callback.

What a caller hears: PROCEEDING, then PROGRESS with in-band information (early media: the
caller's meter never starts), an announcement, then the network clears the call with the
trunk's configured cause (16 normal clearing by default; 17 or 21 where a carrier prefers).
CONNECT is never sent. When the request is good the callback flow gets a ``CallbackRequest``.
On MFC/R2 the in-band path is "accepted, no charge" and opens a compelled cycle later (the
announcement waits for the leg's "media" event), or, on a trunk that refuses with a Group-B
signal, there is none and the call is refused without an announcement (docs/r2.md).

Guard: one number may ask for at most ``rate_limit`` callbacks per ``rate_window_s``; beyond that
the caller hears "too many requests" and nothing is dialled, so a stuck auto-dialler cannot start
a storm of outgoing calls. A withheld or missing ANI cannot be called back and is told so.
Further checks (unknown account, locked, balance) plug in as ``screen`` and return a prompt
name to refuse with.
"""
from __future__ import annotations

import logging
import weakref
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any, Callable

from twisted.internet.defer import maybeDeferred

from confcall.clock import cancel_pending
from confcall.dahdi.legs import CallLeg, Cause, LegEvent, LegState, Presentation
from confcall.recent import RecentlyEnded

from .media import MediaService

__all__ = ["OnHookPolicy", "OnHookRejector", "CallbackRequest", "AniRateLimiter"]

log = logging.getLogger("confcall.onhook")

ALLOWED_CAUSES = (Cause.NORMAL_CLEARING, Cause.USER_BUSY, Cause.CALL_REJECTED)


@dataclass(frozen=True)
class OnHookPolicy:
    cause: int = Cause.NORMAL_CLEARING
    rate_limit: int = 3
    rate_window_s: float = 600.0
    max_announcement_s: float = 15.0

    def __post_init__(self) -> None:
        if self.cause not in ALLOWED_CAUSES:
            raise ValueError(f"reject cause must be one of {[int(c) for c in ALLOWED_CAUSES]}"
                             f" (normal clearing, user busy, call rejected), got {self.cause}")
        if self.rate_limit < 1 or self.rate_window_s <= 0:
            raise ValueError("rate limit needs at least 1 call per a positive window")


@dataclass(frozen=True)
class CallbackRequest:
    ani: str
    dnis: str
    at: float
    trunk: str


class AniRateLimiter:
    """Sliding window of accepted requests per calling number (numbers idle for a whole
    window are forgotten, so the table holds only recent callers)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._checks = 0

    def allow(self, ani: str, now: float) -> bool:
        self._checks += 1
        if self._checks % 1000 == 0:
            self._forget_idle(now)
        q = self._seen[ani]
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if len(q) >= self.limit:
            return False
        q.append(now)
        return True

    def _forget_idle(self, now: float) -> None:
        for ani in [a for a, q in self._seen.items() if not q or q[-1] <= now - self.window_s]:
            del self._seen[ani]

    def __len__(self) -> int:
        return len(self._seen)


class OnHookRejector:
    """Handles every call to the access number (install as ``trunk.on_incoming``)."""

    def __init__(self, reactor: Any, media: MediaService, *, policy: OnHookPolicy = OnHookPolicy(),
                 on_request: Callable[[CallbackRequest], None],
                 screen: Callable[[CallLeg], Any] | None = None,
                 trunk_causes: dict[str, int] | None = None) -> None:
        self.reactor = reactor
        self.media = media
        self.policy = policy
        self.on_request = on_request
        self.screen = screen
        self.trunk_causes = dict(trunk_causes or {})
        for cause in self.trunk_causes.values():
            OnHookPolicy(cause=cause)  # validates: 16, 17 or 21 only
        self.limiter = AniRateLimiter(policy.rate_limit, policy.rate_window_s)
        # the verdicts of access calls still up or cleared in the last ten minutes (bounded by
        # time: a count of 1000 took half an hour of a loaded box to fill, each leg with its
        # events and watchers)
        self.handled: RecentlyEnded[tuple[CallLeg, str]] = RecentlyEnded(
            reactor, lambda h: h[0].state is LegState.CLEARED)
        self._requested: weakref.WeakSet[CallLeg] = weakref.WeakSet()

    def offer(self, leg: CallLeg) -> None:
        leg.proceeding()
        leg.progress(inband=True)
        d = maybeDeferred(self._verdict, leg)

        def broken(f: Any) -> str:
            log.error("screening %r failed: %s", leg.ani, f.getErrorMessage())
            return "failed"

        d.addErrback(broken)
        d.addCallback(lambda verdict: self._announce(leg, verdict))

    def _announce(self, leg: CallLeg, verdict: str) -> None:
        self.handled.append((leg, verdict))
        log.info("access call from %r to %s on B%s: %s", leg.ani, leg.dnis, leg.chanpos, verdict)
        if not leg.active:  # hung up while we looked the caller up
            self._request(leg, verdict)
            return
        if not leg.has_media and leg.state is not LegState.EARLY_MEDIA:
            # no in-band path at all (an R2 trunk that refuses with a Group-B signal): there
            # is nothing to announce to, so refuse at once
            self._clear(leg, verdict)
            return
        guard = self.reactor.callLater(self.policy.max_announcement_s, self._clear, leg, verdict)

        def done() -> None:
            cancel_pending(guard)
            self._clear(leg, verdict)

        playing = [leg.has_media]

        def on_leg(_: CallLeg, ev: LegEvent) -> None:
            if ev.kind == "media" and leg.channo is not None and not playing[0]:
                playing[0] = True  # the in-band path opened: announce now
                self.media.play(leg.channo, verdict, on_done=done)
            elif ev.kind in ("failed", "hangup", "cleared") and leg.channo is not None:
                cancel_pending(guard)  # the caller hung up first
                self.media.stop(leg.channo)
                self._request(leg, verdict)

        leg.listener = on_leg
        assert leg.channo is not None
        if leg.has_media:
            self.media.play(leg.channo, verdict, on_done=done)
        # else the in-band path is still opening (R2: accepted without charge at the next
        # compelled cycle); the announcement starts with its "media" event

    def _verdict(self, leg: CallLeg) -> Any:
        if leg.presentation is not Presentation.ALLOWED or not leg.ani:
            return "no_ani"
        if self.screen is None:
            return self._rate_limited(leg)
        d = maybeDeferred(self.screen, leg)
        d.addCallback(lambda refusal: refusal or self._rate_limited(leg))
        return d

    def _rate_limited(self, leg: CallLeg) -> str:
        if not self.limiter.allow(leg.ani, float(self.reactor.seconds())):
            return "rate_limited"
        return "confirmed"

    def _clear(self, leg: CallLeg, verdict: str) -> None:
        if leg.active:
            leg.reject(self.trunk_causes.get(leg.trunk.name, self.policy.cause))
        self._request(leg, verdict)

    def _request(self, leg: CallLeg, verdict: str) -> None:
        if verdict != "confirmed" or leg in self._requested:
            return
        self._requested.add(leg)
        self.on_request(CallbackRequest(leg.ani, leg.dnis, float(self.reactor.seconds()),
                                        leg.trunk.name))
