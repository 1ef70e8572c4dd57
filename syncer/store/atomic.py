"""Replacing a file whole or not at all: the one way syncer writes its files.

A new file is written beside the target (same directory, so `os.replace` is an atomic rename),
then renamed over it; a crash at any instant leaves either the old file or the new one, and the
temp file is removed if anything fails before the rename. Temp files are named
`.{target name}.{random}.tmp`, so the owner of a directory can find the ones a killed process
left (`remove_stale_temps`, which state.py and journal.py call under their lock).

Each caller says what it needs:
- `private`: the new file is mode 0600 (state, journal, caches); otherwise it gets the mode
  `open()` would give it under the umask (files the user asked for: a saved plan).
- `durable`: the file is fsynced before the rename and its directory after, so what this
  returned survives a power cut; a cache that may be lost skips both.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["create_exclusively", "fsync_dir", "remove_stale_temps", "write_atomically",
           "write_json_atomically"]


def _no_step(_step: str) -> None:
    return None


def write_atomically(path: Path, write: Callable[[BinaryIO], object], *, private: bool = True,
                     durable: bool = True, step: Callable[[str], None] = _no_step) -> None:
    """Replace `path` by what `write` puts into a new file beside it.

    `step` is told "temp-written" (the new file complete, fsynced when durable) and "replaced"
    (renamed into place, its directory not yet fsynced): crash tests stop the process there.
    Raises what writing, renaming or fsyncing raised; `path` is then unchanged unless the
    rename was done.
    """
    with _temp_beside(path, private) as (handle, temp):
        write(handle)
        handle.flush()
        if durable:
            os.fsync(handle.fileno())
        handle.close()
        step("temp-written")
        os.replace(temp, path)
        step("replaced")
    if durable:
        fsync_dir(path.parent)


def write_json_atomically(path: Path, document: object, *, private: bool = True,
                          durable: bool = True) -> None:
    """`write_atomically` of `document` as JSON, streamed as json.dump streams it (a large
    document is never held as one string)."""
    write_atomically(path, lambda out: out.writelines(
        chunk.encode() for chunk in json.JSONEncoder().iterencode(document)),
        private=private, durable=durable)


def create_exclusively(path: Path, data: bytes) -> bool:
    """Create `path` holding `data` (mode 0600, durably), all of it or nothing, unless it exists:
    False then, and the existing file is left alone (never overwritten)."""
    with _temp_beside(path, private=True) as (handle, temp):
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        try:
            os.link(temp, path)  # unlike a rename, fails if `path` exists
        except FileExistsError:
            return False
    fsync_dir(path.parent)
    return True


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new name in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temps(path: Path) -> None:
    """Remove the temp files a killed writer of `path` left beside it. Only for the owner of
    `path`, under its lock: another process's temp file may be in use."""
    for temp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


@contextlib.contextmanager
def _temp_beside(path: Path, private: bool) -> Iterator[tuple[BinaryIO, Path]]:
    """A new, empty temp file in `path`'s directory, open for writing; removed on leaving (once
    renamed or linked into place, only the temp name goes)."""
    mode = 0o600 if private else 0o666  # 0o666: filtered by the umask, as open() does
    while True:
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
            break
        except FileExistsError:  # a name drawn twice: draw again
            continue
    try:
        with open(fd, "wb") as handle:
            yield handle, temp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
