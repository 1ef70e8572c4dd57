"""URL routing: OpenAPI path templates matched segment by segment through a trie.

Matching costs one dict lookup per path segment whatever the number of routes, and yields
the template itself, which is what ``FakeHub.calls`` counts by. Literal segments win over
parameters (``.../secrets/public-key`` is the key, not a secret called ``public-key``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote

GHES_PREFIX: Final = "/api/v3"
GHES_GRAPHQL: Final = "/api/graphql"  # Enterprise Server's GraphQL lives beside /api/v3


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    handler: Callable[..., Any]
    args: tuple[Any, ...] = ()
    dotcom_only: bool = False  # not on Enterprise Server (codespaces)
    owner_repo_env: bool = False  # answers 404 with legacy_env_routes_only
    app_jwt: bool = False  # authenticated with an App's JWT, not a token


@dataclass(slots=True)
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    param: tuple[str, _Node] | None = None
    routes: dict[str, Route] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Match:
    route: Route
    params: dict[str, str]
    ghes: bool  # requested under /api/v3


def split_prefix(raw_path: str) -> tuple[str, bool]:
    """Strip the Enterprise Server prefix; returns (path, was_prefixed)."""
    if raw_path == GHES_GRAPHQL:
        return "/graphql", True
    if raw_path == GHES_PREFIX or raw_path.startswith(GHES_PREFIX + "/"):
        return raw_path[len(GHES_PREFIX) :] or "/", True
    return raw_path, False


ID_ROOTS: Final = {"organizations": "org", "repositories": "repo"}


@dataclass(frozen=True, slots=True)
class IdPath:
    """``/organizations/{id}/rest`` or ``/repositories/{id}/rest`` (GitHub's pagination
    links), split: ``kind`` is ``org`` or ``repo``, ``rest`` starts with ``/`` or is empty."""

    prefix: str
    kind: str
    id: str
    rest: str


def split_id_path(raw_path: str) -> IdPath | None:
    path, ghes = split_prefix(raw_path)
    parts = path.split("/", 3)
    if len(parts) < 3 or parts[0] != "" or parts[1] not in ID_ROOTS or not parts[2]:
        return None
    rest = "/" + parts[3] if len(parts) == 4 else ""
    return IdPath(GHES_PREFIX if ghes else "", ID_ROOTS[parts[1]], unquote(parts[2]), rest)


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._root = _Node()
        for route in routes:
            self._add(route)

    def _add(self, route: Route) -> None:
        node = self._root
        for segment in route.template.strip("/").split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                name = segment[1:-1]
                if node.param is None:
                    node.param = (name, _Node())
                elif node.param[0] != name:
                    raise ValueError(f"conflicting parameter names at {route.template}")
                node = node.param[1]
            else:
                node = node.literal.setdefault(segment, _Node())
        if route.method in node.routes:
            raise ValueError(f"duplicate route {route.method} {route.template}")
        node.routes[route.method] = route

    def match(self, method: str, raw_path: str) -> Match | None:
        """The route for ``method`` and the (still percent-encoded) request path, or None.

        HEAD is answered by the GET route. The Enterprise Server prefix is accepted.
        """
        path, ghes = split_prefix(raw_path)
        params: dict[str, str] = {}
        node = self._root
        if path.endswith("/") and path != "/":
            return None
        for raw in path.strip("/").split("/"):
            child = node.literal.get(raw)
            if child is None:
                if node.param is None or raw == "":
                    return None
                name, child = node.param
                params[name] = unquote(raw)
            node = child
        route = node.routes.get("GET" if method == "HEAD" else method)
        if route is None:
            return None
        return Match(route, params, ghes)
