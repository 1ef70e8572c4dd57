"""Exit codes (documented in the README), and syncer's own errors that carry one. The errors
of the layers below are mapped onto codes in syncer.failures; a command's outcomes in its
report()."""

from __future__ import annotations

import enum


class Exit(enum.IntEnum):
    OK = 0  # everything in sync / every write done
    FAILED = 1  # some targets failed or were not written; the rest are done
    USAGE = 2  # bad arguments, config or input; nothing was written
    AUTH = 3  # no token, or the token was rejected
    LOCKED = 4  # another run holds the lock
    CHANGES = 5  # --detailed-exitcode: plan has writes to make / apply rewrote drifted secrets
    INTERRUPTED = 130  # SIGINT
    TERMINATED = 143  # SIGTERM


class UsageError(Exception):
    """Bad input, found before anything was written."""

    exit_code = Exit.USAGE


class AuthError(Exception):
    """No usable credentials."""

    exit_code = Exit.AUTH
