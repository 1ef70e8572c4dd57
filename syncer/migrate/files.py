"""The files migrate writes (a plan, its values template, an export workflow): never over a
file that is not one of its own, and a template that will hold values readable by its owner
only."""

from __future__ import annotations

import os
from pathlib import Path

from ..exits import UsageError


def refuse_to_replace(path: str, ours: bytes, what: str) -> None:
    """An existing file is replaced only if it is empty or an earlier run's `what`: the path
    given may be a values file one tab-completion away."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(len(ours))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if start and start != ours:
        raise UsageError(f"{path} exists and is not a {what} syncer wrote; refusing to "
                         "overwrite it (move it aside, or give another path)")


def write_file(path: str, text: str, *, private: bool = False) -> None:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        with open(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None

