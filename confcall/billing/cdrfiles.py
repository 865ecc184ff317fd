"""CDR files for carriers that collect files: rotated by time or count, atomic, checksummed.

The format (docs/billing.md is the carrier's copy):

- one file per rotation, named ``cdr_<box>_<seq:08d>_<closed UTC, YYYYmmddTHHMMSSZ>.csv``;
  ``seq`` counts the box's files from 1 without gaps, so a collector can tell one is missing;
- CSV (RFC 4180: comma, double quotes when needed, CRLF line ends), UTF-8 without a BOM, one
  header line (``HEADER``) then one line per answered, charged leg, in the order the legs
  completed;
- times ISO 8601 in UTC with milliseconds (``2026-11-25T12:00:03.120Z``), money in integer fen;
- next to it ``<name>.sha256``: ``<hex digest>  <name>`` (``sha256sum -c`` checks it), written
  after the CSV, so a collector that waits for the sidecar never reads a partial file;
- both written to a temporary name in the same directory, flushed to disk and renamed.

Exactly once: the records of a file are assigned to it (``billed_legs.cdr_file_id``) in the same
transaction that allocates its sequence number; the file is written afterwards and then marked
written. A crash in between leaves an allocated, unwritten file, which the next ``flush``
writes first — with the same name and content, because a file's content is a function of its
records alone. For the same reason ``export`` re-creates any past file byte for byte.

Rotation: a file is closed when ``rotate_records`` records wait, or when ``rotate_s`` has passed
since the box's previous file (or since the oldest waiting record, for the first file) and at
least one record waits. Periods without calls produce no file.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from confcall.store.models import BilledLeg, CdrFile

__all__ = ["COLUMNS", "HEADER", "CdrPolicy", "WrittenFile", "export_file", "export_files",
           "export_period", "files_of_period", "flush", "render", "write_atomically"]

COLUMNS = ("record_id", "conference_id", "account", "billing_mode", "role", "calling",
           "called", "destination", "number_class", "area", "seized_at", "answered_at",
           "ended_at", "duration_s", "billed_s", "charge_fen", "cause", "box")
HEADER = ",".join(COLUMNS)


@dataclass(frozen=True)
class CdrPolicy:
    directory: Path
    rotate_s: float = 900.0
    rotate_records: int = 10_000


@dataclass(frozen=True)
class WrittenFile:
    seq: int
    path: Path
    records: int
    total_fen: int
    sha256: str


def _time(at: datetime | None) -> str:
    if at is None:
        return ""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _row(leg: BilledLeg) -> list[str]:
    return [leg.session_id, leg.conference_ref, leg.account, leg.billing_mode,
            "initiator" if leg.role == "callback" else "participant", leg.calling, leg.called,
            leg.destination, leg.number_class, leg.area or "", _time(leg.seized_at),
            _time(leg.answered_at), _time(leg.ended_at), str(leg.duration_s), str(leg.billed_s),
            str(leg.charge_fen), "" if leg.cause is None else str(leg.cause), leg.box]


def render(legs: Iterable[BilledLeg]) -> bytes:
    """The file's bytes: header and one line per leg, UTF-8 without BOM, CRLF."""
    buf = io.StringIO(newline="")
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(COLUMNS)
    for leg in legs:
        out.writerow(_row(leg))
    return buf.getvalue().encode("utf-8")


def write_atomically(path: Path, data: bytes) -> str:
    """Write ``data`` at ``path`` (temp + fsync + rename + sidecar); returns its SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    path.parent.mkdir(parents=True, exist_ok=True)
    _replace(path, data)
    _replace(path.with_name(path.name + ".sha256"), f"{digest}  {path.name}\n".encode())
    return digest


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dirfd = os.open(path.parent, os.O_DIRECTORY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


# -- rotation --------------------------------------------------------------------------------
def _waiting(box: str) -> tuple[ColumnElement[bool], ...]:
    return (BilledLeg.box == box, BilledLeg.stopped_at.is_not(None),
            BilledLeg.cdr_file_id.is_(None))


def _due(session: Session, box: str, policy: CdrPolicy, now: datetime) -> int:
    """How many records the next file takes now (0: not due yet)."""
    count, oldest = session.execute(select(func.count(), func.min(BilledLeg.stopped_at))
                                    .where(*_waiting(box))).one()
    if not count:
        return 0
    if count >= policy.rotate_records:
        return policy.rotate_records
    last = session.scalar(select(func.max(CdrFile.created_at)).where(CdrFile.box == box))
    since = last or oldest
    assert since is not None  # count > 0: there is an oldest waiting record
    return int(count) if now - since >= timedelta(seconds=policy.rotate_s) else 0


def _allocate(session: Session, box: str, policy: CdrPolicy, now: datetime) -> int | None:
    n = _due(session, box, policy, now)
    if n == 0:
        return None
    ids = session.scalars(select(BilledLeg.id).where(*_waiting(box))
                          .order_by(BilledLeg.stopped_at, BilledLeg.id).limit(n)).all()
    seq = (session.scalar(select(func.max(CdrFile.seq)).where(CdrFile.box == box)) or 0) + 1
    total = session.scalar(select(func.coalesce(func.sum(BilledLeg.charge_fen), 0))
                           .where(BilledLeg.id.in_(ids)))
    closed = now.astimezone(UTC)
    f = CdrFile(box=box, seq=seq, name=f"cdr_{box}_{seq:08d}_{closed:%Y%m%dT%H%M%SZ}.csv",
                records=len(ids), total_fen=int(total or 0), sha256="", created_at=now)
    session.add(f)
    session.flush()
    session.execute(update(BilledLeg).where(BilledLeg.id.in_(ids))
                    .values(cdr_file_id=f.id))
    return f.id


def _contents(session: Session, file_id: int) -> tuple[CdrFile, bytes]:
    f = session.get(CdrFile, file_id)
    assert f is not None
    legs = session.scalars(select(BilledLeg).where(BilledLeg.cdr_file_id == file_id)
                           .order_by(BilledLeg.stopped_at, BilledLeg.id)).all()
    return f, render(legs)


def _write(store: object, file_id: int, directory: Path, now: datetime | None) -> WrittenFile:
    f, data = store.run(_contents, file_id)  # type: ignore[attr-defined]
    digest = write_atomically(directory / f.name, data)

    def done(session: Session) -> None:
        row = session.get(CdrFile, file_id)
        assert row is not None
        if row.written_at is None or row.sha256 != digest:
            row.sha256, row.written_at = digest, now or row.created_at
    if now is not None:
        store.run(done)  # type: ignore[attr-defined]
    return WrittenFile(f.seq, directory / f.name, f.records, f.total_fen, digest)


def _next_file(session: Session, box: str, policy: CdrPolicy, now: datetime) -> int | None:
    """A file allocated but not written (a crash came between) first, else a new one if due."""
    unwritten = session.scalar(select(CdrFile.id).where(CdrFile.box == box,
                                                        CdrFile.written_at.is_(None))
                               .order_by(CdrFile.seq).limit(1))
    return unwritten if unwritten is not None else _allocate(session, box, policy, now)


def flush(store: object, box: str, policy: CdrPolicy, now: datetime) -> list[WrittenFile]:
    """Write every file that is due for ``box`` at ``now`` (and any allocated but unwritten
    after a crash). Runs file I/O: call it in the DB thread pool, never on the reactor."""
    written: list[WrittenFile] = []
    while True:
        file_id = store.run(_next_file, box, policy, now)  # type: ignore[attr-defined]
        if file_id is None:
            return written
        written.append(_write(store, file_id, policy.directory, now))


# -- re-creating a period ------------------------------------------------------------------------
def export_files(store: object, start: datetime, end: datetime, directory: Path,
                 box: str | None = None) -> tuple[list[WrittenFile], int]:
    """Re-create, byte for byte, every file holding a leg that ended in [start, end) (of
    ``box``, or of every box). Returns the files and how many legs of the period are in no file
    yet (the next rotation writes them)."""
    file_ids, loose = files_of_period(store, start, end, box)
    return [export_file(store, fid, directory) for fid in file_ids], loose


def export_file(store: object, file_id: int, directory: Path) -> WrittenFile:
    """Re-create one CDR file (an id from ``files_of_period``) in ``directory``."""
    return _write(store, file_id, directory, None)


def files_of_period(store: object, start: datetime, end: datetime,
                    box: str | None = None) -> tuple[list[int], int]:
    """The ids of the files holding a leg that ended in [start, end), in (box, sequence) order,
    and how many legs of the period are in no file yet (split from ``export_files`` so the CLI
    can show its progress file by file)."""
    def pick(session: Session) -> tuple[Sequence[int], int]:
        cond = [BilledLeg.stopped_at.is_not(None), BilledLeg.ended_at >= start,
                BilledLeg.ended_at < end]
        if box is not None:
            cond.append(BilledLeg.box == box)
        ids = session.scalars(select(BilledLeg.cdr_file_id).where(
            *cond, BilledLeg.cdr_file_id.is_not(None)).distinct()).all()
        ordered = session.scalars(select(CdrFile.id).where(CdrFile.id.in_(ids))
                                  .order_by(CdrFile.box, CdrFile.seq)).all()
        loose = session.scalar(select(func.count()).where(*cond,
                                                          BilledLeg.cdr_file_id.is_(None)))
        return ordered, int(loose or 0)
    file_ids, loose = store.run(pick)  # type: ignore[attr-defined]
    return list(file_ids), loose


def export_period(store: object, start: datetime, end: datetime, directory: Path,
                  box: str | None = None) -> WrittenFile:
    """One ad-hoc file of every completed leg that ended in [start, end), whether or not a
    rotation has written it yet: ``cdr_<box|all>_export_<start>_<end>.csv`` (+ sidecar)."""
    def fn(session: Session) -> tuple[bytes, int, int]:
        cond = [BilledLeg.stopped_at.is_not(None), BilledLeg.ended_at >= start,
                BilledLeg.ended_at < end]
        if box is not None:
            cond.append(BilledLeg.box == box)
        legs = session.scalars(select(BilledLeg).where(*cond)
                               .order_by(BilledLeg.stopped_at, BilledLeg.id)).all()
        return render(legs), len(legs), sum(leg.charge_fen for leg in legs)
    data, n, total = store.run(fn)  # type: ignore[attr-defined]
    name = (f"cdr_{box or 'all'}_export_{start.astimezone(UTC):%Y%m%dT%H%M%SZ}_"
            f"{end.astimezone(UTC):%Y%m%dT%H%M%SZ}.csv")
    digest = write_atomically(directory / name, data)
    return WrittenFile(0, directory / name, n, total, digest)
