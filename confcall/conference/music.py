"""The conference's music: waiting music while the initiator invites, background music on the
initiator's toggle, and who hears which.

Members hear the conference's music (waiting and/or background) through their ``hear_music``
flag; the initiator hears only the background (while inviting they hear prompts instead).
"""
from __future__ import annotations

from .context import ConferenceContext
from .members import Roster

__all__ = ["ConferenceMusic"]


class ConferenceMusic:
    def __init__(self, ctx: ConferenceContext, roster: Roster, *, waiting: str,
                 background: str) -> None:
        self.ctx = ctx
        self.roster = roster
        self.waiting_sound = waiting
        self.background_sound = background
        self.waiting = False  # waiting music playing (the initiator is inviting)
        self.background = False  # background music on (initiator's toggle)

    @property
    def members_hear(self) -> bool:
        return self.waiting or self.background

    def update(self, inviting: bool) -> None:
        """Waiting music exactly while inviting (and not after the end)."""
        ctx = self.ctx
        want = inviting and not ctx.ended
        if want != self.waiting:
            self.waiting = want
            ctx.media.waiting_music(ctx.conf, self.waiting_sound if want else None)
            if not want and ctx.initiator_leg.channo is not None:
                ctx.media.join(ctx.initiator_leg.channo, ctx.conf)
        self.apply_flags()

    def apply_flags(self) -> None:
        ctx = self.ctx
        for m in self.roster.joined():
            if m.leg is not None and m.leg.channo is not None:
                ctx.media.hear_music(m.leg.channo, self.members_hear)
        leg = ctx.initiator_leg
        if leg.channo is not None and leg.active:
            ctx.media.hear_music(leg.channo, self.background)

    def set_background(self, on: bool) -> None:
        """Background music on or off without a prompt (a booking that asked for it)."""
        if on != self.background:
            self.background = on
            self.ctx.media.background_music(self.ctx.conf, self.background_sound
                                            if on else None)
            self.apply_flags()

    def toggle_background(self) -> None:
        self.background = not self.background
        self.ctx.media.background_music(self.ctx.conf, self.background_sound
                                        if self.background else None)
        self.apply_flags()
        self.ctx.tell(["music_on" if self.background else "music_off"])

    def stop(self) -> None:
        """The conference ended: silence both."""
        if self.waiting:
            self.ctx.media.waiting_music(self.ctx.conf, None)
        if self.background:
            self.ctx.media.background_music(self.ctx.conf, None)
