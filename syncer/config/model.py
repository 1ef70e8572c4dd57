"""The config as plain data: frozen dataclasses, no I/O.

What `syncer.config.load` builds from a file and what the pure core (`core/desired.py`) reads.
Nothing here reads a file or a value source.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from ..core.limits import DEFAULT_CONCURRENCY
from ..core.model import Target

if TYPE_CHECKING:  # only a type here: the module that reads sources is never imported
    from ..sources import Source

__all__ = ["AppAuth", "Config", "GitHubConfig", "OrgTarget", "RepoSelector", "SecretSpec",
           "SyncConfig"]


@dataclass(frozen=True, slots=True)
class AppAuth:
    """GitHub App credentials: the app's id, where its private key is, and optionally which
    installation (otherwise looked up per org)."""

    app_id: int
    private_key: Source
    installation_id: int | None = None


@dataclass(frozen=True, slots=True)
class GitHubConfig:
    api_url: str | None = None  # None: $GITHUB_API_URL, else api.github.com (execution/connect.py)
    org: str | None = None
    token_env: str | None = None  # None: GITHUB_TOKEN, then GH_TOKEN (execution/credentials.py)
    ca_bundle: str | None = None
    allow_insecure_http: bool = False
    app: AppAuth | None = None


@dataclass(frozen=True, slots=True)
class SyncConfig:
    concurrency: int = DEFAULT_CONCURRENCY
    # None: GitHub's guidance, or no pacing where the server's limits are off (see execution/connect.py)
    points_per_minute: float | None = None
    writes_per_minute: float | None = None
    wait_for_reset: bool = True
    state: str | None = None  # None: the state module's default
    prune: bool = False
    prune_prefix: str | None = None  # upper-cased, as GitHub returns names
    create_environments: bool = False
    confine_files: bool = False  # file: sources must stay inside the config's folder


@dataclass(frozen=True, slots=True)
class OrgTarget:
    """The org-level secret: its visibility and, when `selected`, which repositories see it."""

    visibility: str
    selected_repos: tuple[str, ...] = ()

    def selects(self, name: str) -> bool:
        """Whether repository `name` is among `selected_repos` (names or globs, any case)."""
        return matches_any(name, self.selected_repos)


@dataclass(frozen=True, slots=True)
class RepoSelector:
    """Which repositories of the org get a repository (or environment) secret.

    A repository is selected when every condition given holds: its name matches one of `match`
    and none of `exclude` (globs, case-insensitive), `regex` finds a match in it (re.search,
    case as written), it has every one of `topics`, and it is archived or a fork only if those
    are included.
    """

    match: tuple[str, ...] = ("*",)
    regex: str | None = None
    topics: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_archived: bool = False
    include_forks: bool = False

    def selects(self, name: str, *, archived: bool, fork: bool, topics: Sequence[str]) -> bool:
        if archived and not self.include_archived:
            return False
        if fork and not self.include_forks:
            return False
        if not matches_any(name, self.match) or matches_any(name, self.exclude):
            return False
        if self.regex is not None and re.search(self.regex, name) is None:
            return False
        have = {t.lower() for t in topics}
        return all(t.lower() in have for t in self.topics)


@dataclass(frozen=True, slots=True)
class SecretSpec:
    """One `[[secret]]` (or `[[variable]]`, with `target` "variable"): a name, where its value
    comes from, and where it is written."""

    name: str  # upper-cased
    value: Source | str  # str: a variable's value as written in the config (never a secret's)
    app: str
    org: str
    org_target: OrgTarget | None
    repos: RepoSelector | None
    environments: tuple[str, ...]  # non-empty: environment secrets in the `repos` repositories
    line: int | None = None  # of the [[secret]] header
    target: Target = "secret"

    @property
    def writes_repo_secrets(self) -> bool:
        return self.repos is not None and not self.environments


@dataclass(frozen=True, slots=True)
class Config:
    path: str
    github: GitHubConfig
    sync: SyncConfig
    secrets: tuple[SecretSpec, ...]
    base_dir: str | None = None  # where relative paths start; None: left as written
    variables: tuple[SecretSpec, ...] = ()  # the [[variable]] tables

    @property
    def specs(self) -> tuple[SecretSpec, ...]:
        """Every [[secret]], then every [[variable]]."""
        return (*self.secrets, *self.variables)


def matches_any(name: str, patterns: Collection[str]) -> bool:
    """Whether `name` matches one of the globs `patterns`, in any case."""
    lowered = name.lower()
    return any(fnmatchcase(lowered, p.lower()) for p in patterns)
