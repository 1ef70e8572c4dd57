"""Locks between syncer processes: the run lock beside a state or journal file, and the writer
locks, one per (host, org, secret name). Each is an flock() the kernel drops when its holder
dies, so there are no stale locks to break; the lock file names the holder (pid, command line)
for the message of LockHeld, never a value or a token."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from .paths import make_private_dir, writer_lock_path, writers_dir
from .state_format import StateError

__all__ = ["LockHeld", "acquire_lock", "release_lock", "writing"]


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
