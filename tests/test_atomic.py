"""The one atomic-file helper (syncer/store/atomic.py): files replaced whole or not at all, with
the mode each caller asks for, and no temp file left behind."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from syncer.store import saved_plan
from syncer.store.atomic import create_exclusively, write_atomically, write_json_atomically


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_private_file_is_0600_and_replaces_the_old_one(tmp_path: Path, umask_022: None) -> None:
    """A private file is made 0600 whatever the umask, and its contents replace the old ones;
    only the file itself is left in the folder."""
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    write_atomically(target, lambda out: out.write(b"new"))
    assert target.read_bytes() == b"new"
    assert mode_of(target) == 0o600
    assert os.listdir(tmp_path) == ["state.json"]


def test_a_file_the_user_asked_for_gets_the_umasks_mode(tmp_path: Path, umask_022: None) -> None:
    """A saved plan is made as open() would make it (0644 under umask 022), as it always was."""
    target = tmp_path / "plan.json"
    saved_plan.save(str(target), "{}")
    assert target.read_text() == "{}\n"
    assert mode_of(target) == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    """When writing the new contents fails, the old file stays as it was and the temp file is
    removed."""
    target = tmp_path / "cache.json"
    target.write_bytes(b"old")

    def fail(out: BinaryIO) -> None:
        out.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, fail, durable=False)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["cache.json"]


def test_json_is_written_as_json_dump_writes_it(tmp_path: Path) -> None:
    """A JSON document is written as json.dump would (ASCII, default separators)."""
    target = tmp_path / "keys.json"
    write_json_atomically(target, {"host": [{"key": "é"}]}, durable=False)
    assert target.read_text() == '{"host": [{"key": "\\u00e9"}]}'


def test_an_exclusive_create_never_overwrites(tmp_path: Path) -> None:
    """create_exclusively makes a new 0600 file, and leaves an existing one untouched (False)."""
    target = tmp_path / "state.json.key"
    assert create_exclusively(target, b"first") is True
    assert mode_of(target) == 0o600
    assert create_exclusively(target, b"second") is False
    assert target.read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["state.json.key"]
