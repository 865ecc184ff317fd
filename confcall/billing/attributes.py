"""The attributes of one Accounting-Request (RFC 2866 / RFC 2869 + confcall's vendor attributes).

Pure: a billed leg and an event in, a ``{attribute name: value}`` mapping out, with names from
the shipped dictionary (``radius/dictionary``) and values that survive JSON (the outbox stores
them as written, so a replay carries exactly what the first attempt carried). The sender adds
``Acct-Delay-Time`` when it builds each packet.

What each status carries (docs/billing.md has the table):

- every record: Acct-Status-Type, Acct-Session-Id (the leg, unique across boxes),
  Acct-Multi-Session-Id (the conference: links the legs of one conference, as RFC 2866 means
  it), User-Name (the paying account, E.164), Calling-/Called-Station-Id, NAS-Identifier (the
  box), NAS-Port (the DAHDI channel), Event-Timestamp, and Confcall-Record-Id (unique per
  record: a billing server's duplicate key), -Conference-Id, -Account, -Billing-Mode,
  -Leg-Role, -Answer-Time;
- Interim-Update: Acct-Session-Time so far and Confcall-Interim-Seq (1, 2, ...);
- Stop: Acct-Session-Time (the rated duration), Acct-Terminate-Cause, Confcall-Q850-Cause,
  -Number-Class, -Destination, -Area, -Billed-Seconds and -Charge-Fen.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

__all__ = ["CLASS_VALUES", "STATUS_VALUES", "build", "record_id", "terminate_cause"]

STATUS_VALUES = {"start": "Start", "interim": "Interim-Update", "stop": "Stop"}
CLASS_VALUES = {"local": "Local", "long_distance": "Long-Distance",
                "mobile_local": "Mobile-Local", "mobile_long_distance": "Mobile-Long-Distance",
                "international": "International", "free": "Free"}
_ROLE_VALUES = {"callback": "Initiator", "participant": "Participant"}
_NETWORK_CAUSES = {27, 34, 38, 41, 42, 44}  # the network dropped the call


class BilledLegLike(Protocol):
    session_id: str
    box: str
    conference_ref: str
    account: str
    billing_mode: str
    role: str
    calling: str
    called: str
    channo: int | None
    answered_at: datetime
    cause: int | None
    destination: str
    number_class: str
    area: str | None
    duration_s: int
    billed_s: int
    charge_fen: int


def record_id(session_id: str, status: str, seq: int = 0) -> str:
    """The record's own id: the session's plus what it reports (``…/start``, ``…/interim/3``,
    ``…/stop``) — the same on every retry of the transaction that queues it."""
    return f"{session_id}/{status}" + (f"/{seq}" if status == "interim" else "")


def terminate_cause(q850: int | None) -> str:
    """RFC 2866 Acct-Terminate-Cause for a Q.850 clearing cause: normal clearing is the user's
    request; a network failure lost the service; a box restart is the NAS rebooting; anything
    else is reported as a NAS error (the Q.850 value travels in Confcall-Q850-Cause anyway)."""
    if q850 in (None, 16, 31):
        return "User-Request"
    if q850 in _NETWORK_CAUSES:
        return "Lost-Service"
    return "NAS-Error"


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def build(leg: BilledLegLike, status: str, at: datetime, seq: int = 0) -> dict[str, Any]:
    """The attributes of ``leg``'s ``status`` record (start | interim | stop) at ``at``."""
    attrs: dict[str, Any] = {
        "Acct-Status-Type": STATUS_VALUES[status],
        "Acct-Session-Id": leg.session_id,
        "Acct-Multi-Session-Id": leg.conference_ref,
        "Acct-Authentic": "Local",
        "User-Name": leg.account,
        "Calling-Station-Id": leg.calling,
        "Called-Station-Id": leg.called,
        "NAS-Identifier": leg.box,
        "NAS-Port-Type": "ISDN",
        "Event-Timestamp": _epoch(at),
        "Confcall-Record-Id": record_id(leg.session_id, status, seq),
        "Confcall-Conference-Id": leg.conference_ref,
        "Confcall-Account": leg.account,
        "Confcall-Billing-Mode": "Carrier" if leg.billing_mode == "carrier" else "Prepaid",
        "Confcall-Leg-Role": _ROLE_VALUES.get(leg.role, "Participant"),
        "Confcall-Answer-Time": _epoch(leg.answered_at),
    }
    if leg.channo is not None:
        attrs["NAS-Port"] = leg.channo
    if status == "start":
        attrs["Acct-Session-Time"] = 0
    elif status == "interim":
        # whole seconds; round to the millisecond first (clock floats carry noise)
        attrs["Acct-Session-Time"] = max(0, int(round((at - leg.answered_at).total_seconds(),
                                                      3)))
        attrs["Confcall-Interim-Seq"] = seq
    else:
        attrs["Acct-Session-Time"] = leg.duration_s
        attrs["Acct-Terminate-Cause"] = terminate_cause(leg.cause)
        if leg.cause is not None:
            attrs["Confcall-Q850-Cause"] = leg.cause
        if leg.number_class in CLASS_VALUES:
            attrs["Confcall-Number-Class"] = CLASS_VALUES[leg.number_class]
        if leg.destination:
            attrs["Confcall-Destination"] = leg.destination
        if leg.area:
            attrs["Confcall-Area"] = leg.area
        attrs["Confcall-Billed-Seconds"] = leg.billed_s
        attrs["Confcall-Charge-Fen"] = leg.charge_fen
    return attrs
