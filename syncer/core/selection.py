"""Which repositories and names a run touches: shell-style patterns, archived and forked
repositories, and who can read an org secret. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from .model import OrgSelection, Repo


def matches(name: str, patterns: Sequence[str]) -> bool:
    """Shell-style patterns (`api-*`, `svc-?`), compared case-insensitively as GitHub does names."""
    lowered = name.lower()
    return not patterns or any(fnmatchcase(lowered, p.lower()) for p in patterns)

def unmatched_patterns(names: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """The patterns that match none of `names`: most likely typos, which must not narrow a run
    without a word. Pure."""
    lowered = [n.lower() for n in names]
    return [p for p in patterns if not any(fnmatchcase(n, p.lower()) for n in lowered)]

def no_match(org: str, patterns: Sequence[str]) -> str:
    owner = (" (--repos takes repository names without the owner: repo, not org/repo)"
             if any("/" in p for p in patterns) else "")
    return (f"no repository of {org} matches " + " ".join(f"--repos {p!r}" for p in patterns)
            + owner)

def select_repos(repos: Iterable[Repo], patterns: Sequence[str] = (), *,
                 include_archived: bool = False, include_forks: bool = True) -> list[Repo]:
    """The repositories a run should write to, in a stable order.

    Archived repositories are skipped unless asked for: GitHub makes them read-only.
    """
    return sorted((r for r in repos if wanted(r, patterns, include_archived=include_archived,
                                              include_forks=include_forks)),
                  key=lambda r: r.name.lower())

def wanted(repo: Repo, patterns: Sequence[str] = (), *, include_archived: bool = False,
           include_forks: bool = True) -> bool:
    """Whether a run writes to `repo` (`select_repos` for one repository at a time)."""
    return (matches(repo.name, patterns) and (include_archived or not repo.archived)
            and (include_forks or not repo.fork))

def sees_org_secret(org: OrgSelection, repo: Repo | None) -> bool:
    """Whether workflows of `repo` can read an org secret of this visibility and selection
    (`private` reaches private and internal repositories). Pure."""
    if org.visibility == "all":
        return True
    if repo is None:
        return False
    if org.visibility == "private":
        return repo.private
    return repo.id in org.repository_ids
