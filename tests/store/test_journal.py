"""The run journal: resume, kill-safety, damaged records, moving garbage aside, compaction."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from syncer.store.journal import Completed, Entry, Journal, JournalError, default_journal_path
from syncer.store.journal_format import COMPLETED_OUTCOMES, decode_line, encode_line
from syncer.store.locks import LockHeld
from syncer.store.state import State
from syncer.store.state_format import StateKey


def fp(i: int) -> str:
    return f"hmac-sha256:{i:064x}"


def entry(i: int, outcome: str = "created") -> Entry:
    return Entry(scope=f"acme/r{i}", app="actions", name="TOKEN", fingerprint=fp(i),
                 outcome=outcome, status=201 if outcome == "created" else 500)


def done(i: int) -> tuple[str, str, str, str]:
    return ("actions", f"acme/r{i}", "TOKEN", fp(i))


def write_run(path: Path, inputs_id: str, count: int, *, finish: bool = False) -> str:
    journal = Journal.open(path, inputs_id)
    for i in range(count):
        journal.record(entry(i))
    run_id = journal.run_id
    journal.finish() if finish else journal.close()
    return run_id


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.json.journal"


# -- resuming ------------------------------------------------------------------------------------

def test_default_path_is_beside_the_state_file(tmp_path: Path) -> None:
    """<state>.journal, in the state file's directory."""
    assert default_journal_path(tmp_path / "s.json") == tmp_path / "s.json.journal"


def test_resume_finds_completed_writes_of_the_unfinished_run(path: Path) -> None:
    """Reopening with the same inputs_id resumes that run: same run_id, its successful writes."""
    journal = Journal.open(path, "inputs-A")
    assert not journal.resumed and journal.completed() == set()
    journal.record(entry(1))
    journal.record(entry(2, "updated"))
    journal.record(entry(3, "failed"))  # recorded, but not a completed write
    journal.record(Entry("acme/r4", "actions", "OLD", "", "deleted", 204))
    run_id = journal.run_id
    journal.close()

    resumed = Journal.open(path, "inputs-A")
    assert resumed.resumed and resumed.run_id == run_id
    assert resumed.completed() == {done(1), done(2), ("actions", "acme/r4", "OLD", "")}
    resumed.record(entry(5))
    assert done(5) in resumed.completed()
    resumed.close()
    assert "failed" not in COMPLETED_OUTCOMES


def test_other_inputs_start_a_new_run(path: Path) -> None:
    """A different inputs_id never sees another run's writes, and leaves that run resumable."""
    first = write_run(path, "inputs-A", 3)
    other = Journal.open(path, "inputs-B")
    assert not other.resumed and other.run_id != first and other.completed() == set()
    other.close()
    again = Journal.open(path, "inputs-A")
    assert again.resumed and again.run_id == first and len(again.completed()) == 3
    again.close()


def test_fresh_starts_a_new_run_and_supersedes_the_old(path: Path) -> None:
    """fresh=True ignores the unfinished run, which is then never resumed again."""
    old = write_run(path, "inputs-A", 3)
    fresh = Journal.open(path, "inputs-A", fresh=True)
    assert not fresh.resumed and fresh.run_id != old and fresh.completed() == set()
    fresh.record(entry(9))
    fresh.close()
    later = Journal.open(path, "inputs-A")
    assert later.run_id == fresh.run_id and later.completed() == {done(9)}
    later.close()


def test_finished_run_is_not_resumed(path: Path) -> None:
    """After finish() the same inputs start a new run with nothing completed."""
    finished = write_run(path, "inputs-A", 3, finish=True)
    journal = Journal.open(path, "inputs-A")
    assert not journal.resumed and journal.run_id != finished and journal.completed() == set()
    journal.close()


def test_finish_compacts_away_finished_runs(path: Path) -> None:
    """A large journal keeps only unfinished runs after finish(); those still resume."""
    write_run(path, "inputs-B", 2)  # unfinished, must survive compaction
    journal = Journal.open(path, "inputs-A", compact_bytes=0)
    for i in range(100):
        journal.record(entry(i))
    journal.finish()
    text = path.read_text()
    assert journal.run_id not in text
    assert len(text.splitlines()) == 3  # start + 2 writes of inputs-B
    other = Journal.open(path, "inputs-B")
    assert other.resumed and other.completed() == {done(0), done(1)}
    other.close()


def other_value(i: int) -> Entry:
    return Entry(scope=f"acme/r{i}", app="actions", name="TOKEN", fingerprint=fp(1000 + i),
                 outcome="updated", status=204)


@pytest.mark.parametrize("compact", [False, True])
def test_a_later_write_of_another_value_makes_a_completion_stale(path: Path,
                                                                  compact: bool) -> None:
    """Run A (unfinished) wrote r0..r2; run B then wrote another value to r1 and finished (and,
    when large, compacted the file). Resuming A skips r0 and r2 only: r1 holds B's value now.
    A later write of the same value (r2 by C) leaves the completion standing."""
    write_run(path, "inputs-A", 3)
    b = Journal.open(path, "inputs-B", compact_bytes=0 if compact else 1 << 20)
    b.record(other_value(1))
    b.finish()
    c = Journal.open(path, "inputs-C")
    c.record(entry(2))
    c.finish()
    a = Journal.open(path, "inputs-A")
    assert a.resumed and a.completed() == {done(0), done(2)}
    a.close()


@pytest.mark.parametrize(("later", "still_done"), [
    # GitHub's names are case-insensitive: a write to "ACME/R1" makes acme/r1's completion
    # stale; the one for acme/r0 stands, as the run wrote it
    (Entry("ACME/R1", "actions", "TOKEN", fp(1001), "updated", 204), done(0)),
    # a write that failed may still have landed (a timeout): the completion is not trusted
    (Entry("acme/r0", "actions", "TOKEN", fp(1000), "failed", 500), done(1)),
])
def test_another_runs_later_record_makes_a_completion_stale(path: Path, later: Entry,
                                                            still_done: Completed) -> None:
    """Run A (unfinished) wrote r0 and r1; run B then recorded `later`: resuming A skips only
    the other target."""
    write_run(path, "inputs-A", 2)
    b = Journal.open(path, "inputs-B")
    b.record(later)
    b.close()
    a = Journal.open(path, "inputs-A")
    assert a.completed() == {still_done}
    a.close()


def test_closed_journal_refuses_records(path: Path) -> None:
    """record() after finish() or close() raises JournalError; close() is idempotent."""
    journal = Journal.open(path, "inputs-A")
    journal.finish()
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.record(entry(1))


def test_journal_is_locked_while_open(path: Path) -> None:
    """A second open of the same journal gets LockHeld at once; after close it opens."""
    with Journal.open(path, "inputs-A"):
        with pytest.raises(LockHeld) as caught:
            Journal.open(path, "inputs-B")
        assert str(os.getpid()) in str(caught.value)
    Journal.open(path, "inputs-B").close()


# -- secrets -------------------------------------------------------------------------------------

def test_values_never_reach_the_journal(tmp_path: Path) -> None:
    """Only keyed fingerprints are journalled; a raw value is refused without being quoted."""
    value = b"hunter2-correct-horse-battery"
    state = State.open(tmp_path / "state.json")
    key = StateKey("github.com", "actions", "acme/api", "TOKEN")
    path = tmp_path / "state.json.journal"
    with Journal.open(path, "inputs-A") as journal:
        journal.record(Entry("acme/api", "actions", "TOKEN", state.fingerprint(value, key),
                             "created", 201))
        with pytest.raises(ValueError) as caught:
            journal.record(Entry("acme/api", "actions", "TOKEN", value.decode(), "created", 201))
        assert value.decode() not in str(caught.value)
    assert value not in path.read_bytes() and value.hex().encode() not in path.read_bytes()


# -- damage --------------------------------------------------------------------------------------

def test_every_single_byte_flip_in_a_line_is_detected() -> None:
    """CRC-32 per line: any one damaged byte makes decode_line refuse the line."""
    line = encode_line({"t": "write", "run": "r", "app": "actions", "scope": "acme/api",
                        "name": "TOKEN", "fp": fp(7), "outcome": "created", "status": 201})
    assert isinstance(decode_line(line), dict)
    for index in range(len(line)):
        for mask in (0x01, 0x20, 0x80, 0xFF):
            damaged = bytearray(line)
            damaged[index] ^= mask
            assert isinstance(decode_line(bytes(damaged)), str), (index, mask)


def test_truncated_last_line_is_ignored_and_the_rest_used(path: Path) -> None:
    """A torn final record is reported and skipped; the resumed run appends on a clean line."""
    run_id = write_run(path, "inputs-A", 5)
    data = path.read_bytes()
    path.write_bytes(data[:-20])  # tear the last record (entry 4)
    journal = Journal.open(path, "inputs-A")
    assert journal.resumed and journal.run_id == run_id
    assert any("torn" in p for p in journal.problems)
    assert journal.completed() == {done(i) for i in range(4)}
    journal.record(entry(4))
    journal.close()
    again = Journal.open(path, "inputs-A")
    assert again.completed() == {done(i) for i in range(5)}  # the torn tail swallowed nothing
    again.finish()  # problems trigger compaction: the damaged line is gone
    assert b"\n\n" not in path.read_bytes()
    Journal.open(path, "inputs-A").close()


def test_flipped_byte_in_a_line_is_detected_and_skipped(path: Path) -> None:
    """A record with one changed byte is counted in problems, never trusted; the rest are used."""
    write_run(path, "inputs-A", 5)
    lines = path.read_bytes().splitlines(keepends=True)
    target = lines[3]  # start, entry 0, entry 1, *entry 2*, ...
    position = target.index(b"acme/r2") + 5
    lines[3] = target[:position] + b"9" + target[position + 1:]  # acme/r2 → acme/r9
    path.write_bytes(b"".join(lines))
    journal = Journal.open(path, "inputs-A")
    assert journal.problems == ["line 4: damaged record (checksum mismatch), skipped"]
    assert journal.completed() == {done(0), done(1), done(3), done(4)}
    journal.close()


def test_garbage_file_is_moved_aside(path: Path) -> None:
    """A journal with no valid record is renamed to .corrupt-<time>, and a new one started."""
    garbage = os.urandom(4096) + b"\nnot a journal\n"
    path.write_bytes(garbage)
    journal = Journal.open(path, "inputs-A")
    assert not journal.resumed and len(journal.problems) == 1
    aside = list(path.parent.glob(path.name + ".corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == garbage
    assert str(aside[0]) in journal.problems[0]
    journal.record(entry(1))
    journal.close()
    reopened = Journal.open(path, "inputs-A")
    assert reopened.resumed and reopened.problems == [] and reopened.completed() == {done(1)}
    reopened.close()


# -- kills ---------------------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys
    from syncer.store.journal import Entry, Journal
    journal = Journal.open(sys.argv[1], sys.argv[2])
    print("ready", flush=True)
    i = 0
    while True:
        journal.record(Entry(f"acme/r{i}", "actions", "TOKEN", f"hmac-sha256:{i:064x}",
                             "created", 201))
        print(i, flush=True)
        i += 1
""")


def kill_writer_at_random(path: Path, inputs_id: str, delay: float) -> list[int]:
    """Run WRITER, SIGKILL it `delay` s after it is ready; the counters it printed."""
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path), inputs_id],
                             stdout=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    printed: list[bytes] = []
    reader = threading.Thread(target=lambda: printed.extend(child.stdout or []))
    reader.start()  # drain stdout so the child never blocks on a full pipe
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    reader.join()
    child.stdout.close()
    return [int(line) for line in printed if line.endswith(b"\n")]


def test_sigkill_at_a_random_moment_loses_no_returned_record(path: Path) -> None:
    """Every record() that returned before a SIGKILL is in the journal, which still opens.

    A child process appends records in a loop, printing each counter after record() returns; it
    is killed at a random instant, five times over (a new run each time).
    """
    rng = random.Random()
    for attempt in range(5):
        delay = rng.uniform(0.05, 0.5)
        inputs_id = f"inputs-{attempt}"
        returned = kill_writer_at_random(path, inputs_id, delay)
        assert returned, "the child wrote nothing before it was killed"
        journal = Journal.open(path, inputs_id)  # no LockHeld: the kernel freed the dead lock
        assert journal.resumed
        missing = {done(i) for i in returned} - journal.completed()
        assert not missing, f"lost {len(missing)} records (kill after {delay:.3f}s)"
        assert len(journal.completed()) in (len(returned), len(returned) + 1)
        journal.close()


def test_temp_file_of_a_crashed_compaction_is_removed(path: Path) -> None:
    """A compaction killed before os.replace leaves a temp file; the next open deletes it."""
    write_run(path, "inputs-A", 2)
    before = path.read_bytes()
    leftover = path.with_name(f".{path.name}.k3x9.tmp")
    leftover.write_bytes(before[:10])
    journal = Journal.open(path, "inputs-A")
    assert not leftover.exists() and journal.resumed and len(journal.completed()) == 2
    journal.close()
