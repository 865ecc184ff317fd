"""The carrier's billing hand-off: what leaves the box about every answered leg.

- ``handoff``: the billing record of each charged leg and the RADIUS outbox, written inside
  the transactions of the call log and the rating;
- ``attributes``, ``radius/``: the Accounting-Request attributes and the dictionaries (ours
  for the encoder, ``dictionary.confcall`` for the billing server);
- ``client``: the RADIUS accounting client as a state machine (no I/O): retransmission with
  back-off, fail-over between servers;
- ``sender``: the thread that drives it from the outbox over UDP;
- ``cdrfiles``: CDR files rotated by time or count, written atomically with a checksum, and
  re-created for any period;
- ``query``: rated calls listed with filters (``confcall cdr list``).

docs/billing.md documents the hand-off for the carrier.
"""
