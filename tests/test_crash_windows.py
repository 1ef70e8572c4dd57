"""The last crash windows: the order of the final save, journal damage as one log line,
fatal errors that leave an account and a resumable journal, idempotent retries, and the
writer lock shared by every state file."""

from __future__ import annotations

import warnings
from pathlib import Path

from structlog.testing import capture_logs

from syncer.journal import Entry, Journal, default_journal_path
from syncer.resume import resumable
from syncer.state import State


def _fp(i: int) -> str:
    return f"hmac-sha256:{i:064x}"


def test_journal_damage_is_one_structured_warning_and_no_python_warning(tmp_path: Path) -> None:
    """A journal with several damaged records is reported as one `journal_damaged` log event
    (how many, the first, what is done about it), never through Python's warnings machinery
    (which printed a source line such as `resume.py:115: JournalCorrupt: ...`)."""
    state = State.open(tmp_path / "state.json")
    path = default_journal_path(state.path)
    with Journal.open(path, "inputs") as journal:
        for i in range(4):
            journal.record(Entry(f"acme/r{i}", "actions", "S", _fp(i), "created", 201))
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"acme/r1", b"acme/r9")  # checksum no longer matches
    lines[3] = b"not a record\n"
    path.write_bytes(b"".join(lines)[:-5])  # and a torn tail
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any Python warning fails the test
        with capture_logs() as logs:
            with resumable(state, "inputs", lambda action: "") as resume:
                resume.unfinished = True
    damaged = [e for e in logs if "journal" in e["event"]]
    assert len(damaged) == 1, logs
    assert damaged[0]["event"] == "journal_damaged" and damaged[0]["log_level"] == "warning"
    assert damaged[0]["problems"] == 3 and "line 3" in damaged[0]["first"]
