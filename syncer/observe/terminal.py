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


def redraws_possible(stream: TextIO) -> bool:
    """Whether a line on `stream` can be redrawn in place (a terminal, and not a dumb one)."""
    return stream.isatty() and not _dumb()


STYLES = {"green": "32", "grey": "90", "red": "1;31", "yellow": "33", "bold yellow": "1;33",
          "cyan": "36"}


def paint(text: str, style: str) -> str:
    """`text` in one of STYLES, as ANSI escape codes."""
    return f"\x1b[{STYLES[style]}m{text}\x1b[0m"


def colours_wanted() -> bool:
    return "NO_COLOR" not in os.environ and not _dumb()


def _dumb() -> bool:
    return os.environ.get("TERM") == "dumb"
