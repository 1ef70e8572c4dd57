"""The run journal: every completed write, recorded as it happens, so a killed run can resume.

Format: an append-only file of JSON lines, one record per line, each ending in its own CRC-32:

    {"t":"start","v":1,"run":"20240611T101500Z-1a2b3c4d","inputs":"…","at":"…","crc":"89abcdef"}
    {"t":"write","run":"…","app":"actions","scope":"acme/api","name":"TOKEN","fp":"hmac-sha256:…",
     "outcome":"updated","status":204,"updated_at":"2024-06-11T10:15:02Z","crc":"…"}
    {"t":"resume","run":"…","at":"…","crc":"…"}
    {"t":"end","run":"…","why":"finished","at":"…","crc":"…"}

The CRC is over the line with its `"crc"` member removed (`body[:-1] + ',"crc":"%08x"}'`), so
every line is still plain JSON for `jq`. Values never appear: a write carries the keyed
fingerprint from `State.fingerprint`, and `record()` refuses anything that is not one.

Why JSON lines and not SQLite in WAL mode
- Group commit is explicit and exactly as specified. `record()` is one `write(2)` of one line on
  an O_APPEND descriptor: when it returns the bytes are in the kernel, so a process kill (SIGKILL,
  SIGTERM, a crash) at any instant loses nothing that returned. A background thread fsyncs at most
  every `sync_interval` (0.1 s) when something was written, and `close()`/`finish()` fsync
  before returning, so power loss costs at most the last ~100 ms of records — writes a resumed
  run then simply repeats (a PUT of the same value is harmless). SQLite's closest setting
  (`synchronous=NORMAL`) only syncs at checkpoints, an interval we would not control.
- Corruption is detectable per record. A torn last line or a flipped byte anywhere in a line
  fails that line's CRC and only that line is skipped; the rest is used. SQLite keeps no page
  checksums by default, so a flipped byte in a page can go unnoticed or make the whole database
  unreadable ("database disk image is malformed").
- The journal is small and short-lived (compacted when a run finishes) and read once per run, a
  linear scan is all the querying it needs; a text file can be inspected with `tail` and `jq`.
- Costs accepted: compaction rewrites the file (rare, at finish), and we write the locking and
  torn-tail handling ourselves (below) instead of inheriting SQLite's.

Durability details
- An open journal holds flock() on path + ".lock" (with its pid, as the state lock does): a
  second opener gets `state.LockHeld` at once. The lock file never moves, so compaction and
  moving aside can replace the journal itself without a window for another writer.
- A torn final line (power loss or a kill mid-write) is reported in `problems`, never trusted,
  and a newline is appended after it so the resumed run's records start on a line of their own.
- A file with content but not one valid record is moved aside (path + ".corrupt-<UTC time>") and
  a fresh journal started; nothing is deleted.
- Compaction (at `finish()` when the file exceeds `compact_bytes` or had problems) keeps only the
  valid records of unfinished runs, through a temp file, fsync, `os.replace`, fsync of the dir.
"""


from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .atomic import fsync_dir, remove_stale_temps, write_atomically
from .journal_format import (
    COMPLETED_OUTCOMES,
    JOURNAL_VERSION,
    Scan,
    Target,
    encode_line,
    read_lines,
    scan_journal,
    target_of,
)
from .locks import acquire_lock, release_lock
from .paths import default_state_path, lock_path, make_private_dir
from .state import crash_point
from .state_format import is_fingerprint, utc_now

__all__ = ["COMPACT_BYTES", "SYNC_INTERVAL", "Completed", "Entry", "Journal", "JournalError",
           "default_journal_path"]

SYNC_INTERVAL = 0.1  # seconds between group-commit fsyncs
COMPACT_BYTES = 1 << 20  # finish() compacts a journal larger than this

Completed = tuple[str, str, str, str]  # (app, scope, name, fingerprint)


class JournalError(Exception):
    """The journal cannot be written (disk full, I/O error) or is used after it was closed."""


@dataclass(frozen=True)
class Entry:
    """One write as done: where, the value's keyed fingerprint ("" for a delete), how it went."""

    scope: str
    app: str
    name: str
    fingerprint: str
    outcome: str  # a model.Result value: "created", "updated", "deleted", "failed", ...
    status: int | None
    updated_at: str | None = None  # GitHub's time of the write (its answer's Date), if known


def default_journal_path(state_path: Path | None = None) -> Path:
    """`<state file>.journal`, beside the state file."""
    state_path = state_path or default_state_path()
    return state_path.with_name(state_path.name + ".journal")


# -- files and locks ---------------------------------------------------------------------------




def _open_append(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise JournalError(f"cannot open the journal {path}: {exc.strerror}") from exc


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _aside_path(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.corrupt-{stamp}")
    number = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.corrupt-{stamp}-{number}")
        number += 1
    return candidate


def _new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(4)


class _GroupCommit:
    """fsyncs `fd` from a background thread at most every `interval` seconds, when dirty."""

    def __init__(self, fd: int, interval: float) -> None:
        self._fd = fd
        self._interval = interval
        self._dirty = False
        self._error: OSError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="journal-fsync", daemon=True)
        self._thread.start()

    def mark(self) -> None:
        self._dirty = True

    def error(self) -> OSError | None:
        return self._error

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            if self._dirty:
                self._dirty = False
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    self._error = exc
                    return


# -- the journal -------------------------------------------------------------------------------

class Journal:
    """One run's journal over a shared file. Build with `Journal.open`; not thread-safe."""

    def __init__(self, path: Path, fd: int, lock_fd: int, inputs_id: str, run_id: str,
                 resumed: bool, completed: dict[Completed, str | None], problems: list[str], *,
                 sync_interval: float, compact_bytes: int, others_unfinished: bool) -> None:
        self.path = path
        self.inputs_id = inputs_id
        self.run_id = run_id
        self.resumed = resumed
        self.problems = problems
        self.damaged_lines = 0  # lines skipped as damaged (problems lists the first 50)
        self._fd: int | None = fd
        self._lock_fd = lock_fd
        self._completed = completed
        self._compact_bytes = compact_bytes
        self._others_unfinished = others_unfinished  # runs of other inputs, to keep at compaction
        self._broken: str | None = None
        self._group = _GroupCommit(fd, sync_interval)

    @classmethod
    def open(cls, path: str | Path, inputs_id: str, *, fresh: bool = False,
             sync_interval: float = SYNC_INTERVAL, compact_bytes: int = COMPACT_BYTES) -> Journal:
        """Resume the latest unfinished run of `inputs_id` in `path` (unless `fresh`), or start one.

        Older unfinished runs of the same inputs (and, with `fresh`, the latest too) are marked
        superseded and never resumed. Damaged lines are skipped and listed in `problems`
        (for the caller to report; nothing is printed here).
        """
        path = Path(path)
        make_private_dir(path.parent)
        lock_fd = acquire_lock(lock_path(path))
        fd = -1
        try:
            remove_stale_temps(path)
            fd, scan, problems = _read_or_move_aside(path)
            if scan.torn_tail:
                _write_all(fd, b"\n")
            run_id, resumed, completed = _choose_run(fd, scan, inputs_id, fresh)
            os.fsync(fd)
            fsync_dir(path.parent)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            release_lock(lock_fd)
            raise
        others = any(not r.finished for other_id, r in scan.runs.items()
                     if other_id != run_id and r.inputs_id != inputs_id)
        journal = cls(path, fd, lock_fd, inputs_id, run_id, resumed, completed, problems,
                      sync_interval=sync_interval, compact_bytes=compact_bytes,
                      others_unfinished=others)
        journal.damaged_lines = scan.bad_lines
        return journal

    def completed(self) -> set[Completed]:
        """(app, scope, name, fingerprint) of each write this run completed, before and since now.

        Only outcomes in COMPLETED_OUTCOMES count (created, updated, deleted); failures do not.
        """
        return set(self._completed)

    def has_completed(self, write: Completed) -> bool:
        """Whether `completed()` holds `write` (without copying the set)."""
        return write in self._completed

    def written_at(self, write: Completed) -> str | None:
        """GitHub's time of a completed write, when its record has one."""
        return self._completed.get(write)

    def forget(self, write: Completed) -> None:
        """Count a completed write as not done, so this run writes it again (someone changed
        it on GitHub since). The record stays; the new write's record follows it."""
        self._completed.pop(write, None)

    def record(self, entry: Entry) -> None:
        """Append `entry`; on return it survives a kill of this process (power loss: ~100 ms later).

        The fingerprint must come from State.fingerprint ("" for a delete); all else is refused.
        """
        fd = self._writable()
        _check_entry(entry)
        line = encode_line({"t": "write", "run": self.run_id, "app": entry.app,
                            "scope": entry.scope, "name": entry.name, "fp": entry.fingerprint,
                            "outcome": entry.outcome, "status": entry.status,
                            "updated_at": entry.updated_at})
        try:
            _write_all(fd, line)
        except OSError as exc:
            self._broken = f"an earlier append failed ({exc.strerror})"
            raise JournalError(f"cannot append to the journal {self.path}: {exc.strerror}") from exc
        self._group.mark()
        if entry.outcome in COMPLETED_OUTCOMES:
            self._completed[(entry.app, entry.scope, entry.name, entry.fingerprint)] = (
                entry.updated_at)

    def finish(self) -> None:
        """Mark the run finished (never resumed again), compact the file if due, and close."""
        fd = self._writable()
        try:
            _write_all(fd, encode_line({"t": "end", "run": self.run_id, "why": "finished",
                                        "at": utc_now()}))
            os.fsync(fd)
        except OSError as exc:
            self._release(fd)
            raise JournalError(f"could not mark the run finished in {self.path} ({exc.strerror}); "
                               "the next run with the same inputs resumes it") from exc
        crash_point("journal-end-written")
        try:
            if self.problems or os.fstat(fd).st_size > self._compact_bytes:
                if self.problems or self._others_unfinished:
                    _compact(self.path, fd)
                else:  # every run in the file is finished: nothing to keep, nothing to read
                    os.ftruncate(fd, 0)
                    os.fsync(fd)
        except OSError as exc:
            raise JournalError(f"the run is marked finished in {self.path}, but compacting the "
                               f"journal failed ({exc.strerror}); it is intact") from exc
        finally:
            self._release(fd)

    def close(self) -> None:
        """Flush and fsync; the run stays resumable. Idempotent."""
        if self._fd is None:
            return
        fd = self._fd
        self._group.stop()
        try:
            os.fsync(fd)
        finally:
            self._release(fd)
        if (error := self._group.error()) is not None:
            raise JournalError(f"a background fsync of {self.path} failed ({error.strerror}); "
                               "records from the last ~100 ms may not survive a power loss")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _release(self, fd: int) -> None:
        self._group.stop()  # before the fd closes: the fsync thread must never see it reused
        self._fd = None
        os.close(fd)
        release_lock(self._lock_fd)

    def _writable(self) -> int:
        if self._fd is None:
            raise JournalError(f"the journal {self.path} is closed")
        if self._broken is None and (error := self._group.error()) is not None:
            self._broken = f"a background fsync failed ({error.strerror})"
        if self._broken is not None:
            raise JournalError(f"the journal {self.path} cannot be trusted: {self._broken}")
        return self._fd


def _check_entry(entry: Entry) -> None:
    """Refuse an entry whose fingerprint could be a value (and never echo it)."""
    if entry.fingerprint and not is_fingerprint(entry.fingerprint):
        raise ValueError(f"refusing to journal {entry.scope} {entry.name}: the fingerprint is not "
                         "an hmac-sha256 fingerprint from State.fingerprint")
    if not entry.outcome:
        raise ValueError(f"journal entry for {entry.scope} {entry.name} has no outcome")


def _read_or_move_aside(path: Path) -> tuple[int, Scan, list[str]]:
    """Open and scan the journal; content without one valid record is moved aside, start anew."""
    fd = _open_append(path)
    try:
        with open(fd, "rb", closefd=False) as handle:
            scan = scan_journal(handle)
    except BaseException:
        os.close(fd)
        raise
    if scan.good_lines or not scan.bad_lines:
        return fd, scan, scan.summary()
    os.close(fd)
    aside = _aside_path(path)
    os.rename(path, aside)
    problem = (f"the journal could not be read at all ({scan.bad_lines} damaged lines, no valid "
               f"record); moved it aside to {aside}")
    return _open_append(path), Scan(bad_lines=scan.bad_lines), [problem]


def _choose_run(fd: int, scan: Scan, inputs_id: str,
                fresh: bool) -> tuple[str, bool, dict[Completed, str | None]]:
    """(run_id, resumed, completed): resume the latest unfinished run, superseding older ones."""
    unfinished = sorted((r.order, run_id) for run_id, r in scan.runs.items()
                        if r.inputs_id == inputs_id and not r.finished)
    resume = None if fresh or not unfinished else unfinished.pop()[1]
    for _, stale in unfinished:
        superseded = {"t": "end", "run": stale, "why": "superseded", "at": utc_now()}
        _write_all(fd, encode_line(superseded))
    if resume is not None:
        _write_all(fd, encode_line({"t": "resume", "run": resume, "at": utc_now()}))
        written_at = scan.written_at.get(resume, {})
        return resume, True, {(app, scope, name, fp): written_at.get((app, lowered, name))
                              for (app, lowered, name), (scope, fp)
                              in scan.done.get(resume, {}).items()}
    run_id = _new_run_id()
    _write_all(fd, encode_line({"t": "start", "v": JOURNAL_VERSION, "run": run_id,
                                "inputs": inputs_id, "at": utc_now()}))
    return run_id, False, {}


def _compact(path: Path, fd: int) -> None:
    """Rewrite the journal with only the valid records of unfinished runs (under our lock)."""
    with open(fd, "rb", closefd=False) as handle:
        scan = scan_journal(handle)
        keep = {run_id for run_id, run in scan.runs.items() if not run.finished}
        write_atomically(path, lambda out: out.writelines(_kept_lines(read_lines(handle), keep,
                                                                      scan.done)),
                         step=lambda step: crash_point(f"compaction-{step}"))


def _kept_lines(lines: Iterable[tuple[int, bytes, dict[str, Any] | str]], keep: set[str],
                done: dict[str, dict[Target, tuple[str, str]]]) -> Iterator[bytes]:
    """Lines of the runs in `keep`, less their completed writes that a later write of another
    value made stale (the lines that did are dropped with their finished runs)."""
    for _, raw, record in lines:
        if isinstance(record, str) or record["run"] not in keep:
            continue
        if record["t"] == "write" and record["outcome"] in COMPLETED_OUTCOMES:
            written = (record["scope"], record["fp"])
            if done.get(record["run"], {}).get(target_of(record)) != written:
                continue
        yield raw
