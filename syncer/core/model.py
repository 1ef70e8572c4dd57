"""Plain data shared by every layer: where a secret lives, what to do to it, how it went."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Literal, NoReturn

ScopeKind = Literal["org", "repo", "env"]
App = Literal["actions", "dependabot", "codespaces", "agents"]
APPS: tuple[App, ...] = ("actions", "dependabot", "codespaces", "agents")
#: the apps with variables as well as secrets (Actions; the Copilot cloud agent's)
VARIABLE_APPS: tuple[App, ...] = ("actions", "agents")
Target = Literal["secret", "variable"]
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
    #: secrets, or the variables beside them (a variable and a secret may share a name)
    target: Target = "secret"

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
        what = " ".join(part for part in (self.app if self.app != "actions" else "",
                                          "variables" if self.target == "variable" else "")
                        if part)
        return f"{where} ({what})" if what else where

    def variables(self) -> Scope:
        """The variables of the same place."""
        return replace(self, target="variable")

    @property
    def store(self) -> str:
        """Which store of the place, as the state and journal name it: the app for secrets
        ("actions", as always), "actions:variables" for variables."""
        return self.app if self.target == "secret" else f"{self.app}:variables"


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
    #: a variable is created (POST) or updated (PATCH): whether it exists, where a listing
    #: said so; None: asked before writing
    exists: bool | None = None


class Result(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    FAILED = "failed"
    SKIPPED = "not_written"  # left by a stop (a signal, a spent budget); as the summary says


class Stop(enum.Enum):
    """What stopped a run writing before every target was done (not a target's own failure)."""

    INTERRUPTED = "interrupted"  # a signal (or a pacer told to send nothing new)
    BUDGET_SPENT = "budget_spent"  # the rate limit is spent, and the run was told not to wait
    UNREACHABLE = "unreachable"  # every retry of a write went unanswered: GitHub is out of reach
    UNRECORDED = "unrecorded"  # the journal could not take an outcome (a disk full)
    LISTING_FAILED = "listing_failed"  # the listing of targets failed part-way


@dataclass(frozen=True, slots=True)
class StopReason:
    """Why a run stopped writing, with what the stop's text is made of when it is printed."""

    stop: Stop
    detail: str = ""  # the error met (UNREACHABLE, UNRECORDED, LISTING_FAILED)
    reset_at: float | None = None  # BUDGET_SPENT: when the budget comes back (epoch seconds)


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
    #: not written (SKIPPED): the stop that kept it back
    stopped_by: StopReason | None = None


@dataclass(frozen=True, slots=True)
class Repo:
    name: str
    id: int
    archived: bool = False
    fork: bool = False
    private: bool = True
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PublicKey:
    key_id: str
    key: str  # base64, as GitHub sends it
    etag: str | None = None
