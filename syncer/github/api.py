"""GitHub's secrets endpoints as plain-data calls: the engine's and discovery's view of GitHub."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..core.model import OrgSelection, PublicKey, Repo, Scope
from . import errors, routes
from .client import GitHubClient
from .permissions import what_is_needed
from .sansio import Response

T = TypeVar("T")



@dataclass(frozen=True, slots=True)
class VariableInfo:
    """A variable as GitHub tells it: its value is not secret and is returned."""

    name: str
    value: str
    updated_at: str | None
    visibility: str | None = None
    created_at: str | None = None


VARIABLES_PER_PAGE = 30  # GitHub's most for variable listings (not 100, as for secrets)


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """What GitHub tells about a secret; never its value."""

    name: str
    created_at: str | None
    updated_at: str | None
    visibility: str | None = None


def parse_repo(item: dict[str, Any]) -> Repo:
    return Repo(
        name=item["name"],
        id=int(item["id"]),
        archived=bool(item.get("archived")),
        fork=bool(item.get("fork")),
        private=bool(item.get("private", True)),
        topics=tuple(item.get("topics") or ()),
    )


def parse_secret(item: dict[str, Any]) -> SecretInfo:
    return SecretInfo(item["name"], item.get("created_at"), item.get("updated_at"),
                      item.get("visibility"))


def parse_variable(item: dict[str, Any]) -> VariableInfo:
    return VariableInfo(item["name"], item.get("value") or "", item.get("updated_at"),
                        item.get("visibility"), item.get("created_at"))


def put_body(sealed: str, key_id: str, selection: OrgSelection | None) -> dict[str, Any]:
    body: dict[str, Any] = {"encrypted_value": sealed, "key_id": key_id}
    if selection is not None:
        body["visibility"] = selection.visibility
        if selection.visibility == "selected":
            body["selected_repository_ids"] = list(selection.repository_ids)
    return body


class SecretsAPI:
    def __init__(self, client: GitHubClient) -> None:
        self.client = client
        # Environment routes: None until known; True on an older Enterprise Server that serves
        # only /repositories/{repository_id}/environments/... (decided once per run).
        self.legacy_env: bool | None = None
        # Kinds of write the token was refused permission for: the rest of that kind are not
        # sent (a token that may not write repository secrets may write none of them).
        self._denied: dict[tuple[str, str], errors.PermissionDenied] = {}

    async def _write(self, scope: Scope, call: Callable[[bool], Awaitable[T]]) -> T:
        kind = (scope.kind, scope.store)
        refused = self._denied.get(kind)
        if refused is not None:
            raise errors.PermissionDenied(refused.status, f"{refused.message} (not sent: an "
                                          "earlier write of this kind was refused)")
        try:
            return await self._scoped(scope, call)
        except errors.PermissionDenied as exc:
            self._denied[kind] = explained = _explained(exc, scope, write=True)
            raise explained from None

    async def _scoped(self, scope: Scope, call: Callable[[bool], Awaitable[T]]) -> T:
        """`call(legacy)` for a scope, falling back to the older environment routes when the
        owner/repo form answers 404 and the older form works; the choice is kept for the run."""
        if scope.kind != "env" or self.legacy_env is not None or scope.repo_id is None:
            return await call(bool(self.legacy_env) and scope.kind == "env")
        try:
            result = await call(False)
        except errors.NotFound:
            try:
                result = await call(True)
            except errors.NotFound:
                raise  # the environment is missing, whichever the form
            self.legacy_env = True
            return result
        self.legacy_env = False
        return result

    async def org_repos(self, org: str) -> AsyncIterator[Repo]:
        try:
            async for item in self.client.paginate(routes.org_repos(org) + "?type=all"):
                yield parse_repo(item)
        except errors.NotFound as exc:
            raise errors.OrgNotFound(404, f"organization {org} not found or token lacks access",
                                     method=exc.method, path=exc.path) from exc

    async def user_orgs(self) -> list[str]:
        """The organisations the token's user belongs to (GET /user/orgs)."""
        return [item["login"] async for item in self.client.paginate(routes.user_orgs())]

    async def repo(self, org: str, name: str) -> Repo:
        return parse_repo((await self.client.request("GET", routes.repo(org, name))).data)

    async def environments(self, org: str, repo: str) -> list[str]:
        return [e["name"] async for e in
                self.client.paginate(routes.environments(org, repo), "environments")]

    async def create_environment(self, org: str, repo: str, env: str) -> None:
        await self.client.request("PUT", routes.environment(org, repo, env), json={})

    async def public_key(self, scope: Scope, previous: PublicKey | None = None) -> PublicKey:
        etag = previous.etag if previous else None
        try:
            response = await self._scoped(scope, lambda legacy: self.client.request(
                "GET", routes.public_key(scope, legacy_env=legacy), etag=etag))
        except errors.PermissionDenied as exc:
            raise _explained(exc, scope, write=False) from None
        if response.status == 304 and previous is not None:
            return previous
        return PublicKey(response.data["key_id"], response.data["key"], response.etag)

    async def secret(self, scope: Scope, name: str) -> SecretInfo | None:
        """One secret's metadata, or None where the scope has no secret of that name."""
        try:
            response = await self._scoped(scope, lambda legacy: self.client.request(
                "GET", routes.secret(scope, name, legacy_env=legacy)))
            return parse_secret(response.data)
        except errors.NotFound:
            return None

    async def secrets(self, scope: Scope) -> list[SecretInfo]:
        async def listing(legacy: bool) -> list[SecretInfo]:
            return [parse_secret(s) async for s in self.client.paginate(
                routes.secrets_root(scope, legacy_env=legacy), "secrets")]
        try:
            return await self._scoped(scope, listing)
        except errors.PermissionDenied as exc:
            raise _explained(exc, scope, write=False) from None

    async def variables(self, scope: Scope) -> list[VariableInfo]:
        async def listing(legacy: bool) -> list[VariableInfo]:
            return [parse_variable(v) async for v in self.client.paginate(
                routes.secrets_root(scope, legacy_env=legacy), "variables",
                per_page=VARIABLES_PER_PAGE)]
        try:
            return await self._scoped(scope, listing)
        except errors.PermissionDenied as exc:
            raise _explained(exc, scope, write=False) from None

    async def variable(self, scope: Scope, name: str) -> VariableInfo | None:
        """One variable, or None where the scope has none of that name."""
        try:
            response = await self._scoped(scope, lambda legacy: self.client.request(
                "GET", routes.secret(scope, name, legacy_env=legacy)))
            return parse_variable(response.data)
        except errors.NotFound:
            return None

    async def write_variable(self, scope: Scope, name: str, value: str, *, exists: bool,
                             selection: OrgSelection | None = None) -> Response:
        """Create (POST, 201) or update (PATCH, 204) a variable, as `exists` says."""
        body: dict[str, Any] = {"name": name, "value": value}
        if selection is not None:
            body["visibility"] = selection.visibility
            if selection.visibility == "selected":
                body["selected_repository_ids"] = list(selection.repository_ids)
        if exists:
            return await self._write(scope, lambda legacy: self.client.request(
                "PATCH", routes.secret(scope, name, legacy_env=legacy), json=body))
        return await self._write(scope, lambda legacy: self.client.request(
            "POST", routes.secrets_root(scope, legacy_env=legacy), json=body))

    async def put_secret(self, scope: Scope, name: str, sealed: str, key_id: str,
                         selection: OrgSelection | None = None) -> Response:
        """PUT a sealed value; the status says created (201) or updated (204)."""
        body = put_body(sealed, key_id, selection)
        return await self._write(scope, lambda legacy: self.client.request(
            "PUT", routes.secret(scope, name, legacy_env=legacy), json=body))

    async def delete_secret(self, scope: Scope, name: str) -> Response:
        return await self._write(scope, lambda legacy: self.client.request(
            "DELETE", routes.secret(scope, name, legacy_env=legacy)))

    async def selected_repository_ids(self, scope: Scope, name: str) -> list[int]:
        return [int(r["id"]) async for r in
                self.client.paginate(routes.selected_repositories(scope, name), "repositories")]


def _explained(exc: errors.PermissionDenied, scope: Scope, *, write: bool) -> errors.PermissionDenied:
    """GitHub's 403 with what the token lacks, in words."""
    return errors.PermissionDenied(
        exc.status, f"{exc.message}; {what_is_needed(scope.kind, scope.app, write, scope.target)}",
        method=exc.method, path=exc.path)
