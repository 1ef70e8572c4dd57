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
import hashlib
import hmac
import os
import secrets
import signal
import stat
import struct
from collections.abc import Iterator
from pathlib import Path

from ..core.model import SecretValue
from .atomic import create_exclusively, remove_stale_temps, write_atomically
from .locks import acquire_lock, release_lock
from .paths import lock_path, make_private_dir
from .state_format import (
    FINGERPRINT_PREFIX,
    Record,
    StateError,
    StateKey,
    corrupt,
    is_fingerprint,
    parse_document,
    to_document,
)

KEY_BYTES = 32
_FP_DOMAIN = b"syncer fingerprint v1\0"
_KEY_CHECK_DOMAIN = b"syncer state key check v1\0"

_Signature = tuple[int, int, int]  # (inode, size, mtime_ns) of the state file as last read


#: Test-only: the crash point at which `crash_point` kills this process (see tests/).
CRASH_AT_VARIABLE = "SYNCER_TEST_KILL_AT"


def crash_point(name: str) -> None:
    """A step of saving the state or the journal where a test may SIGKILL syncer (naming it in
    $SYNCER_TEST_KILL_AT), to show that a kill at that instant loses no record."""
    if os.environ.get(CRASH_AT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)


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
        document = to_document(self._records, _key_check(self._key))
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
    try:
        # never overwrites someone's key
        return key if create_exclusively(key_path, key) else None
    except OSError as exc:
        raise StateError(f"cannot create the state key {key_path}: {exc.strerror}") from exc


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
                raise corrupt(path, "not a regular file")
            data = handle.read()
    except FileNotFoundError:
        return None, {}, None
    except OSError as exc:
        raise StateError(f"cannot read the state file {path}: {exc.strerror}") from exc
    check, records = parse_document(path, data)
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


def _write_atomically(path: Path, data: bytes) -> _Signature:
    """Replace `path` with `data` (mode 0600) so a crash leaves either the old or the new file."""
    try:
        write_atomically(path, lambda handle: handle.write(data),
                         step=lambda step: crash_point(f"state-{step}"))
    except OSError as exc:
        raise StateError(f"could not save the state file {path}: {exc.strerror or exc}; "
                         "the previous state file is unchanged") from exc
    signature = _signature_of(path)
    assert signature is not None
    return signature


def _remove_stale_temps(path: Path) -> None:
    """Temp files left by a save or key creation that crashed (only called under the lock)."""
    for written in (path, _key_path(path)):
        remove_stale_temps(written)
