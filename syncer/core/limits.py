"""How many targets are in progress at once: GitHub's ceiling and syncer's default, in one
place for the config, the command line, the engine and the HTTP layer (which all sit above the
pure core)."""

from __future__ import annotations

__all__ = ["DEFAULT_CONCURRENCY", "MAX_CONCURRENCY"]

MAX_CONCURRENCY = 100  # GitHub's secondary limit on requests in flight
DEFAULT_CONCURRENCY = 16
