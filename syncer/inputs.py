"""Reading an input file whole (a config, a values file, sealed values), never past a cap.

A device or a pipe has no size to check beforehand (`-c /dev/zero`, `--values /dev/urandom`,
`-c <(cmd)`), so the cap is applied to the read itself: at most one byte more than allowed is
read, and a file that has it is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["MAX_INPUT_BYTES", "MAX_NESTING", "InputTooLarge", "NestedTooDeeply", "load_json",
           "read_capped"]

MAX_INPUT_BYTES = 10 * 1024 * 1024  # 10 MB: far beyond any config or values file met so far
MAX_NESTING = 32  # arrays and tables inside one another; a config needs 3


class InputTooLarge(ValueError):
    """The file holds more than the cap; its message says so in one line."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit // (1024 * 1024)} MB, the most syncer reads from "
                         "an input file (is it the right file, and not a device?)")


class NestedTooDeeply(ValueError):
    """Arrays or objects inside one another deeper than a parser's recursion can follow."""

    def __init__(self) -> None:
        super().__init__("arrays or objects are nested too deeply to read")


def read_capped(path: str | Path, limit: int = MAX_INPUT_BYTES, *,
                on_open: Callable[[int], None] | None = None) -> bytes:
    """The bytes of `path`, read to its end but never beyond `limit` + 1 bytes.

    `on_open` is called with the open file's descriptor before reading (to check its mode).
    Raises OSError when it cannot be opened or read, InputTooLarge past `limit`.
    """
    with open(path, "rb") as handle:
        if on_open is not None:
            on_open(handle.fileno())
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # a pipe or a device gives less than asked for at a time
            chunk = handle.read(limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    if size > limit:
        raise InputTooLarge(limit)
    return b"".join(chunks)


def load_json(path: str | Path, limit: int = MAX_INPUT_BYTES) -> Any:
    """The JSON document in `path`, read as `read_capped` reads.

    What cannot be used raises a ValueError: json.JSONDecodeError, UnicodeDecodeError,
    InputTooLarge or NestedTooDeeply (`[[[[…]]]]` thousands deep, a RecursionError inside the
    json module otherwise); OSError when it cannot be read.
    """
    text = read_capped(path, limit).decode("utf-8")
    try:
        return json.loads(text)
    except RecursionError:
        raise NestedTooDeeply() from None
