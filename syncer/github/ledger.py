"""Where the pacing ledger lives: in memory for one process (MemoryLedger), or in a small file
that every syncer process using one token on one host shares (FileLedger)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import structlog

from .pacing_rules import LedgerState, Sent

__all__ = ["FileLedger", "Ledger", "MemoryLedger"]

log = structlog.get_logger("syncer.pacing")


class Ledger(Protocol):
    def transaction(self) -> contextlib.AbstractContextManager[LedgerState]:
        """The state, read and (on leaving without an error) kept, with no other process
        between the two."""
        ...


class MemoryLedger:
    """The ledger of one process alone."""

    def __init__(self) -> None:
        self._state = LedgerState()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[LedgerState]:
        yield self._state


class FileLedger:
    """The ledger in a file that every syncer process using one token on one host shares,
    read and rewritten in place under an flock. It holds times and point counts only: no
    token, no value."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[LedgerState]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            state = _parsed(os.read(fd, 1 << 20), self.path)
            yield state
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, _serialized(state))
        finally:
            os.close(fd)  # closing releases the lock


def _parsed(data: bytes, path: Path) -> LedgerState:
    if not data:
        return LedgerState()
    try:
        fields = json.loads(data)
        return LedgerState(
            in_flight=[Sent(str(i), float(t), int(p)) for i, t, p in fields["in_flight"]],
            answered=[[float(end), float(p)] for end, p in fields["answered"]],
            last_write_at=float(fields["last_write_at"]),
            paused_until=float(fields["paused_until"]),
            slowed_to=float(fields["slowed_to"]),
            slowed_at=float(fields["slowed_at"]),
        )
    except (ValueError, KeyError, TypeError):
        # a process killed while writing it: start afresh (the window is one minute)
        log.warning("pace_ledger_unreadable", path=str(path))
        return LedgerState()


def _serialized(state: LedgerState) -> bytes:
    return json.dumps({
        "in_flight": [[s.id, s.sent_at, s.points] for s in state.in_flight],
        "answered": state.answered,
        "last_write_at": state.last_write_at if state.last_write_at > -math.inf else 0.0,
        "paused_until": state.paused_until, "slowed_to": state.slowed_to,
        "slowed_at": state.slowed_at}, separators=(",", ":")).encode()

