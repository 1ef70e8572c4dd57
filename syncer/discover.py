"""Which repositories a run is about: an org's repositories narrowed by name patterns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from .github.api import Repo


def matches(name: str, patterns: Sequence[str]) -> bool:
    """Shell-style patterns (`api-*`, `svc-?`), compared case-insensitively as GitHub does names."""
    lowered = name.lower()
    return not patterns or any(fnmatchcase(lowered, p.lower()) for p in patterns)


def select_repos(repos: Iterable[Repo], patterns: Sequence[str] = (), *,
                 include_archived: bool = False, include_forks: bool = True) -> list[Repo]:
    """The repositories a run should write to, in a stable order.

    Archived repositories are skipped unless asked for: GitHub makes them read-only.
    """
    return sorted(
        (r for r in repos
         if matches(r.name, patterns)
         and (include_archived or not r.archived)
         and (include_forks or not r.fork)),
        key=lambda r: r.name.lower(),
    )
