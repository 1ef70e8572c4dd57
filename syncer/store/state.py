"""The state file: what syncer last wrote where, as keyed fingerprints, so runs skip what is right.

Layout, all beside each other (directory created 0700, files 0600):

    state.json        {"version": 1, "key_check": "hmac-sha256:…", "records": [{…}, …]}
    state.json.key    32 random bytes: the HMAC key behind every fingerprint
    state.json.lock   flock()ed by the run in progress; holds its pid (informational only)

A secret value never reaches this module's files, messages or exceptions. What is stored is
`fingerprint()`: HMAC-SHA256 under the random key, over the value *and* where it lives (host, app,
scope, name), so equal values in two scopes look unrelated and a stolen state file is useless for
guessing values without the key file.

Decisions
- Key file missing beside a state file with records: the records are dropped, a fresh key is made
  and the reason is put in `State.warnings` (not an error). Fingerprints without their key can
  never match again, so keeping them is pointless, and refusing to run would only make the user
  delete the file by hand. Dropping records is safe: the next run compares against GitHub's state
  and rewrites what it cannot prove is right. The same holds when the key file was replaced
  (`key_check` in the state file no longer matches).
- Corrupt or truncated state file: `StateError` saying where and how to recover. The caller
  decides whether to proceed from GitHub's state; this module never silently discards a file it
  cannot read.
- `save()` is atomic against a crash at any instant: temp file in the same directory, fsync,
  `os.replace`, fsync of the directory. It runs under the lock (taking it briefly if the caller
  does not hold it) and merges: when another run saved since this one read the file, the file is
  re-read and this run's own puts/forgets are laid on top, so neither run's records are lost.
- Not thread-safe: one State belongs to one thread (the engine's event loop).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import stat
import struct
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..core.model import SecretValue

FORMAT_VERSION = 1
KEY_BYTES = 32
FINGERPRINT_PREFIX = "hmac-sha256:"
FINGERPRINT_RE = re.compile(r"hmac-sha256:[0-9a-f]{64}")
_FP_DOMAIN = b"syncer fingerprint v1\0"
_KEY_CHECK_DOMAIN = b"syncer state key check v1\0"
_RECOVER = "move it aside or delete it; the next run then starts from GitHub's state"

_Signature = tuple[int, int, int]  # (inode, size, mtime_ns) of the state file as last read


class StateError(Exception):
    """The state file or its key cannot be read, parsed or written; the message says what to do."""


class LockHeld(Exception):
    """Another run holds the lock."""

    def __init__(self, lock_path: Path, holder_pid: int | None, holder_command: str = "",
                 what: str = "") -> None:
        who = f"pid {holder_pid}" if holder_pid is not None else "pid not yet written"
        who += f": {holder_command}" if holder_command else ""
        doing = f" is {what} and" if what else ""
        super().__init__(f"another syncer run ({who}){doing} holds the lock {lock_path}; wait "
                         "for it to finish (the lock is released automatically when that "
                         "process exits)")
        self.lock_path = lock_path
        self.holder_pid = holder_pid
        self.holder_command = holder_command


@dataclass(frozen=True, order=True)
class StateKey:
    """Where one secret lives. `scope` is like "acme", "acme/api" or "acme/api:production"."""

    host: str
    app: str
    scope: str
    name: str


@dataclass(frozen=True)
class Record:
    """What syncer wrote: the value's fingerprint, GitHub's updated_at after the write, when,
    and for an org secret who may read it (OrgSelection.as_text())."""

    fingerprint: str
    updated_at: str | None
    written_at: str
    selection: str | None = None

    @classmethod
    def now(cls, fingerprint: str, updated_at: str | None = None,
            selection: str | None = None) -> Record:
        return cls(fingerprint, updated_at, utc_now(), selection)


def utc_now() -> str:
    """The current time as ISO-8601 UTC with a Z, second precision (GitHub's own format)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_state_path() -> Path:
    """$XDG_STATE_HOME/syncer/state.json, else ~/.local/state/syncer/state.json.

    A relative $XDG_STATE_HOME is ignored, as the XDG base-directory spec requires.
    """
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "syncer" / "state.json"


#: Test-only: the crash point at which `crash_point` kills this process (see tests/).
CRASH_AT_VARIABLE = "SYNCER_TEST_KILL_AT"


def crash_point(name: str) -> None:
    """A step of saving the state or the journal where a test may SIGKILL syncer (naming it in
    $SYNCER_TEST_KILL_AT), to show that a kill at that instant loses no record."""
    if os.environ.get(CRASH_AT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def is_fingerprint(text: str) -> bool:
    return FINGERPRINT_RE.fullmatch(text) is not None


class State:
    """Records per StateKey, loaded from and saved to one state file. Build with `State.open`."""

    def __init__(self, path: Path, key: bytes, records: dict[StateKey, Record],
                 signature: _Signature | None, warnings: list[str]) -> None:
        self.path = path
        self.warnings = warnings
        self._key = key
        self._records = records
        self._signature = signature
        self._pending: dict[StateKey, Record | None] = {}
        self._lock_fd: int | None = None

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> State:
        """Load `path` (missing → empty), creating its directory (0700) and key file as needed.

        Raises StateError for an unreadable or corrupt file or key; see the module docstring for
        what happens to records whose key is gone (they are dropped with a warning).
        """
        path = Path(path)
        make_private_dir(path.parent)
        # read first: a path that is no state file (a typo, another file) leaves no key beside it
        check, records, signature = _read_state(path)
        warnings: list[str] = []
        key, key_created = _load_or_create_key(_key_path(path), warnings)
        records = _trusted(path, check, records, key, key_created, warnings)
        return cls(path, key, records, signature, warnings)

    # -- fingerprints and records --------------------------------------------------------------

    def fingerprint(self, value: bytes | SecretValue, key: StateKey) -> str:
        """"hmac-sha256:" + hex of HMAC(state key, host, app, scope, name, value).

        Every field is length-prefixed, so no two different (where, value) pairs share an input.
        """
        raw = value.reveal() if isinstance(value, SecretValue) else value
        mac = hmac.new(self._key, _FP_DOMAIN, hashlib.sha256)
        for part in (key.host, key.app, key.scope, key.name):
            encoded = part.encode("utf-8")
            mac.update(struct.pack(">I", len(encoded)) + encoded)
        mac.update(raw)
        return FINGERPRINT_PREFIX + mac.hexdigest()

    def get(self, key: StateKey) -> Record | None:
        return self._records.get(key)

    def put(self, key: StateKey, record: Record) -> None:
        """Remember `record` for `key` (saved by `save()`); refuses anything but a fingerprint."""
        if not is_fingerprint(record.fingerprint):
            # Never echo the offending string: it may be a value passed by mistake.
            raise ValueError(f"refusing to store a record for {key.scope} {key.name}: its "
                             "fingerprint is not an hmac-sha256 fingerprint from State.fingerprint")
        self._records[key] = record
        self._pending[key] = record

    def forget(self, key: StateKey) -> None:
        self._records.pop(key, None)
        self._pending[key] = None

    def records(self) -> dict[StateKey, Record]:
        return dict(self._records)

    # -- saving and locking --------------------------------------------------------------------

    def save(self) -> None:
        """Write the state atomically (mode 0600), merging with any save made since it was read."""
        if self._lock_fd is not None:
            self._save_locked()
            return
        with self.lock():
            self._save_locked()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run lock (path + ".lock"), or raise LockHeld at once if another process has it.

        On entry the records are refreshed from disk if another run saved since they were read
        (this State's own changes are kept on top). Stale temp files of a crashed save are removed.
        """
        if self._lock_fd is not None:
            raise RuntimeError("this State already holds its lock")
        fd = acquire_lock(lock_path(self.path))
        self._lock_fd = fd
        try:
            _remove_stale_temps(self.path)
            self._refresh_if_changed()
            yield
        finally:
            self._lock_fd = None
            release_lock(fd)

    def _save_locked(self) -> None:
        self._refresh_if_changed()
        document = _to_document(self._records, _key_check(self._key))
        self._signature = _write_atomically(self.path, document)
        self._pending.clear()

    def _refresh_if_changed(self) -> None:
        if _signature_of(self.path) == self._signature:
            return
        check, records, signature = _read_state(self.path)
        records = _trusted(self.path, check, records, self._key, False, self.warnings)
        for key, record in self._pending.items():
            if record is None:
                records.pop(key, None)
            else:
                records[key] = record
        self._records, self._signature = records, signature


# -- files -------------------------------------------------------------------------------------

def _key_path(path: Path) -> Path:
    return path.with_name(path.name + ".key")


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def make_private_dir(directory: Path) -> None:
    if directory.is_dir():
        return
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    except OSError as exc:
        raise StateError(f"cannot create the state directory {directory}: {exc.strerror}") from exc


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_or_create_key(key_path: Path, warnings: list[str]) -> tuple[bytes, bool]:
    """The key and whether it was just created."""
    try:
        return _read_key(key_path, warnings), False
    except FileNotFoundError:
        pass
    created = _create_key(key_path)
    if not created:  # another process made it between our read and our create: use theirs
        return _read_key(key_path, warnings), False
    return created, True


def _read_key(key_path: Path, warnings: list[str]) -> bytes:
    try:
        with open(key_path, "rb") as handle:
            key = handle.read(KEY_BYTES + 1)
            mode = os.fstat(handle.fileno()).st_mode
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StateError(f"cannot read the state key {key_path}: {exc.strerror}") from exc
    if len(key) != KEY_BYTES:
        raise StateError(f"the state key {key_path} holds {len(key)} bytes, not {KEY_BYTES}; "
                         "delete it to re-key (the state's records are then dropped and the next "
                         "run compares against GitHub)")
    if mode & 0o077:
        warnings.append(f"the state key {key_path} is readable by others (mode {mode & 0o777:o}); "
                        f"run: chmod 600 {key_path}")
    return key


def _create_key(key_path: Path) -> bytes | None:
    """Write a new random key, atomically and exclusively; None if one appeared meanwhile."""
    key = secrets.token_bytes(KEY_BYTES)
    fd, temp = tempfile.mkstemp(dir=key_path.parent, prefix=f".{key_path.name}.", suffix=".tmp")
    try:
        os.write(fd, key)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.link(temp, key_path)  # fails if the key exists: never overwrite someone's key
    except FileExistsError:
        return None
    except OSError as exc:
        raise StateError(f"cannot create the state key {key_path}: {exc.strerror}") from exc
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    fsync_dir(key_path.parent)
    return key


def _signature_of(path: Path) -> _Signature | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _read_state(path: Path) -> tuple[str | None, dict[StateKey, Record], _Signature | None]:
    """The state file's key check, records and signature; nothing of a missing file."""
    try:
        with open(path, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise _corrupt(path, "not a regular file")
            data = handle.read()
    except FileNotFoundError:
        return None, {}, None
    except OSError as exc:
        raise StateError(f"cannot read the state file {path}: {exc.strerror}") from exc
    check, records = _parse_document(path, data)
    return check, records, (st.st_ino, st.st_size, st.st_mtime_ns)


def _trusted(path: Path, check: str | None, records: dict[StateKey, Record], key: bytes,
             key_created: bool, warnings: list[str]) -> dict[StateKey, Record]:
    """The records, unless their fingerprints were made with another key than `key`."""
    if records and (key_created or check != _key_check(key)):
        why = "its key file was missing" if key_created else "its key file was replaced"
        warnings.append(f"dropped {len(records)} records from {path}: {why}, so their fingerprints "
                        "can no longer be checked; this run compares against GitHub instead")
        return {}
    return records


def _key_check(key: bytes) -> str:
    return FINGERPRINT_PREFIX + hmac.new(key, _KEY_CHECK_DOMAIN, hashlib.sha256).hexdigest()


# -- the document ------------------------------------------------------------------------------

def _corrupt(path: Path, what: str) -> StateError:
    return StateError(f"the state file {path} is corrupt ({what}); if that is the right file, "
                      f"{_RECOVER}")


def _parse_document(path: Path, data: bytes) -> tuple[str | None, dict[StateKey, Record]]:
    """(key_check, records) from the file's bytes, or StateError naming the first problem."""
    try:
        document = json.loads(data)
    except RecursionError:
        raise _corrupt(path, "nested too deeply to be syncer's") from None
    except UnicodeDecodeError as exc:
        raise _corrupt(path, f"not UTF-8 at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        what = "empty" if not data.strip() else f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise _corrupt(path, f"not valid JSON: {what}; truncated?") from None
    if not isinstance(document, dict):
        raise _corrupt(path, "the top level is not an object")
    version = document.get("version")
    if version != FORMAT_VERSION:
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise StateError(f"the state file {path} was written by a newer syncer (format version "
                             f"{version}; this one reads {FORMAT_VERSION}); upgrade syncer")
        raise _corrupt(path, f"unknown format version {version!r}")
    check = document.get("key_check")
    raw_records = document.get("records")
    if not isinstance(raw_records, list) or not isinstance(check, (str, type(None))):
        raise _corrupt(path, '"records" is not a list or "key_check" is not a string')
    return check, _parse_records(path, raw_records)


def _parse_records(path: Path, raw_records: list[Any]) -> dict[StateKey, Record]:
    records: dict[StateKey, Record] = {}
    for index, raw in enumerate(raw_records):
        parsed = _parse_record(raw)
        if parsed is None:
            raise _corrupt(path, f"record {index} is malformed")
        key, record = parsed
        if key in records:
            raise _corrupt(path, f"record {index} repeats {key.scope} {key.name}")
        records[key] = record
    return records


def _parse_record(raw: Any) -> tuple[StateKey, Record] | None:
    if not isinstance(raw, dict):
        return None
    names = ("host", "app", "scope", "name", "fingerprint", "written_at")
    if not all(isinstance(raw.get(n), str) for n in names):
        return None
    if not all(isinstance(raw.get(n), (str, type(None))) for n in ("updated_at", "selection")):
        return None
    if not is_fingerprint(raw["fingerprint"]):
        return None
    key = StateKey(raw["host"], raw["app"], raw["scope"], raw["name"])
    return key, Record(raw["fingerprint"], raw.get("updated_at"), raw["written_at"],
                       raw.get("selection"))


def _to_document(records: dict[StateKey, Record], key_check: str) -> bytes:
    rows = [
        {"host": k.host, "app": k.app, "scope": k.scope, "name": k.name,
         "fingerprint": r.fingerprint, "updated_at": r.updated_at, "written_at": r.written_at,
         **({"selection": r.selection} if r.selection is not None else {})}
        for k, r in sorted(records.items())
    ]
    head = json.dumps({"version": FORMAT_VERSION, "key_check": key_check})[:-1]
    lines = ",\n".join(json.dumps(row, separators=(",", ":")) for row in rows)
    return f'{head}, "records": [\n{lines}\n]}}\n'.encode()  # one record per line: diffable


def _write_atomically(path: Path, data: bytes) -> _Signature:
    """Replace `path` with `data` (mode 0600) so a crash leaves either the old or the new file."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with open(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        crash_point("state-temp-written")
        os.replace(temp, path)
        crash_point("state-replaced")
        fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise StateError(f"could not save the state file {path}: {exc.strerror or exc}; "
                         "the previous state file is unchanged") from exc
    signature = _signature_of(path)
    assert signature is not None
    return signature


def _remove_stale_temps(path: Path) -> None:
    """Temp files left by a save or key creation that crashed (only called under the lock)."""
    for name in (path.name, _key_path(path).name):
        for temp in path.parent.glob(f".{glob.escape(name)}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


# -- the lock ----------------------------------------------------------------------------------

def acquire_lock(lock_path: Path, command: str = "", what: str = "") -> int:
    """An fd holding flock(LOCK_EX) on lock_path, with our pid (and `command`, the run's
    command line, if given) written in; LockHeld if taken (`what` says what the holder does).

    The kernel drops a flock when its holder dies, so there are no stale locks to break; the
    pid in the file is only there to name the holder in LockHeld's message.
    """
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder, holder_command = _read_holder(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise LockHeld(lock_path, holder, holder_command, what) from None
            raise StateError(f"cannot lock {lock_path}: {exc.strerror}") from exc
        if _same_file(fd, lock_path):
            break
        os.close(fd)  # the lock file was deleted or replaced after we opened it: lock the new one
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n{command + chr(10) if command else ''}".encode(), 0)
    return fd


def writers_dir() -> Path:
    """Where the writer locks live: beside the default state file, whatever --state says, so
    that every state file on the machine shares them."""
    return default_state_path().parent / "writers"


def writer_lock_path(host: str, org: str, name: str) -> Path:
    """One lock file per (host, org, secret name); GitHub's org and secret names are
    case-insensitive, so their case does not make two locks."""
    parts = (host.lower(), org.lower(), name.upper())
    return writers_dir() / ("+".join(quote(part, safe="") for part in parts) + ".lock")


@contextlib.contextmanager
def writing(targets: Iterable[tuple[str, str, str]], command: str) -> Iterator[None]:
    """Hold the writer lock of each (host, org, secret name) for the block, or raise LockHeld
    at once naming the run (pid, command line) that writes one of them. The lock files hold
    our pid and `command`, never a value or a token."""
    wanted = sorted({(h.lower(), o.lower(), n.upper()) for h, o, n in targets})
    if not wanted:
        yield
        return
    make_private_dir(writers_dir())
    held: list[int] = []
    try:
        for host, org, name in wanted:
            held.append(acquire_lock(writer_lock_path(host, org, name), command,
                                     what=f"writing {name} in {org} on {host}"))
        yield
    finally:
        for fd in reversed(held):
            release_lock(fd)


def release_lock(fd: int) -> None:
    """Give up a lock from acquire_lock."""
    try:
        os.ftruncate(fd, 0)  # before unlocking, so nobody sees our pid in a lock we gave up
    finally:
        os.close(fd)  # closing the only fd releases the flock


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _read_holder(fd: int) -> tuple[int | None, str]:
    """The holder's pid and command line, as far as the lock file tells."""
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
    except OSError:
        return None, ""
    pid, _, command = text.partition("\n")
    return (int(pid) if pid.strip().isdigit() else None), command.strip()
