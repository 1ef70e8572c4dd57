"""Where syncer's files live: the default state file, the lock beside a file, the writer locks'
folder, and private (0700) directories for them."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from .state_format import StateError

__all__ = ["default_state_path", "lock_path", "make_private_dir", "writer_lock_path",
           "writers_dir"]


def default_state_path() -> Path:
    """$XDG_STATE_HOME/syncer/state.json, else ~/.local/state/syncer/state.json.

    A relative $XDG_STATE_HOME is ignored, as the XDG base-directory spec requires.
    """
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "syncer" / "state.json"



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


def writers_dir() -> Path:
    """Where the writer locks live: beside the default state file, whatever --state says, so
    that every state file on the machine shares them."""
    return default_state_path().parent / "writers"


def writer_lock_path(host: str, org: str, name: str) -> Path:
    """One lock file per (host, org, secret name); GitHub's org and secret names are
    case-insensitive, so their case does not make two locks."""
    parts = (host.lower(), org.lower(), name.upper())
    return writers_dir() / ("+".join(quote(part, safe="") for part in parts) + ".lock")

