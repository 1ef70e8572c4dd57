"""FakeHub: the Python face of fakehub (world building, inspection, counters, serving)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl as ssl_module
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from . import rules
from .api import build_app_routes, build_extra_routes, build_routes, build_variable_routes
from .app import Front, serve_front
from .apps import DEFAULT_TOKEN_TTL, UNDECODABLE, Principal
from .faults import FaultPlan, Faults
from .limits import Limits, RateLimiter
from .routes import Router
from .rules import ApiError, iso
from .world import (
    Clock,
    Environment,
    Org,
    Repo,
    Secret,
    SecretScope,
    Variable,
    VariableScope,
    World,
    utc_now,
    varied_repos,
)

_ROUTER = Router(
    build_routes() + build_variable_routes() + build_app_routes() + build_extra_routes()
)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One recorded request/answer pair (``FakeHub(record=True)``)."""

    method: str
    template: str
    path: str
    query: dict[str, str]
    request_json: Any
    status: int
    response_headers: dict[str, str]
    response_json: Any


class FakeHub:
    """A local imitation of GitHub's REST API for secrets and configuration variables.

    Every token in ``tokens`` may access every organisation. Scopes are given by keyword:
    ``org="acme"``, ``repo="acme/api"`` or ``repo="acme/api", env="production"``, with
    ``app`` one of ``actions`` (default), ``dependabot``, ``codespaces``, ``agents`` for
    secrets, and ``actions`` (default) or ``agents`` for variables; environments hold Actions
    secrets and variables only.

    Variables (served always, as github.com does): ``set_variable``, ``variable_value``,
    ``variable``, ``variables``, ``delete_variable``. Agents (Copilot cloud agent) secrets
    and variables, like Codespaces secrets, exist on github.com only: under the Enterprise
    Server prefix ``/api/v3`` their endpoints answer 404.

    GitHub Apps (see ``apps``): ``register_app(app_id, public_key_pem)`` and
    ``add_installation(org, app_id)``; the App then signs JWTs with its private key, finds
    its installation and exchanges JWTs for installation tokens, which act in their
    organisation only and expire after ``installation_token_ttl`` seconds (GitHub: one
    hour; compress it in tests), then get 401 ``Bad credentials``.

    Rate limits: ``limits`` defaults to ``Limits()``, GitHub's own (5,000 requests an hour,
    900 points a minute, 100 in flight, per token); ``Limits.off()`` is an Enterprise Server
    with rate limiting disabled (no limits, no ``x-ratelimit-*`` headers, ``GET /rate_limit``
    404). See ``limits`` for the options (429, no ``retry-after``, content creation).

    Tokens with less power, answered 403 ``Resource not accessible by personal access
    token`` where GitHub would (after a 404 for what does not exist):
    ``read_only_tokens`` may read everything and write nothing (POST and PATCH included);
    ``non_admin_tokens`` (no org admin) get that 403 on every ``/orgs/{org}/.../secrets`` and
    ``/orgs/{org}/.../variables`` endpoint, public keys and selected repositories included,
    while repository and environment endpoints work. Both are accepted tokens; they need not
    be in ``tokens`` too.

    ``id_links`` (default True, as GitHub always does): pagination ``Link`` headers name
    organisations and repositories by id (``/organizations/{org_id}/repos?page=2``,
    ``/repositories/{repo_id}/actions/secrets?page=2``); those paths are served whatever
    ``id_links`` says, with the same authentication and limits.

    ``updated_at`` is GitHub's: whole seconds, so writes within one second repeat it.
    """

    def __init__(
        self,
        tokens: Iterable[str] = ("tok",),
        limits: Limits | None = None,
        faults: Faults | None = None,
        admin_token: str | None = None,
        record: bool = False,
        *,
        legacy_env_routes_only: bool = False,
        clock: Clock = utc_now,
        installation_token_ttl: float = DEFAULT_TOKEN_TTL,
        read_only_tokens: Iterable[str] = (),
        non_admin_tokens: Iterable[str] = (),
        id_links: bool = True,
    ) -> None:
        if installation_token_ttl <= 0:
            raise ValueError("installation_token_ttl must be positive")
        self.world = World(clock, installation_token_ttl)
        self.router = _ROUTER
        self.admin_token = admin_token
        self.record = record
        self.legacy_env_routes_only = legacy_env_routes_only
        self.id_links = id_links
        self._read_only: set[str] = set(read_only_tokens)
        self._non_admin: set[str] = set(non_admin_tokens)
        self._tokens: set[str] = set(tokens) | self._read_only | self._non_admin
        #: Test hook, called as each request reaches routing with (method, template, how many
        #: such requests so far); it runs on the server's thread before the request is handled.
        self.on_request: Callable[[str, str, int], None] | None = None
        self._stats_lock = threading.Lock()
        self._calls: Counter[tuple[str, str]] = Counter()
        self._violations: Counter[str] = Counter()
        self._exchanges: list[Exchange] = []
        self._limits = limits or Limits()
        self._limiter = RateLimiter(self._limits)
        self._faults = faults or Faults()
        self._fault_plan = FaultPlan(self._faults)

    # ------------------------------------------------------------------ configuration

    @property
    def limits(self) -> Limits:
        return self._limits

    @limits.setter
    def limits(self, value: Limits) -> None:
        """Replacing the limits starts every token afresh (new windows, nothing in flight)."""
        self._limits = value
        self._limiter = RateLimiter(value)

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        """Replacing the faults restarts the random sequence from ``value.seed``."""
        self._faults = value
        self._fault_plan = FaultPlan(value)

    def add_token(self, token: str) -> None:
        self._tokens.add(token)

    def revoke_token(self, token: str) -> None:
        """From now on the token (installation tokens too) is answered 401, as GitHub does
        for a revoked token."""
        self._tokens.discard(token)
        with self.world.lock:
            self.world.apps.revoke(token)

    def _has_token(self, token: str) -> bool:
        return token in self._tokens

    def _authenticate(
        self, token: str | None, *, app_jwt: bool
    ) -> tuple[Principal | None, ApiError | None]:
        """Who ``token`` is, or the 401 to answer. App routes take only an App's JWT; the
        others a fixed token or an unexpired installation token."""
        if app_jwt:
            if token is None:
                return None, ApiError(401, UNDECODABLE)
            try:
                with self.world.lock:
                    app = self.world.apps.verify_jwt(token)
            except ApiError as exc:
                return None, exc
            return Principal("app", f"app:{app.id}", app_id=app.id), None
        if token is None:
            return None, rules.bad_credentials()
        if self._has_token(token):
            return Principal(
                "token",
                token,
                read_only=token in self._read_only,
                org_admin=token not in self._non_admin,
            ), None
        with self.world.lock:
            found = self.world.apps.token(token)
            if found is None:
                return None, rules.bad_credentials()
            installation = found.installation
            return Principal(
                "installation",
                f"installation:{installation.id}",
                app_id=installation.app.id,
                org=installation.org.name.lower(),
            ), None

    # ------------------------------------------------------------------ GitHub Apps

    @property
    def installation_token_ttl(self) -> float:
        return self.world.apps.token_ttl

    @installation_token_ttl.setter
    def installation_token_ttl(self, seconds: float) -> None:
        """Tokens issued from now on live ``seconds``; those already issued keep theirs."""
        if seconds <= 0:
            raise ValueError("installation_token_ttl must be positive")
        with self.world.lock:
            self.world.apps.token_ttl = seconds

    def register_app(
        self, app_id: int, public_key_pem: str | bytes, *, slug: str | None = None
    ) -> None:
        """A GitHub App whose JWTs verify against ``public_key_pem`` (an RSA public key)."""
        with self.world.lock:
            self.world.apps.register(app_id, public_key_pem, slug)

    def add_installation(self, org: str, app_id: int) -> int:
        """Install the App on ``org`` (created when new); returns the installation id."""
        with self.world.lock:
            found = self.world.orgs.get(org.lower()) or self.world.add_org(org)
            return self.world.apps.install(found, app_id).id

    def installation_tokens(self) -> list[str]:
        """Every installation token issued so far, oldest first, expired ones included."""
        with self.world.lock:
            return list(self.world.apps.issued)

    # ------------------------------------------------------------------ building the world

    def add_org(self, name: str) -> None:
        with self.world.lock:
            self.world.add_org(name)

    def add_repo(
        self,
        org: str,
        name: str,
        *,
        archived: bool = False,
        fork: bool = False,
        private: bool = True,
        topics: Iterable[str] = (),
        environments: Iterable[str] = ("production",),
    ) -> int:
        """Create a repository (and its organisation when new); returns its id."""
        with self.world.lock:
            return self.world.add_repo(
                org,
                name,
                archived=archived,
                fork=fork,
                private=private,
                topics=topics,
                environments=environments,
            ).id

    def add_repos(
        self,
        org: str,
        count: int,
        *,
        environments: Iterable[str] = ("production",),
        private: bool = True,
        start: int = 1,
    ) -> list[int]:
        """``count`` repositories named ``repo-0001`` ... (zero-padded to at least 4 digits)."""
        envs = tuple(environments)
        width = max(4, len(str(start + count - 1)))
        return [
            self.add_repo(org, f"repo-{i:0{width}d}", environments=envs, private=private)
            for i in range(start, start + count)
        ]

    def add_varied_repos(
        self,
        org: str,
        count: int,
        *,
        seed: int = 0,
        environments: Iterable[str] = ("production", "staging"),
    ) -> list[int]:
        """``count`` repositories as an organisation might have them (``svc-*``, ``web-*``,
        ``api``, ``deps-*``, ``libs``, ...; topics, archived, forks, public ones,
        ``environments`` on the deployable ones): see ``world.varied_repos``."""
        return [
            self.add_repo(org, spec.name, archived=spec.archived, fork=spec.fork,
                          private=spec.private, topics=spec.topics,
                          environments=spec.environments)
            for spec in varied_repos(org, count, seed, environments)
        ]

    def add_environment(self, org: str, repo: str, name: str) -> None:
        with self.world.lock:
            self.world.add_environment(self._lookup(lambda: self.world.repo(org, repo)), name)

    def org_id(self, name: str) -> int:
        """The organisation's id (the one in ``/organizations/{org_id}/...`` links)."""
        with self.world.lock:
            return self._lookup(lambda: self.world.org(name)).id

    def repo_id(self, full_name: str) -> int:
        owner, name = _split_full_name(full_name)
        with self.world.lock:
            return self._lookup(lambda: self.world.repo(owner, name)).id

    # ------------------------------------------------------------------ secrets

    def _holder(
        self, org: str | None, repo: str | None, env: str | None, app: str, what: str
    ) -> Org | Repo | Environment:
        """The organisation, repository or environment named by keyword (KeyError when it
        does not exist; ValueError for a combination that names nothing)."""
        if (org is None) == (repo is None):
            raise ValueError("give exactly one of org= or repo=")
        if org is not None:
            if env is not None:
                raise ValueError("env= needs repo=, not org=")
            return self._lookup(lambda: self.world.org(org))
        assert repo is not None
        owner, name = _split_full_name(repo)
        found_repo = self._lookup(lambda: self.world.repo(owner, name))
        if env is None:
            return found_repo
        if app != "actions":
            raise ValueError(f"environment {what} exist for actions only")
        return self._lookup(lambda: found_repo.environment(env))

    def _scope(
        self, org: str | None, repo: str | None, env: str | None, app: str
    ) -> tuple[SecretScope, Org | None]:
        if app not in rules.APPS:
            raise ValueError(f"app must be one of {rules.APPS}")
        holder = self._holder(org, repo, env, app, "secrets")
        if isinstance(holder, Environment):
            return holder.scope, holder.repo.org
        return holder.scopes[app], holder if isinstance(holder, Org) else holder.org

    @staticmethod
    def _lookup(get: Callable[[], _T]) -> _T:
        try:
            return get()
        except ApiError:
            raise KeyError("no such organisation, repository or environment") from None

    def set_secret(
        self,
        name: str,
        value: bytes,
        *,
        org: str | None = None,
        repo: str | None = None,
        env: str | None = None,
        app: str = "actions",
        visibility: str | None = None,
        selected: Iterable[int | str] | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        """Store a secret directly (as if someone changed it by hand); ``updated_at`` is the
        given one or now (to the second).

        Org secrets: ``visibility`` defaults to ``selected`` when ``selected`` (repository
        names or ids) is given, else ``all``.
        """
        with self.world.lock:
            scope, owner = self._scope(org, repo, env, app)
            self.world.force_secret(
                scope,
                owner if scope.kind == "org" else None,
                name,
                value,
                visibility=visibility,
                selected=selected,
                updated_at=updated_at,
            )

    def _secret(
        self, name: str, org: str | None, repo: str | None, env: str | None, app: str
    ) -> Secret | None:
        scope, _ = self._scope(org, repo, env, app)
        return scope.get(name)

    def plaintext(
        self,
        name: str,
        *,
        org: str | None = None,
        repo: str | None = None,
        env: str | None = None,
        app: str = "actions",
    ) -> bytes | None:
        """The decrypted value stored for the secret, or None when there is none."""
        with self.world.lock:
            found = self._secret(name, org, repo, env, app)
            return None if found is None else found.value

    def secret(
        self,
        name: str,
        *,
        org: str | None = None,
        repo: str | None = None,
        env: str | None = None,
        app: str = "actions",
    ) -> dict[str, Any] | None:
        """Metadata: name, created_at/updated_at (ISO strings as in the API), visibility and
        selected_repository_ids (org secrets; else None), key_id the value was stored under.
        """
        with self.world.lock:
            found = self._secret(name, org, repo, env, app)
            return None if found is None else _describe(found)

    def secret_names(
        self,
        *,
        org: str | None = None,
        repo: str | None = None,
        env: str | None = None,
        app: str = "actions",
    ) -> list[str]:
        with self.world.lock:
            scope, _ = self._scope(org, repo, env, app)
            return [s.name for s in scope.listing()]

    def delete_secret(
        self,
        name: str,
        *,
        org: str | None = None,
        repo: str | None = None,
        env: str | None = None,
        app: str = "actions",
    ) -> bool:
        """Remove a secret; True when there was one."""
        with self.world.lock:
            scope, _ = self._scope(org, repo, env, app)
            return scope.delete(name)

    def rotate_key(
        self,
        *,
        org: str | None = None,
        repo: str | None = None,
        env: str | None = None,
        app: str = "actions",
    ) -> str:
        """Give the scope a new key pair and key_id (returned); the old key_id now gets 422."""
        with self.world.lock:
            scope, _ = self._scope(org, repo, env, app)
            return scope.rotate().key_id

    def public_key(
        self,
        *,
        org: str | None = None,
        repo: str | None = None,
        env: str | None = None,
        app: str = "actions",
    ) -> tuple[str, str]:
        """The scope's current ``(key_id, base64 public key)``."""
        with self.world.lock:
            scope, _ = self._scope(org, repo, env, app)
            return scope.key.key_id, scope.key.public_b64

    # ------------------------------------------------------------------ variables

    def _variable_scope(
        self, org: str | None, repo: str | None, env: str | None, app: str
    ) -> tuple[VariableScope, Org | None]:
        if app not in rules.VARIABLE_APPS:
            raise ValueError(f"app must be one of {rules.VARIABLE_APPS} for variables")
        holder = self._holder(org, repo, env, app, "variables")
        if isinstance(holder, Environment):
            return holder.variables, holder.repo.org
        return holder.variables[app], holder if isinstance(holder, Org) else holder.org

    def set_variable(
        self,
        name: str,
        value: str,
        *,
        org: str | None = None,
        repo: str | None = None,
        env: str | None = None,
        app: str = "actions",
        visibility: str | None = None,
        selected: Iterable[int | str] | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        """Create or replace a variable directly (as if someone changed it by hand);
        ``updated_at`` is the given one or now (to the second). Names follow GitHub's rules
        (ValueError); the size and count limits are not applied here.

        Org variables: ``visibility`` defaults to ``selected`` when ``selected`` (repository
        names or ids) is given, else ``all``.
        """
        with self.world.lock:
            scope, owner = self._variable_scope(org, repo, env, app)
            self.world.force_variable(
                scope,
                owner if scope.kind == "org" else None,
                name,
                value,
                visibility=visibility,
                selected=selected,
                updated_at=updated_at,
            )

    def _variable(
        self, name: str, org: str | None, repo: str | None, env: str | None, app: str
    ) -> Variable | None:
        scope, _ = self._variable_scope(org, repo, env, app)
        return scope.get(name)

    def variable_value(
        self,
        name: str,
        *,
        org: str | None = None,
        repo: str | None = None,
        env: str | None = None,
        app: str = "actions",
    ) -> str | None:
        """The variable's value, or None when there is no such variable."""
        with self.world.lock:
            found = self._variable(name, org, repo, env, app)
            return None if found is None else found.value

    def variable(
        self,
        name: str,
        *,
        org: str | None = None,
        repo: str | None = None,
        env: str | None = None,
        app: str = "actions",
    ) -> dict[str, Any] | None:
        """name, value, created_at/updated_at (ISO strings as in the API), visibility and
        selected_repository_ids (org variables; else None); None when there is none."""
        with self.world.lock:
            found = self._variable(name, org, repo, env, app)
            return None if found is None else _describe_variable(found)

    def variables(
        self,
        *,
        org: str | None = None,
        repo: str | None = None,
        env: str | None = None,
        app: str = "actions",
    ) -> dict[str, str]:
        """Every variable of the scope, name -> value, in name order."""
        with self.world.lock:
            scope, _ = self._variable_scope(org, repo, env, app)
            return {v.name: v.value for v in scope.listing()}

    def delete_variable(
        self,
        name: str,
        *,
        org: str | None = None,
        repo: str | None = None,
        env: str | None = None,
        app: str = "actions",
    ) -> bool:
        """Remove a variable; True when there was one."""
        with self.world.lock:
            scope, _ = self._variable_scope(org, repo, env, app)
            return scope.delete(name)

    # ------------------------------------------------------------------ counters

    def _count_call(self, method: str, template: str) -> None:
        with self._stats_lock:
            self._calls[(method, template)] += 1
            count = self._calls[(method, template)]
        if self.on_request is not None:
            self.on_request(method, template, count)

    def _count_violation(self, kind: str) -> None:
        with self._stats_lock:
            self._violations[kind] += 1

    def _record(
        self,
        method: str,
        template: str,
        path: str,
        query: dict[str, str],
        request_json: Any,
        status: int,
        headers: dict[str, str],
        response_json: Any,
    ) -> None:
        exchange = Exchange(
            method, template, path, query, request_json, status, headers, response_json
        )
        with self._stats_lock:
            self._exchanges.append(exchange)

    @property
    def calls(self) -> Counter[tuple[str, str]]:
        """A snapshot: (METHOD, OpenAPI path template) -> requests that reached routing.

        Includes 304s, errors and faults; requests to unknown paths count under
        ``"<unmatched>"``; the admin endpoint is not counted.
        """
        with self._stats_lock:
            return Counter(self._calls)

    @property
    def violations(self) -> Counter[str]:
        """A snapshot: kind -> count of requests refused by a limit. Kinds: ``primary``,
        ``secondary_points``, ``secondary_concurrency``, ``secondary_content_creation``,
        and for GraphQL ``primary_graphql``, ``secondary_points_graphql``."""
        with self._stats_lock:
            return Counter(self._violations)

    @property
    def exchanges(self) -> list[Exchange]:
        with self._stats_lock:
            return list(self._exchanges)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests matching ``method`` and/or ``path`` (an OpenAPI template)."""
        with self._stats_lock:
            return sum(
                n
                for (m, t), n in self._calls.items()
                if (method is None or m == method.upper()) and (path is None or t == path)
            )

    def reset_counters(self) -> None:
        """Forget calls, violations and recorded exchanges."""
        with self._stats_lock:
            self._calls.clear()
            self._violations.clear()
            self._exchanges.clear()

    def state(self) -> dict[str, Any]:
        """Everything the admin endpoint reveals (plaintexts base64-encoded; variables with
        their values)."""
        with self._stats_lock:
            calls = {f"{m} {t}": n for (m, t), n in sorted(self._calls.items())}
            violations = dict(self._violations)
        with self.world.lock:
            secrets = list(_all_secrets(self.world))
            variables = list(_all_variables(self.world))
        return {"calls": calls, "violations": violations, "secrets": secrets,
                "variables": variables}

    # ------------------------------------------------------------------ serving

    @contextlib.asynccontextmanager
    async def serve(
        self, host: str = "127.0.0.1", port: int = 0, ssl: ssl_module.SSLContext | None = None
    ) -> AsyncIterator[str]:
        """Serve on ``host:port`` (0: any free port); yields ``http(s)://host:port``.

        GitHub.com paths are at ``/``, Enterprise Server paths under ``/api/v3/``.
        """
        async with serve_front(Front(self), host, port, ssl) as url:
            yield url

    @contextlib.contextmanager
    def serve_in_thread(
        self, host: str = "127.0.0.1", port: int = 0, ssl: ssl_module.SSLContext | None = None
    ) -> Iterator[str]:
        """Like ``serve`` with the server on its own event loop in a background thread."""
        server = _ThreadedServer(self, host, port, ssl)
        url = server.start()
        try:
            yield url
        finally:
            server.stop()


class _ThreadedServer:
    """Runs ``FakeHub.serve`` in a thread; readiness and start-up errors cross back."""

    def __init__(
        self, hub: FakeHub, host: str, port: int, ssl: ssl_module.SSLContext | None
    ) -> None:
        self._hub, self._host, self._port, self._ssl = hub, host, port, ssl
        self._ready = threading.Event()
        self._url: str | None = None
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fakehub", daemon=True)

    def start(self, timeout: float = 10.0) -> str:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("fakehub did not start in time")
        if self._error is not None:
            self._thread.join()
            raise self._error
        assert self._url is not None
        return self._url

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        self._thread.join()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self._hub.serve(self._host, self._port, self._ssl) as url:
            self._url = url
            self._ready.set()
            await self._stop.wait()


def _split_full_name(full_name: str) -> tuple[str, str]:
    owner, sep, name = full_name.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise ValueError(f"repository must be given as 'owner/name', not {full_name!r}")
    return owner, name


def _describe(secret: Secret) -> dict[str, Any]:
    return {
        "name": secret.name,
        "created_at": iso(secret.created_at),
        "updated_at": iso(secret.updated_at),
        "visibility": secret.visibility,
        "selected_repository_ids": None if secret.selected is None else sorted(secret.selected),
        "key_id": secret.key_id,
    }


def _all_secrets(world: World) -> Iterator[dict[str, Any]]:
    for org in world.orgs.values():
        for app, scope in org.scopes.items():
            for s in scope.listing():
                yield _state_row(app, org.name, None, None, s)
        for repo in org.repos.values():
            for app, scope in repo.scopes.items():
                for s in scope.listing():
                    yield _state_row(app, org.name, repo.name, None, s)
            for env in repo.envs.values():
                for s in env.scope.listing():
                    yield _state_row("actions", org.name, repo.name, env.name, s)


def _state_row(
    app: str, org: str, repo: str | None, env: str | None, secret: Secret
) -> dict[str, Any]:
    row = {"app": app, "org": org, "repo": repo, "env": env}
    described = _describe(secret)
    del described["key_id"]
    row.update(described)
    row["plaintext_b64"] = base64.b64encode(secret.value).decode("ascii")
    return row


def _describe_variable(variable: Variable) -> dict[str, Any]:
    return {
        "name": variable.name,
        "value": variable.value,
        "created_at": iso(variable.created_at),
        "updated_at": iso(variable.updated_at),
        "visibility": variable.visibility,
        "selected_repository_ids": None if variable.selected is None else sorted(
            variable.selected),
    }


def _all_variables(world: World) -> Iterator[dict[str, Any]]:
    for org in world.orgs.values():
        for app, scope in org.variables.items():
            for v in scope.listing():
                yield {"app": app, "org": org.name, "repo": None, "env": None,
                       **_describe_variable(v)}
        for repo in org.repos.values():
            for app, scope in repo.variables.items():
                for v in scope.listing():
                    yield {"app": app, "org": org.name, "repo": repo.name, "env": None,
                           **_describe_variable(v)}
            for env in repo.envs.values():
                for v in env.variables.listing():
                    yield {"app": "actions", "org": org.name, "repo": repo.name,
                           "env": env.name, **_describe_variable(v)}
