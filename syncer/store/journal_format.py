"""The journal's bytes: one record per line, each with its own CRC-32 (`encode_line`,
`decode_line`), and one pass over a whole file (`scan_journal`) finding each run and the writes
it completed that no later write made stale. No locking, no writing: journal.py does those."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..core.model import Result

__all__ = ["COMPLETED_OUTCOMES", "JOURNAL_VERSION", "MAX_PROBLEMS", "Run", "Scan", "Target",
           "decode_line", "encode_line", "read_lines", "scan_journal", "target_of"]

JOURNAL_VERSION = 1
COMPLETED_OUTCOMES = frozenset({Result.CREATED.value, Result.UPDATED.value, Result.DELETED.value})
MAX_PROBLEMS = 50  # messages kept in Journal.problems; the rest are summarized in one line

_CRC_OPEN = b',"crc":"'
_TRAILER = len(_CRC_OPEN) + 8 + 2  # ,"crc":"xxxxxxxx"}


# -- one line ----------------------------------------------------------------------------------

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)  # once, not per line


def encode_line(fields: dict[str, Any]) -> bytes:
    body = _ENCODER.encode(fields).encode("ascii")
    return body[:-1] + b'%s%08x"}\n' % (_CRC_OPEN, zlib.crc32(body))


def decode_line(raw: bytes) -> dict[str, Any] | str:
    """The record on one line (with its newline), or why it cannot be trusted."""
    if not raw.endswith(b"\n"):
        return "torn record (no end of line), ignored"
    line = raw[:-1]
    if len(line) <= _TRAILER or line[-_TRAILER:-10] != _CRC_OPEN or line[-2:] != b'"}':
        return "damaged record (no checksum), skipped"
    body = line[:-_TRAILER] + b"}"
    if line[-10:-2] != b"%08x" % zlib.crc32(body):  # exact text: "B" for "b" is damage too
        return "damaged record (checksum mismatch), skipped"
    try:
        record = json.loads(body)
    except ValueError:
        return "damaged record (checksum matches but not JSON), skipped"
    return record if _well_formed(record) else "malformed record, skipped"


def _well_formed(record: Any) -> bool:
    if not isinstance(record, dict) or not isinstance(record.get("run"), str):
        return False
    kind = record.get("t")
    if kind == "start":
        return isinstance(record.get("inputs"), str) and record.get("v") == JOURNAL_VERSION
    if kind == "write":
        texts = ("app", "scope", "name", "fp", "outcome")
        strings = all(isinstance(record.get(k), str) for k in texts)
        status, updated_at = record.get("status"), record.get("updated_at")
        return (strings and (status is None or type(status) is int)
                and (updated_at is None or isinstance(updated_at, str)))
    return kind in ("resume", "end")


# -- reading a whole journal -------------------------------------------------------------------

@dataclass
class Run:
    inputs_id: str
    order: int
    finished: bool = False


Target = tuple[str, str, str]  # (app, scope, name), the scope lower-cased: GitHub's org and
# repository names are case-insensitive, so "ACME/api" and "acme/api" are one target


@dataclass
class Scan:
    """What one pass over the file found. `done` holds each run's completed writes that no later
    record of another value wrote over: only those may be skipped when the run resumes."""

    runs: dict[str, Run] = field(default_factory=dict)
    #: run → target → (the scope as the run wrote it, the fingerprint)
    done: dict[str, dict[Target, tuple[str, str]]] = field(default_factory=dict)
    #: run → target → GitHub's time of the run's completed write (None when not recorded)
    written_at: dict[str, dict[Target, str | None]] = field(default_factory=dict)
    writers: dict[Target, set[str]] = field(default_factory=dict)  # runs with a write that counts
    problems: list[str] = field(default_factory=list)
    bad_lines: int = 0
    good_lines: int = 0
    torn_tail: bool = False

    def complain(self, number: int, why: str) -> None:
        self.bad_lines += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"line {number}: {why}")

    def summary(self) -> list[str]:
        hidden = self.bad_lines - len(self.problems)
        return self.problems + ([f"... and {hidden} more damaged lines"] if hidden > 0 else [])


def read_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes, dict[str, Any] | str]]:
    handle.seek(0)
    for number, raw in enumerate(handle, 1):
        yield number, raw, decode_line(raw)


def scan_journal(handle: BinaryIO) -> Scan:
    scan = Scan()
    for number, raw, record in read_lines(handle):
        if isinstance(record, str):
            scan.complain(number, record)
            scan.torn_tail = not raw.endswith(b"\n")
            continue
        scan.good_lines += 1
        _apply(scan, record)
    return scan


def _apply(scan: Scan, record: dict[str, Any]) -> None:
    run_id, kind = record["run"], record["t"]
    if kind == "start":
        scan.runs[run_id] = Run(record["inputs"], len(scan.runs))
        return
    run = scan.runs.get(run_id)
    if run is None:  # its start line was lost: nothing of this run can be attributed
        return
    if kind == "end":
        run.finished = True
    elif kind == "write":
        # A write of another value (another run, another command) since makes this target's
        # earlier completions stale, even one that failed (it may have landed): a resumed run
        # must write the target again.
        target, written = target_of(record), (record["scope"], record["fp"])
        writers = scan.writers.setdefault(target, set())
        for other in [r for r in writers if r != run_id and scan.done[r][target] != written]:
            del scan.done[other][target]
            scan.written_at[other].pop(target, None)
            writers.discard(other)
        if record["outcome"] in COMPLETED_OUTCOMES:
            scan.done.setdefault(run_id, {})[target] = written
            scan.written_at.setdefault(run_id, {})[target] = record.get("updated_at")
            writers.add(run_id)


def target_of(record: dict[str, Any]) -> Target:
    return record["app"], record["scope"].lower(), record["name"]

