"""Plain data shared by every layer: where a secret lives, what to do to it, how it went."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal, NoReturn

ScopeKind = Literal["org", "repo", "env"]
App = Literal["actions", "dependabot", "codespaces"]
APPS: tuple[App, ...] = ("actions", "dependabot", "codespaces")
Visibility = Literal["all", "private", "selected"]


class SecretValue:
    """Secret bytes that refuse to show themselves: repr, str and format are masked.

    The only way out is `.reveal()`, called where the value is encrypted or fingerprinted.
    """

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return "SecretValue('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SecretValue cannot be pickled")


@dataclass(frozen=True, slots=True)
class Scope:
    """One place secrets live: an org, a repository, or an environment of a repository.

    `repo_id` is carried along for routes that need it (selected repositories, the older
    Enterprise Server environment routes) but is not part of the scope's identity.
    """

    kind: ScopeKind
    org: str
    repo: str | None = None
    env: str | None = None
    app: App = "actions"
    repo_id: int | None = field(default=None, compare=False, hash=False)

    @classmethod
    def of_org(cls, org: str, app: App = "actions") -> Scope:
        return cls("org", org, app=app)

    @classmethod
    def of_repo(cls, org: str, repo: str, app: App = "actions", repo_id: int | None = None) -> Scope:
        return cls("repo", org, repo, app=app, repo_id=repo_id)

    @classmethod
    def of_env(cls, org: str, repo: str, env: str, repo_id: int | None = None) -> Scope:
        return cls("env", org, repo, env, "actions", repo_id)

    @property
    def full_repo(self) -> str:
        return f"{self.org}/{self.repo}"

    def __str__(self) -> str:
        where = {"org": self.org, "repo": f"{self.org}/{self.repo}",
                 "env": f"{self.org}/{self.repo}:{self.env}"}[self.kind]
        return where if self.app == "actions" else f"{where} ({self.app})"


class Op(enum.Enum):
    PUT = "put"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class OrgSelection:
    """Visibility of an org secret, and its selected repository ids when `selected`."""

    visibility: Visibility
    repository_ids: tuple[int, ...] = ()

    def describe(self) -> str:
        """For people: "visibility selected (3 repositories)", "visibility all"."""
        if self.visibility == "selected":
            return f"visibility selected ({len(self.repository_ids)} repositories)"
        return f"visibility {self.visibility}"

    def as_text(self) -> str:
        """"all", "private", or "selected:ID,ID,..." (sorted): what the state file keeps."""
        if self.visibility != "selected":
            return self.visibility
        return "selected:" + ",".join(str(i) for i in sorted(self.repository_ids))


@dataclass(frozen=True, slots=True)
class Action:
    """One write: put `name` into `scope` (with `selection` for org secrets), or delete it."""

    op: Op
    scope: Scope
    name: str
    selection: OrgSelection | None = None
    reason: str = ""


class Result(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    FAILED = "failed"
    SKIPPED = "not_written"  # left by a stop (a signal, a spent budget); as the summary says


@dataclass(frozen=True, slots=True)
class Outcome:
    action: Action
    result: Result
    status: int | None = None
    attempts: int = 1
    duration_ms: float = 0.0
    error: str | None = None
    updated_at: str | None = None
    #: failed because the token lacks a permission for this kind of write (see `error`)
    denied: bool = False
