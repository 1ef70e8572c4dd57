"""The state file: round trips, keyed fingerprints, atomic saves, private modes, the run lock."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncer.core.model import SecretValue
from syncer.store.locks import LockHeld
from syncer.store.paths import default_state_path
from syncer.store.state import State
from syncer.store.state_format import Record, StateError, StateKey

VALUE = b"hunter2-correct-horse-battery"
API = StateKey("github.com", "actions", "acme/api", "TOKEN")
WEB = StateKey("github.com", "actions", "acme/web", "TOKEN")


def record_for(state: State, key: StateKey, value: bytes = VALUE) -> Record:
    return Record(state.fingerprint(value, key), "2024-06-11T10:15:00Z", "2024-06-11T10:15:01Z")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.json"


# -- paths and round trips ---------------------------------------------------------------------

def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$XDG_STATE_HOME/syncer/state.json when absolute; ~/.local/state otherwise."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_state_path() == tmp_path / "syncer" / "state.json"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/dir")
    assert default_state_path() == Path.home() / ".local/state/syncer/state.json"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_state_path() == Path.home() / ".local/state/syncer/state.json"


def test_missing_file_is_empty_and_round_trip_keeps_records(path: Path) -> None:
    """A missing state file opens empty; put/forget/save/open gives back exactly what was kept."""
    state = State.open(path)
    assert state.records() == {} and state.warnings == []
    state.put(API, record_for(state, API))
    state.put(WEB, Record(state.fingerprint(VALUE, WEB), None, "2024-06-11T10:15:02Z"))
    org = StateKey("github.com", "actions", "acme", "ORG_WIDE")
    state.put(org, Record(state.fingerprint(VALUE, org), None, "2024-06-11T10:15:02Z",
                          "selected:7,9"))
    gone = StateKey("ghe.example.com", "dependabot", "acme/api:production", "OLD")
    state.put(gone, record_for(state, gone))
    state.forget(gone)
    state.save()

    again = State.open(path)
    assert again.records() == state.records()
    assert again.get(WEB) == Record(state.fingerprint(VALUE, WEB), None, "2024-06-11T10:15:02Z")
    assert again.get(gone) is None
    assert again.get(org).selection == "selected:7,9"  # type: ignore[union-attr]
    assert json.loads(path.read_bytes())["version"] == 1


def test_saves_from_two_runs_merge(path: Path) -> None:
    """A save after another run's save keeps both runs' records (re-read, own changes on top)."""
    first, second = State.open(path), State.open(path)
    first.put(API, record_for(first, API))
    first.save()
    second.put(WEB, record_for(second, WEB))
    second.forget(API)
    second.save()
    assert set(State.open(path).records()) == {WEB}
    first.put(API, record_for(first, API, b"other"))
    first.save()
    assert set(State.open(path).records()) == {API, WEB}


# -- fingerprints ------------------------------------------------------------------------------

def test_fingerprint_binds_where_the_value_lives(path: Path) -> None:
    """Equal values under different host/app/scope/name have different fingerprints."""
    state = State.open(path)
    keys = [API, WEB, StateKey("ghe.example.com", "actions", "acme/api", "TOKEN"),
            StateKey("github.com", "dependabot", "acme/api", "TOKEN"),
            StateKey("github.com", "actions", "acme/api:production", "TOKEN"),
            StateKey("github.com", "actions", "acme/api", "TOKEN2"),
            # fields are length-prefixed: moving characters between fields changes the input
            StateKey("github.com", "actions", "acme/apiT", "OKEN")]
    prints = {state.fingerprint(VALUE, key) for key in keys}
    assert len(prints) == len(keys)
    assert all(p.startswith("hmac-sha256:") and len(p) == len("hmac-sha256:") + 64 for p in prints)


def test_fingerprint_is_keyed_and_stable(tmp_path: Path) -> None:
    """Same key file → same fingerprint across opens; another key → another one; never unkeyed."""
    one = State.open(tmp_path / "one" / "state.json")
    again = State.open(tmp_path / "one" / "state.json")
    other = State.open(tmp_path / "two" / "state.json")
    fp = one.fingerprint(VALUE, API)
    assert again.fingerprint(VALUE, API) == fp
    assert one.fingerprint(SecretValue(VALUE), API) == fp
    assert other.fingerprint(VALUE, API) != fp
    assert one.fingerprint(b"hunter3-correct-horse-battery", API) != fp
    unkeyed = hashlib.sha256(VALUE).hexdigest()
    assert unkeyed not in fp
    assert hashlib.sha256(API.scope.encode() + VALUE).hexdigest() not in fp


def test_value_never_reaches_disk(path: Path) -> None:
    """After a save, no file beside the state holds the value, raw, hex or as an unkeyed hash."""
    state = State.open(path)
    state.put(API, record_for(state, API))
    with state.lock():
        state.save()
    forms = [VALUE, VALUE.hex().encode(), hashlib.sha256(VALUE).hexdigest().encode()]
    for file in path.parent.iterdir():
        data = file.read_bytes()
        assert not any(form in data for form in forms), file.name


def test_put_refuses_what_is_not_a_fingerprint(path: Path) -> None:
    """A raw value passed as a fingerprint is refused, and the error does not quote it."""
    state = State.open(path)
    with pytest.raises(ValueError) as caught:
        state.put(API, Record(VALUE.decode(), None, "2024-06-11T10:15:01Z"))
    assert VALUE.decode() not in str(caught.value)
    assert state.get(API) is None


# -- keys ----------------------------------------------------------------------------------------

def test_missing_key_drops_records_with_a_warning(path: Path) -> None:
    """Without its key the records are useless: re-keyed, records dropped, reason in warnings."""
    state = State.open(path)
    state.put(API, record_for(state, API))
    state.save()
    old = state.fingerprint(VALUE, API)
    Path(str(path) + ".key").unlink()

    rekeyed = State.open(path)
    assert rekeyed.records() == {}
    assert len(rekeyed.warnings) == 1 and "key file was missing" in rekeyed.warnings[0]
    assert rekeyed.fingerprint(VALUE, API) != old
    assert mode(Path(str(path) + ".key")) == 0o600


def test_replaced_key_drops_records_with_a_warning(path: Path) -> None:
    """A key file that is not the one the records were made with is detected by key_check."""
    state = State.open(path)
    state.put(API, record_for(state, API))
    state.save()
    Path(str(path) + ".key").write_bytes(os.urandom(32))
    reopened = State.open(path)
    assert reopened.records() == {} and "replaced" in reopened.warnings[0]


def test_key_of_wrong_size_is_an_error(path: Path) -> None:
    """A damaged key file is reported (not silently replaced), naming the file and the fix."""
    State.open(path)
    key = Path(str(path) + ".key")
    key.write_bytes(b"short")
    with pytest.raises(StateError, match="delete it to re-key") as caught:
        State.open(path)
    assert str(key) in str(caught.value)


# -- corrupt files -------------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "not-utf8", "bad-record",
                                    "newer-version"])
def test_corrupt_state_is_a_clear_error(path: Path, damage: str) -> None:
    """Truncated, garbage, empty or malformed state → StateError naming the file and the way out."""
    state = State.open(path)
    state.put(API, record_for(state, API))
    state.save()
    data = path.read_bytes()
    document = json.loads(data)
    if damage == "bad-record":
        document["records"][0]["fingerprint"] = "sha256:abc"
    if damage == "newer-version":
        document["version"] = 2
    damaged = {"truncated": data[: len(data) // 2], "garbage": b"\x00\x17garbage{",
               "empty": b"", "not-utf8": b'{"version": 1, "records": ["\xff"]}',
               }.get(damage, json.dumps(document).encode())
    path.write_bytes(damaged)
    with pytest.raises(StateError) as caught:
        State.open(path)
    message = str(caught.value)
    assert str(path) in message
    assert ("GitHub's state" in message) or ("upgrade syncer" in message)


@pytest.mark.parametrize("other", ["a file of something else", "a device"])
def test_a_path_that_is_no_state_file_is_refused_and_left_alone(tmp_path: Path,
                                                                 other: str) -> None:
    """--state pointing at another file (or a device, which would be read for ever) is refused,
    and no key file is made beside it."""
    path = tmp_path / "passwd"
    if other == "a device":
        path.symlink_to("/dev/zero")
    else:
        path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(StateError, match=f"the state file {path} is corrupt"):
        State.open(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passwd"]


# -- atomic saves ----------------------------------------------------------------------------------

SAVER = textwrap.dedent("""
    import sys
    from syncer.store.state import State
    from syncer.store.state_format import Record, StateKey
    state = State.open(sys.argv[1])
    rounds = 0
    while True:
        tag = "a" if rounds % 2 == 0 else "b"
        for key in list(state.records()):
            state.forget(key)
        for i in range(300):
            key = StateKey("github.com", "actions", f"acme/r{i}", "TOKEN")
            state.put(key, Record(state.fingerprint(tag.encode(), key), None, tag))
        state.save()
        rounds += 1
        print(rounds, flush=True)
""")


def test_save_survives_sigkill_at_any_instant(path: Path) -> None:
    """A process killed mid-save leaves the old or the new file, always whole and readable.

    Real processes, real kills: a child saves two alternating record sets in a loop and is
    SIGKILLed at a random moment; each time the file opens and holds exactly one of the sets.
    """
    rng = random.Random()
    for _ in range(5):
        child = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE)
        assert child.stdout is not None
        child.stdout.readline()  # one full save done
        time.sleep(rng.uniform(0.0, 0.2))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        records = State.open(path).records()
        assert len(records) == 300
        assert len({r.written_at for r in records.values()}) == 1
    state = State.open(path)
    with state.lock():
        assert temp_files(path.parent) == []  # a killed save's temp file is cleaned up under lock


def test_failed_replace_keeps_the_old_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If os.replace fails after the temp file is written, the old file is intact, no temp remains.

    (A read-only directory cannot simulate this when the tests run as root, so os.replace itself
    is made to fail, the one step between "temp written and fsynced" and "file replaced".)
    """
    state = State.open(path)
    state.put(API, record_for(state, API))
    state.save()
    before = path.read_bytes()

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    state.put(WEB, record_for(state, WEB))
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(StateError, match="previous state file is unchanged"):
        state.save()
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert temp_files(path.parent) == []
    state.save()  # the change is still pending and lands on the next save
    assert set(State.open(path).records()) == {API, WEB}


def test_files_are_private(path: Path) -> None:
    """State, key and lock files are 0600; a directory syncer creates is 0700."""
    old_umask = os.umask(0o022)
    try:
        state = State.open(path)
        with state.lock():
            state.save()
    finally:
        os.umask(old_umask)
    assert mode(path.parent) == 0o700
    for suffix in ("", ".key", ".lock"):
        assert mode(Path(str(path) + suffix)) == 0o600, suffix


# -- the lock ------------------------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from syncer.store.state import State
    with State.open(sys.argv[1]).lock():
        print("locked", flush=True)
        time.sleep(60)
""")


@pytest.fixture
def holder(path: Path) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stdout.readline() == b"locked\n"
    yield child
    child.kill()
    child.wait()
    child.stdout.close()


def test_lock_held_by_another_process_fails_at_once(path: Path,
                                                    holder: subprocess.Popen[bytes]) -> None:
    """A second process gets LockHeld immediately, naming the lock file and the holder's pid."""
    state = State.open(path)
    started = time.monotonic()
    with pytest.raises(LockHeld) as caught, state.lock():
        pass
    assert time.monotonic() - started < 0.5
    assert caught.value.holder_pid == holder.pid
    assert str(path) + ".lock" in str(caught.value) and str(holder.pid) in str(caught.value)
    with pytest.raises(LockHeld):
        state.save()  # saving takes the lock too, so it cannot clobber the running run's file


def test_lock_of_a_killed_process_is_free(path: Path, holder: subprocess.Popen[bytes]) -> None:
    """No stale locks: once the holder is SIGKILLed the lock can be taken, with our pid in it."""
    holder.kill()
    holder.wait()
    state = State.open(path)
    with state.lock():
        assert Path(str(path) + ".lock").read_text().strip() == str(os.getpid())


def test_lock_is_exclusive_within_a_process_too(path: Path) -> None:
    """Two States on one file in one process exclude each other (flock is per open file)."""
    first, second = State.open(path), State.open(path)
    with first.lock(), pytest.raises(LockHeld), second.lock():
        pass
    with second.lock():
        pass


def test_lock_refreshes_records_saved_by_another_run(path: Path) -> None:
    """Records read before the lock was taken are refreshed from disk on entry."""
    early = State.open(path)
    other = State.open(path)
    other.put(API, record_for(other, API))
    other.save()
    with early.lock():
        assert set(early.records()) == {API}
