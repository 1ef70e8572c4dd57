"""The data model of fakehub: organisations, repositories, environments, secrets (with
their keys) and configuration variables.

Pure Python state plus the rules that change it; no HTTP. Everything is indexed (orgs and
repositories by lower-cased name, repositories by id, secrets by upper-cased name) so that
no request costs a scan over all repositories.

Timestamps are whole seconds, GitHub's precision (``2026-01-02T03:04:05Z``): two writes of
one secret within the same second carry the same ``updated_at``, as on GitHub, so a client
cannot tell them apart by time.
"""

from __future__ import annotations

import base64
import json
import random
import secrets as _secrets
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import count
from typing import Any, ClassVar, Final, Generic, Protocol, TypeVar

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

from . import rules
from .apps import DEFAULT_TOKEN_TTL, Apps
from .rules import ApiError, RepoQuery, SecretPut, VariableWrite

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- keys


class _KeyIds:
    """Numeric key ids like GitHub's (18 digits), unique within the process."""

    _lock = threading.Lock()
    _counter = count(_secrets.randbelow(10**16) + 10**17, 7919)

    @classmethod
    def next(cls) -> str:
        with cls._lock:
            return str(next(cls._counter))


@dataclass(slots=True)
class KeyPair:
    """One scope's X25519 key pair; the public-key answer is serialized once."""

    key_id: str
    private: PrivateKey
    box: SealedBox[PrivateKey]
    public_b64: str

    @classmethod
    def generate(cls) -> KeyPair:
        private = PrivateKey.generate()
        public_b64 = base64.b64encode(bytes(private.public_key)).decode("ascii")
        return cls(_KeyIds.next(), private, SealedBox(private), public_b64)

    def as_json(self) -> dict[str, str]:
        return {"key_id": self.key_id, "key": self.public_b64}

    def open(self, ciphertext: bytes) -> bytes | None:
        """The plaintext of a sealed box made with this key, or None."""
        try:
            return self.box.decrypt(ciphertext)
        except (CryptoError, ValueError, TypeError):
            return None


# --------------------------------------------------------------------------- secrets & variables


@dataclass(slots=True)
class Secret:
    name: str
    value: bytes
    created_at: datetime
    updated_at: datetime
    key_id: str | None
    visibility: str | None = None  # org level only
    selected: set[int] | None = None  # org level only, when visibility == "selected"
    kind: ClassVar[str] = "Secret"


@dataclass(slots=True)
class Variable:
    """A configuration variable: its value is stored and answered as given (not secret)."""

    name: str
    value: str
    created_at: datetime
    updated_at: datetime
    visibility: str | None = None  # org level only
    selected: set[int] | None = None  # org level only, when visibility == "selected"
    kind: ClassVar[str] = "Variable"


class Shared(Protocol):
    """What an organisation secret and an organisation variable have in common: who may
    read it (``World``'s selected-repository rules work on either)."""

    kind: ClassVar[str]
    name: str
    visibility: str | None
    selected: set[int] | None


E = TypeVar("E", Secret, Variable)


class Store(Generic[E]):
    """The secrets or variables of one level (``kind``: org, repo or env) of one app, by
    upper-cased name, with GitHub's count limit for that level."""

    __slots__ = ("_items", "_sorted", "app", "kind", "limit")

    def __init__(self, kind: str, app: str, limit: int) -> None:
        self.kind = kind  # "org" | "repo" | "env"
        self.app = app
        self.limit = limit
        self._items: dict[str, E] = {}
        self._sorted: list[E] | None = None

    def get(self, name: str) -> E | None:
        return self._items.get(rules.normalize_name(name))

    def require(self, name: str) -> E:
        found = self.get(name)
        if found is None:
            raise rules.not_found()
        return found

    def store(self, item: E) -> None:
        self._items[item.name] = item
        self._sorted = None  # an update replaces the object the cached listing holds

    def delete(self, name: str) -> bool:
        removed = self._items.pop(rules.normalize_name(name), None)
        if removed is not None:
            self._sorted = None
        return removed is not None

    def listing(self) -> list[E]:
        """Ordered by name (GitHub lists secrets and variables alphabetically)."""
        if self._sorted is None:
            self._sorted = sorted(self._items.values(), key=lambda s: s.name)
        return self._sorted

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[E]:
        return iter(list(self._items.values()))


class SecretScope(Store[Secret]):
    """The secrets of one (level, app) pair and its own key pair, created on first use."""

    __slots__ = ("_key",)

    def __init__(self, kind: str, app: str, limit: int) -> None:
        super().__init__(kind, app, limit)
        self._key: KeyPair | None = None

    @property
    def key(self) -> KeyPair:
        if self._key is None:
            self._key = KeyPair.generate()
        return self._key

    def rotate(self) -> KeyPair:
        self._key = KeyPair.generate()
        return self._key


class VariableScope(Store[Variable]):
    """The variables of one (level, app) pair."""

    __slots__ = ()


# --------------------------------------------------------------------------- orgs, repos, envs


@dataclass(slots=True)
class Environment:
    id: int
    name: str
    repo: Repo
    created_at: datetime
    scope: SecretScope
    variables: VariableScope


@dataclass(slots=True, eq=False)
class Repo:
    id: int
    name: str
    org: Org
    private: bool
    archived: bool
    fork: bool
    topics: tuple[str, ...]
    created_at: datetime
    serial: int  # creation order within the world; breaks ties between equal timestamps
    scopes: dict[str, SecretScope]
    variables: dict[str, VariableScope]  # by app: actions, agents
    envs: dict[str, Environment] = field(default_factory=dict)  # lower-cased name -> env

    @property
    def full_name(self) -> str:
        return f"{self.org.name}/{self.name}"

    def environment(self, name: str) -> Environment:
        env = self.envs.get(name.lower())
        if env is None:
            raise rules.not_found()
        return env


@dataclass(slots=True, eq=False)
class Org:
    id: int
    name: str
    scopes: dict[str, SecretScope]
    variables: dict[str, VariableScope]  # by app: actions, agents
    repos: dict[str, Repo] = field(default_factory=dict)  # lower-cased name -> repo
    version: int = 0  # bumped when the set of repositories changes
    _listing_cache: dict[tuple[int, RepoQuery], list[Repo]] = field(default_factory=dict)
    #: encoded listing pages: a repository never changes once created, so a page's bytes
    #: stay right while `version` is `page_cache_version`
    page_cache: dict[Hashable, tuple[list[Any], bytes, dict[str, str]]] = field(
        default_factory=dict)
    page_cache_version: int = -1

    def repo(self, name: str) -> Repo:
        found = self.repos.get(name.lower())
        if found is None:
            raise rules.not_found()
        return found

    def listing(self, query: RepoQuery) -> list[Repo]:
        """Repositories filtered by ``type`` and ordered by ``sort``/``direction``; cached."""
        key = (self.version, query)
        cached = self._listing_cache.get(key)
        if cached is not None:
            return cached
        chosen = [r for r in self.repos.values() if _type_matches(r, query.type)]
        if query.sort == "full_name":
            chosen.sort(key=lambda r: (r.full_name.lower(), r.serial))
        else:  # created / updated / pushed: fakehub repos are never pushed to or updated
            chosen.sort(key=lambda r: (r.created_at, r.serial))
        if query.direction == "desc":
            chosen.reverse()
        if len(self._listing_cache) > 64:
            self._listing_cache.clear()
        self._listing_cache[key] = chosen
        return chosen


def _type_matches(repo: Repo, rtype: str) -> bool:
    if rtype == "public":
        return not repo.private
    if rtype == "private":
        return repo.private
    if rtype == "forks":
        return repo.fork
    if rtype == "sources":
        return not repo.fork
    return True  # all, member


def _app_scopes(kind: str, limit: int) -> dict[str, SecretScope]:
    return {app: SecretScope(kind, app, limit) for app in rules.APPS}


def _variable_scopes(kind: str, limit: int) -> dict[str, VariableScope]:
    return {app: VariableScope(kind, app, limit) for app in rules.VARIABLE_APPS}


# --------------------------------------------------------------------------- the world


class World:
    """All state of one fakehub. Callers hold ``lock`` around every call (see FakeHub)."""

    def __init__(self, clock: Clock = utc_now, installation_token_ttl: float = DEFAULT_TOKEN_TTL
                 ) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.apps = Apps(clock, installation_token_ttl)
        self.orgs: dict[str, Org] = {}
        self.repos_by_id: dict[int, Repo] = {}
        self._org_ids = count(9_000_001)
        self._repo_ids = count(700_000_001)
        self._env_ids = count(160_000_001)
        self._serial = count(1)

    # ---- time

    def now(self) -> datetime:
        return rules.whole_second(self.clock())

    # ---- building

    def add_org(self, name: str) -> Org:
        key = name.lower()
        if key in self.orgs:
            return self.orgs[key]
        org = Org(
            next(self._org_ids),
            name,
            _app_scopes("org", rules.MAX_ORG_SECRETS),
            _variable_scopes("org", rules.MAX_ORG_VARIABLES),
        )
        self.orgs[key] = org
        return org

    def add_repo(
        self,
        org_name: str,
        name: str,
        *,
        archived: bool = False,
        fork: bool = False,
        private: bool = True,
        topics: Iterable[str] = (),
        environments: Iterable[str] = (),
    ) -> Repo:
        org = self.add_org(org_name) if org_name.lower() not in self.orgs else self.org(org_name)
        if name.lower() in org.repos:
            raise ValueError(f"repository {org.name}/{name} already exists")
        repo = Repo(
            id=next(self._repo_ids),
            name=name,
            org=org,
            private=private,
            archived=archived,
            fork=fork,
            topics=tuple(topics),
            created_at=self.now(),
            serial=next(self._serial),
            scopes=_app_scopes("repo", rules.MAX_REPO_SECRETS),
            variables=_variable_scopes("repo", rules.MAX_REPO_VARIABLES),
        )
        org.repos[name.lower()] = repo
        org.version += 1
        self.repos_by_id[repo.id] = repo
        for env in environments:
            self.add_environment(repo, env)
        return repo

    def add_environment(self, repo: Repo, name: str) -> Environment:
        existing = repo.envs.get(name.lower())
        if existing is not None:
            return existing
        env = Environment(
            next(self._env_ids),
            name,
            repo,
            self.now(),
            SecretScope("env", "actions", rules.MAX_ENV_SECRETS),
            VariableScope("env", "actions", rules.MAX_ENV_VARIABLES),
        )
        repo.envs[name.lower()] = env
        return env

    # ---- lookups (404 when absent)

    def org(self, name: str) -> Org:
        found = self.orgs.get(name.lower())
        if found is None:
            raise rules.not_found()
        return found

    def org_by_id(self, org_id: int) -> Org | None:
        return next((o for o in self.orgs.values() if o.id == org_id), None)

    def repo(self, owner: str, name: str) -> Repo:
        return self.org(owner).repo(name)

    def repo_by_id(self, repo_id: int | str) -> Repo:
        number = repo_id if isinstance(repo_id, int) else rules.ascii_int(repo_id)
        found = None if number is None else self.repos_by_id.get(number)
        if found is None:
            raise rules.not_found()
        return found

    # ---- secrets

    def put_secret(self, scope: SecretScope, name: str, put: SecretPut, org: Org | None) -> bool:
        """Apply a validated PUT. True when the secret was created, False when updated.

        Order of checks: name, key id, decryption, size, selected repositories, count limit.
        A ``key_id`` that is not the scope's current one (stale after rotation, or from
        another scope) is answered like an undecryptable value: GitHub's text for that case
        is not documented, and this is the reading that forces a client to re-fetch the key.
        An org-level PUT without a value (``put.ciphertext`` None) changes visibility and
        selection only; for a secret that does not exist yet it is answered 422 as a missing
        ``encrypted_value`` (undocumented: a secret without a value cannot be created).
        """
        canonical = rules.check_name(name)
        existing = scope.get(canonical)
        key = scope.key
        if put.ciphertext is None:
            if existing is None:
                raise rules.invalid_request('"encrypted_value" wasn\'t supplied.')
            plaintext, key_id = existing.value, existing.key_id
        else:
            if put.key_id != key.key_id:
                raise ApiError(422, rules.IMPROPERLY_ENCRYPTED)
            opened = key.open(put.ciphertext)
            if opened is None:
                raise ApiError(422, rules.IMPROPERLY_ENCRYPTED)
            problem = rules.value_problem(opened)
            if problem is not None:
                raise rules.validation_failed("Secret", "encrypted_value", problem)
            plaintext, key_id = opened, key.key_id
        selected: set[int] | None = None
        if put.visibility == "selected":
            assert org is not None
            selected = self._checked_selection(org, put.selected_repository_ids or ())
        if existing is None and len(scope) >= scope.limit:
            raise _over_limit("Secret", scope)
        updated = self.now()
        scope.store(
            Secret(
                name=canonical,
                value=plaintext,
                created_at=existing.created_at if existing else updated,
                updated_at=updated,
                key_id=key_id,
                visibility=put.visibility,
                selected=selected,
            )
        )
        return existing is None

    # ---- variables

    def create_variable(self, scope: VariableScope, write: VariableWrite, org: Org | None) -> None:
        """Apply a validated POST: 409 ``Already exists - Variable already exists`` when the
        name is taken (what GitHub answers; gh's ``variable set`` relies on that 409 to fall
        back to PATCH, the description documents only the 201).

        Order of checks: name, existence, value size, selected repositories, count limit.
        Past the count limit, GitHub's answer is not documented: fakehub answers a 422
        ``Validation Failed`` as for secrets.
        """
        assert write.name is not None and write.value is not None
        canonical = rules.check_name(write.name, "Variable")
        if scope.get(canonical) is not None:
            raise ApiError(409, "Already exists - Variable already exists")
        _check_variable_value(write.value)
        selected: set[int] | None = None
        if write.visibility == "selected":
            assert org is not None
            selected = self._checked_selection(org, write.selected_repository_ids or (), "Variable")
        if len(scope) >= scope.limit:
            raise _over_limit("Variable", scope)
        stamp = self.now()
        scope.store(
            Variable(canonical, write.value, stamp, stamp, write.visibility, selected)
        )

    def update_variable(
        self, scope: VariableScope, name: str, write: VariableWrite, org: Org | None
    ) -> None:
        """Apply a validated PATCH to an existing variable (404 when there is none).

        Undocumented, fakehub's choices: a ``name`` renames the variable (keeping
        ``created_at``), and a name another variable already has is the create's 409; at org
        level a ``visibility`` other than ``selected`` drops the selection, and
        ``selected_repository_ids`` need the (given or current) visibility ``selected``.
        """
        existing = scope.require(name)
        canonical = existing.name
        if write.name is not None:
            canonical = rules.check_name(write.name, "Variable")
            if canonical != existing.name and scope.get(canonical) is not None:
                raise ApiError(409, "Already exists - Variable already exists")
        value = existing.value if write.value is None else _check_variable_value(write.value)
        visibility, selected = existing.visibility, existing.selected
        if org is not None:
            visibility = write.visibility or existing.visibility
            if write.selected_repository_ids is not None:
                if visibility != "selected":
                    raise rules.ids_need_selected("Variable")
                selected = self._checked_selection(org, write.selected_repository_ids, "Variable")
            elif visibility != "selected":
                selected = None
            elif selected is None:
                selected = set()
        scope.delete(existing.name)
        scope.store(
            Variable(canonical, value, existing.created_at, self.now(), visibility, selected)
        )

    # ---- who may read an org secret or variable

    def _checked_selection(self, org: Org, ids: Iterable[int], kind: str = "Secret") -> set[int]:
        """Repository ids must belong to the organisation (stricter reading: else 422)."""
        chosen = set(ids)
        unknown = sorted(i for i in chosen if self._org_repo(org, i) is None)
        if unknown:
            raise rules.validation_failed(
                kind,
                "selected_repository_ids",
                "Unknown repository ids: " + ", ".join(str(i) for i in unknown),
                code="invalid",
            )
        return chosen

    def _org_repo(self, org: Org, repo_id: int) -> Repo | None:
        repo = self.repos_by_id.get(repo_id)
        return repo if repo is not None and repo.org is org else None

    def set_selection(self, org: Org, entry: Shared, ids: Iterable[int]) -> None:
        _require_selected(entry)
        entry.selected = self._checked_selection(org, ids, entry.kind)

    def add_to_selection(self, org: Org, entry: Shared, repo_id: int | str) -> None:
        _require_selected(entry)
        repo = self._org_repo(org, _as_int(repo_id))
        if repo is None:
            raise rules.validation_failed(
                entry.kind, "repository_id", f"Unknown repository id: {repo_id}", code="invalid"
            )
        assert entry.selected is not None
        entry.selected.add(repo.id)

    def remove_from_selection(self, entry: Shared, repo_id: int | str) -> None:
        """A repository that is not in the selection (unknown ones included) is answered 204
        as if removed: the description documents only 204 and 409 for this operation."""
        _require_selected(entry)
        assert entry.selected is not None
        entry.selected.discard(_as_int(repo_id))

    def selected_repos(self, entry: Shared) -> list[Repo]:
        _require_selected(entry)
        assert entry.selected is not None
        return [self.repos_by_id[i] for i in sorted(entry.selected) if i in self.repos_by_id]

    def org_secrets_visible_to(self, repo: Repo, app: str = "actions") -> list[Secret]:
        """Org secrets of ``app`` a repository can use.

        ``all``: every repository; ``private``: private (and internal) repositories;
        ``selected``: the repositories listed.
        """
        return [s for s in repo.org.scopes[app].listing() if visible_to(s, repo)]

    def org_variables_visible_to(self, repo: Repo, app: str) -> list[Variable]:
        """Org variables of ``app`` a repository can use (the same rules as secrets)."""
        return [v for v in repo.org.variables[app].listing() if visible_to(v, repo)]

    # ---- direct manipulation (the Python API; bypasses HTTP)

    def force_secret(
        self,
        scope: SecretScope,
        org: Org | None,
        name: str,
        value: bytes,
        *,
        visibility: str | None,
        selected: Iterable[int | str] | None,
        updated_at: datetime | None,
    ) -> Secret:
        canonical = _forced_name(name, "Secret")
        existing = scope.get(canonical)
        visibility, chosen = self._forced_reach(scope.kind, org, visibility, selected)
        stamp = rules.whole_second(updated_at) if updated_at is not None else self.now()
        created = existing.created_at if existing else stamp
        secret = Secret(
            canonical, bytes(value), min(created, stamp), stamp, scope.key.key_id, visibility, chosen
        )
        scope.store(secret)
        return secret

    def force_variable(
        self,
        scope: VariableScope,
        org: Org | None,
        name: str,
        value: str,
        *,
        visibility: str | None,
        selected: Iterable[int | str] | None,
        updated_at: datetime | None,
    ) -> Variable:
        """Store a variable as if changed by hand: the name rules hold (ValueError), GitHub's
        size and count limits do not (so a test can fill a scope to its limit)."""
        if not isinstance(value, str):
            raise TypeError("a variable's value is text (str)")
        canonical = _forced_name(name, "Variable")
        existing = scope.get(canonical)
        visibility, chosen = self._forced_reach(scope.kind, org, visibility, selected)
        stamp = rules.whole_second(updated_at) if updated_at is not None else self.now()
        created = existing.created_at if existing else stamp
        variable = Variable(canonical, value, min(created, stamp), stamp, visibility, chosen)
        scope.store(variable)
        return variable

    def _forced_reach(
        self,
        level: str,
        org: Org | None,
        visibility: str | None,
        selected: Iterable[int | str] | None,
    ) -> tuple[str | None, set[int] | None]:
        """Org level: ``visibility`` defaults to ``selected`` when ``selected`` (repository
        names or ids) is given, else ``all``; other levels take neither."""
        if level != "org":
            if visibility is not None or selected is not None:
                raise ValueError("visibility and selected apply to organisation level only")
            return None, None
        assert org is not None
        if visibility is None:
            visibility = "selected" if selected is not None else "all"
        if visibility not in rules.VISIBILITIES:
            raise ValueError(f"visibility must be one of {rules.VISIBILITIES}")
        if visibility != "selected":
            return visibility, None
        return visibility, {self._resolve_repo_ref(org, ref) for ref in (selected or ())}

    def _resolve_repo_ref(self, org: Org, ref: int | str) -> int:
        if isinstance(ref, int):
            if self._org_repo(org, ref) is None:
                raise ValueError(f"no repository with id {ref} in {org.name}")
            return ref
        return org.repo(ref.split("/")[-1]).id


_LEVEL_WORDS: Final = {"org": "An organization", "repo": "A repository", "env": "An environment"}


def _over_limit(kind: str, scope: Store[Any]) -> ApiError:
    """A create past the level's count limit: GitHub's answer is undocumented; fakehub's is a
    422 ``Validation Failed`` naming the limit."""
    return rules.validation_failed(
        kind, "name",
        f"{_LEVEL_WORDS[scope.kind]} can have at most {scope.limit} {kind.lower()}s.",
    )


def _forced_name(name: str, kind: str) -> str:
    problem = rules.name_problem(name, kind)
    if problem is not None:
        raise ValueError(f"invalid {kind.lower()} name {name!r}: {problem}")
    return rules.normalize_name(name)


def _check_variable_value(value: str) -> str:
    problem = rules.value_problem(value.encode("utf-8"), "Variable")
    if problem is not None:
        raise rules.validation_failed("Variable", "value", problem)
    return value


def visible_to(entry: Shared, repo: Repo) -> bool:
    if entry.visibility == "all":
        return True
    if entry.visibility == "private":
        return repo.private
    return entry.selected is not None and repo.id in entry.selected


def _require_selected(entry: Shared) -> None:
    if entry.visibility != "selected":
        noun = entry.kind.lower()
        raise ApiError(
            409,
            f"The visibility of this {noun} is not set to selected. Selected repositories can "
            "only be managed when visibility is 'selected'.",
        )


def _as_int(raw: int | str) -> int:
    """A path's integer id; anything but ASCII digits is a 404, as for an unknown route."""
    number = raw if isinstance(raw, int) else rules.ascii_int(raw)
    if number is None:
        raise rules.not_found()
    return number


def dumps(obj: object) -> bytes:
    """Compact JSON, the serialization used for every fakehub answer."""
    return json.dumps(obj, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- a generated world


@dataclass(frozen=True, slots=True)
class RepoSpec:
    """One repository to create: plain data, made by ``varied_repos``."""

    name: str
    private: bool = True
    archived: bool = False
    fork: bool = False
    topics: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Kind:
    prefix: str
    topics: tuple[str, ...]
    extra_topics: tuple[str, ...]  # one of these, or none, is added
    deployable: bool  # has the environments (unless archived or a fork)
    public_rate: float
    weight: int


_KINDS: Final = (
    _Kind("svc", ("backend",), ("go", "python", "java", "rust"), True, 0.05, 8),
    _Kind("web", ("frontend",), ("typescript", "react"), True, 0.4, 4),
    _Kind("infra", ("infrastructure",), ("terraform", "kubernetes"), True, 0.0, 2),
    _Kind("deps", ("dependencies",), (), False, 0.1, 2),
    _Kind("lib", ("library",), ("python", "typescript"), False, 0.5, 2),
    _Kind("tools", ("tooling",), (), False, 0.2, 2),
)
_WORDS: Final = (
    "accounts", "alerts", "analytics", "assets", "audit", "billing", "cart", "catalog",
    "checkout", "config", "dashboard", "events", "export", "feeds", "gateway", "identity",
    "images", "import", "inventory", "ledger", "mail", "maps", "media", "metrics", "notify",
    "orders", "pricing", "profile", "quotes", "ratings", "reports", "scheduler", "shipping",
    "signup", "stock", "tax", "tickets", "uploads", "users", "wallet",
)
_ARCHIVED_RATE: Final = 0.1
_FORK_RATE: Final = 0.07
_ENVS: Final = ("production", "staging")  # a stand-in for the caller's environments


def _head() -> tuple[RepoSpec, ...]:
    """The first repositories of every generated org, fixed so that even a few repositories
    show each kind the README's config.example.toml selects by (names, topics, archived,
    forks); ``_ENVS`` is replaced by the caller's environments."""
    return (
        RepoSpec("api", topics=("backend", "python"), environments=_ENVS),
        RepoSpec("svc-billing", topics=("backend", "go"), environments=_ENVS),
        RepoSpec("web-storefront", private=False, topics=("frontend", "typescript"),
                 environments=_ENVS),
        RepoSpec("deps-npm", topics=("dependencies",)),
        RepoSpec("libs", private=False, topics=("library",)),
        RepoSpec("svc-reports", archived=True, topics=("backend", "java")),
        RepoSpec("svc-cache", private=False, fork=True, topics=("backend",)),
        RepoSpec("svc-legacy-auth", topics=("backend",), environments=_ENVS),
        RepoSpec("web-admin", topics=("frontend", "react"), environments=_ENVS),
        RepoSpec("svc-search", topics=("python",), environments=_ENVS),
        RepoSpec("deps-python", topics=("dependencies",)),
        RepoSpec("docs", private=False, topics=("docs",)),
    )


def varied_repos(org: str, count: int, seed: int = 0,
                 environments: Iterable[str] = _ENVS) -> list[RepoSpec]:
    """``count`` repositories as an organisation might have them: services (``svc-*``,
    topic ``backend``), web apps (``web-*``, ``frontend``), ``api``, dependency mirrors
    (``deps-*``), libraries, tools, infrastructure; some public, some archived, some forks;
    ``environments`` on the deployable ones (services, web apps, api, infrastructure) that
    are neither archived nor forks. The same (org, count, seed) gives the same repositories;
    the first dozen are the same in every org, the rest drawn from ``seed`` and the org."""
    envs = tuple(environments)
    head = [replace(spec, environments=envs if spec.environments else ())
            for spec in _head()[:max(count, 0)]]
    rng = random.Random(f"fakehub-world/{seed}/{org.lower()}")
    taken = {spec.name for spec in head}
    weights = [kind.weight for kind in _KINDS]
    tail: list[RepoSpec] = []
    for _ in range(count - len(head)):
        kind = rng.choices(_KINDS, weights)[0]
        name = base = f"{kind.prefix}-{rng.choice(_WORDS)}"
        for _retry in range(3):  # a number only once names grow scarce
            if name not in taken:
                break
            name = base = f"{kind.prefix}-{rng.choice(_WORDS)}"
        suffix = 2
        while name in taken:
            name, suffix = f"{base}-{suffix}", suffix + 1
        taken.add(name)
        archived = rng.random() < _ARCHIVED_RATE
        fork = not archived and rng.random() < _FORK_RATE
        extra = rng.choice(kind.extra_topics + (None,)) if kind.extra_topics else None
        tail.append(RepoSpec(
            name,
            private=not fork and rng.random() >= kind.public_rate,
            archived=archived,
            fork=fork,
            topics=kind.topics + ((extra,) if extra else ()),
            environments=envs if kind.deployable and not (archived or fork) else (),
        ))
    return head + tail
