"""What a terminal stream can show: its width, its characters, whether colours are wanted."""

from __future__ import annotations

import os
from typing import TextIO


def columns(stream: TextIO) -> int:
    """The width of the terminal `stream` is on ($COLUMNS first, as shutil does); 80 if unknown."""
    try:
        found = int(os.environ.get("COLUMNS", "0")) or os.get_terminal_size(stream.fileno())[0]
    except (ValueError, OSError, AttributeError):
        found = 0
    return found if found > 0 else 80


def can_encode(stream: TextIO, text: str) -> bool:
    """Whether `stream` can write `text` as it is (a Latin-1 terminal cannot write "█")."""
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def colours_wanted() -> bool:
    return "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
