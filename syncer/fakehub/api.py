"""Endpoint handlers: (world, call) -> reply. No aiohttp here.

Each handler reads path parameters, query and JSON body from a ``Call``, applies GitHub's
rules to the ``World`` and returns a ``Reply`` (or raises ``ApiError``). The HTTP layer adds
authentication, limits, faults, ETags/304 and headers around them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, unquote

from . import rules, views
from .apps import NOT_ACCESSIBLE, App, Principal, check_token_request
from .limits import WRITE_METHODS, RateView
from .routes import GHES_PREFIX, IdPath, Route, split_prefix
from .rules import ApiError
from .views import Urls
from .world import Environment, Org, Repo, SecretScope, Shared, VariableScope, World, dumps


@dataclass(slots=True)
class Call:
    method: str
    path: str  # as requested (percent-encoded), without the query string, prefix included
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    urls: Urls
    rate: RateView | None = None
    principal: Principal | None = None  # who authenticated (set by the HTTP layer)
    rates: Mapping[str, RateView] | None = None  # every resource (GET /rate_limit); None: off
    id_links: bool = True  # Link headers in GitHub's ID form (/organizations/{id}/...)


@dataclass(slots=True)
class Reply:
    status: int
    body: Any = None  # JSON-able; None for 204
    headers: dict[str, str] = field(default_factory=dict)
    encoded: bytes | None = None  # the body already serialized (set by the HTTP layer)


NO_CONTENT: Final = 204
ARCHIVED: Final = "Repository was archived so is read-only."
NOT_ACCESSIBLE_BY_PAT: Final = "Resource not accessible by personal access token"
RATE_LIMITING_OFF: Final = "Rate limiting is not enabled."
GHES_RATE_DOCS: Final = (
    "https://docs.github.com/enterprise-server@3.17/rest/rate-limit/rate-limit"
    "#get-rate-limit-status-for-the-authenticated-user"
)


# --------------------------------------------------------------------------- helpers


def _paged(
    world: World,
    call: Call,
    items: Sequence[Any],
    default: int = rules.DEFAULT_PER_PAGE,
    maximum: int = rules.MAX_PER_PAGE,
) -> tuple[list[Any], dict[str, str], int]:
    page = rules.page_of(call.query, len(items), default=default, maximum=maximum)
    chosen = list(items[page.start : page.stop])
    path = id_form(world, call.path) if call.id_links else call.path
    link = rules.link_header(call.urls.web, path, call.query, page)
    headers = {"Link": link} if link else {}
    return chosen, headers, len(items)


def id_form(world: World, raw_path: str) -> str:
    """GitHub's pagination links name organisations and repositories by id ("Using
    pagination in the REST API"): ``/orgs/acme/repos`` pages link to
    ``/organizations/{org_id}/repos``, ``/repos/acme/api/...`` to ``/repositories/{id}/...``.
    Other paths (already in that form, ``/app/...``) are kept."""
    path, ghes = split_prefix(raw_path)
    prefix = GHES_PREFIX if ghes else ""
    parts = path.split("/")
    if len(parts) >= 3 and parts[1] == "orgs":
        org = world.org(unquote(parts[2]))
        return "/".join([prefix, "organizations", str(org.id), *parts[3:]])
    if len(parts) >= 4 and parts[1] == "repos":
        repo = world.repo(unquote(parts[2]), unquote(parts[3]))
        return "/".join([prefix, "repositories", str(repo.id), *parts[4:]])
    return raw_path


def named_form(world: World, id_path: IdPath) -> str | None:
    """The ``/orgs/{org}/...`` or ``/repos/{owner}/{repo}/...`` path an ID path stands for;
    None when the id names nothing (ids of ASCII digits only, as GitHub's routes take)."""
    number = rules.ascii_int(id_path.id)
    if number is None:
        return None
    if id_path.kind == "org":
        org = world.org_by_id(number)
        if org is None:
            return None
        return f"{id_path.prefix}/orgs/{quote(org.name, safe='')}{id_path.rest}"
    repo = world.repos_by_id.get(number)
    if repo is None:
        return None
    owner, name = quote(repo.org.name, safe=""), quote(repo.name, safe="")
    return f"{id_path.prefix}/repos/{owner}/{name}{id_path.rest}"


def _repo(world: World, call: Call) -> Repo:
    if "repository_id" in call.params and "owner" not in call.params:
        return world.repo_by_id(call.params["repository_id"])
    return world.repo(call.params["owner"], call.params["repo"])


def _writable(repo: Repo) -> Repo:
    """Stricter reading: an archived repository is read-only for secrets too (403)."""
    if repo.archived:
        raise ApiError(403, ARCHIVED)
    return repo


def _holder(world: World, call: Call, level: str, *, write: bool) -> Org | Repo | Environment:
    """The organisation, repository or environment whose secrets or variables are asked
    for (404 when absent; 403 for a write into an archived repository)."""
    if level == "org":
        return world.org(call.params["org"])
    repo = _repo(world, call)
    if write:
        _writable(repo)
    if level == "repo":
        return repo
    return repo.environment(call.params["environment_name"])


def _scope(world: World, call: Call, level: str, app: str, *, write: bool = False) -> SecretScope:
    holder = _holder(world, call, level, write=write)
    return holder.scope if isinstance(holder, Environment) else holder.scopes[app]


def _secret_list_body(world: World, call: Call, secrets: Sequence[Any], render: Any) -> Reply:
    chosen, headers, total = _paged(world, call, secrets)
    return Reply(200, {"total_count": total, "secrets": [render(s) for s in chosen]}, headers)


# --------------------------------------------------------------------------- secrets


def list_secrets(world: World, call: Call, level: str, app: str) -> Reply:
    scope = _scope(world, call, level, app)
    if level == "org":
        org = world.org(call.params["org"])
        return _secret_list_body(
            world, call, scope.listing(), lambda s: views.org_secret_json(s, org, app, call.urls)
        )
    return _secret_list_body(world, call, scope.listing(), lambda s: views.secret_json(s, call.urls))


def public_key(world: World, call: Call, level: str, app: str) -> Reply:
    return Reply(200, _scope(world, call, level, app).key.as_json())


def get_secret(world: World, call: Call, level: str, app: str) -> Reply:
    scope = _scope(world, call, level, app)
    secret = scope.require(call.params["secret_name"])
    if level == "org":
        org = world.org(call.params["org"])
        return Reply(200, views.org_secret_json(secret, org, app, call.urls))
    return Reply(200, views.secret_json(secret, call.urls))


def put_secret(world: World, call: Call, level: str, app: str) -> Reply:
    """201 ``{}`` when created, 204 when updated (OpenAPI)."""
    scope = _scope(world, call, level, app, write=True)
    org: Org | None = world.org(call.params["org"]) if level == "org" else None
    put = rules.parse_secret_put(
        call.body,
        org_level=level == "org",
        string_ids=app in rules.STRING_ID_APPS,
        value_required=app == "agents",
    )
    created = world.put_secret(scope, call.params["secret_name"], put, org)
    return Reply(201, {}) if created else Reply(NO_CONTENT)


def delete_secret(world: World, call: Call, level: str, app: str) -> Reply:
    scope = _scope(world, call, level, app, write=True)
    if not scope.delete(scope.require(call.params["secret_name"]).name):
        raise rules.not_found()
    return Reply(NO_CONTENT)


# --------------------------------------------------------------------------- variables


def _variable_scope(
    world: World, call: Call, level: str, app: str, *, write: bool = False
) -> VariableScope:
    holder = _holder(world, call, level, write=write)
    return holder.variables if isinstance(holder, Environment) else holder.variables[app]


def _variable_list_body(world: World, call: Call, variables: Sequence[Any], render: Any) -> Reply:
    """``total_count`` + ``variables``; 10 a page by default, at most 30 (the description)."""
    chosen, headers, total = _paged(
        world, call, variables, rules.VARIABLES_DEFAULT_PER_PAGE, rules.VARIABLES_MAX_PER_PAGE
    )
    return Reply(200, {"total_count": total, "variables": [render(v) for v in chosen]}, headers)


def list_variables(world: World, call: Call, level: str, app: str) -> Reply:
    scope = _variable_scope(world, call, level, app)
    if level == "org":
        org = world.org(call.params["org"])
        return _variable_list_body(
            world, call, scope.listing(), lambda v: views.org_variable_json(v, org, app, call.urls)
        )
    return _variable_list_body(world, call, scope.listing(), views.variable_json)


def get_variable(world: World, call: Call, level: str, app: str) -> Reply:
    variable = _variable_scope(world, call, level, app).require(call.params["name"])
    if level == "org":
        org = world.org(call.params["org"])
        return Reply(200, views.org_variable_json(variable, org, app, call.urls))
    return Reply(200, views.variable_json(variable))


def create_variable(world: World, call: Call, level: str, app: str) -> Reply:
    """201 ``{}`` (the Empty Object of the description); 409 when the name exists."""
    scope = _variable_scope(world, call, level, app, write=True)
    write = rules.parse_variable_write(call.body, org_level=level == "org", create=True)
    org = world.org(call.params["org"]) if level == "org" else None
    world.create_variable(scope, write, org)
    return Reply(201, {})


def update_variable(world: World, call: Call, level: str, app: str) -> Reply:
    scope = _variable_scope(world, call, level, app, write=True)
    scope.require(call.params["name"])  # 404 before the body is looked at
    write = rules.parse_variable_write(call.body, org_level=level == "org", create=False)
    org = world.org(call.params["org"]) if level == "org" else None
    world.update_variable(scope, call.params["name"], write, org)
    return Reply(NO_CONTENT)


def delete_variable(world: World, call: Call, level: str, app: str) -> Reply:
    scope = _variable_scope(world, call, level, app, write=True)
    if not scope.delete(scope.require(call.params["name"]).name):
        raise rules.not_found()
    return Reply(NO_CONTENT)


def repo_org_variables(world: World, call: Call, app: str) -> Reply:
    """``GET /repos/{owner}/{repo}/{app}/organization-variables``: the org variables the
    repository can use (visibility rules as for secrets)."""
    repo = _repo(world, call)
    return _variable_list_body(
        world, call, world.org_variables_visible_to(repo, app), views.variable_json
    )


# --------------------------------------------------------------------------- selected repositories

#: what names an org secret or variable in its path (``.../secrets/{secret_name}``,
#: ``.../variables/{name}``)
_NAME_PARAM: Final = {"secrets": "secret_name", "variables": "name"}


def _org_entry(world: World, call: Call, app: str, what: str) -> tuple[Org, Shared]:
    org = world.org(call.params["org"])
    name = call.params[_NAME_PARAM[what]]
    if what == "variables":
        return org, org.variables[app].require(name)
    return org, org.scopes[app].require(name)


def list_selected(world: World, call: Call, app: str, what: str) -> Reply:
    """409 unless the visibility is ``selected`` (stricter reading for GET of a secret; the
    variables' description documents it)."""
    _, entry = _org_entry(world, call, app, what)
    repos = world.selected_repos(entry)
    chosen, headers, total = _paged(world, call, repos)
    body = {
        "total_count": total,
        "repositories": [views.minimal_repo_json(r, call.urls) for r in chosen],
    }
    return Reply(200, body, headers)


def set_selected(world: World, call: Call, app: str, what: str) -> Reply:
    org, entry = _org_entry(world, call, app, what)
    ids = rules.parse_selected_repos_body(call.body)
    world.set_selection(org, entry, ids)
    return Reply(NO_CONTENT)


def add_selected(world: World, call: Call, app: str, what: str) -> Reply:
    org, entry = _org_entry(world, call, app, what)
    world.add_to_selection(org, entry, call.params["repository_id"])
    return Reply(NO_CONTENT)


def remove_selected(world: World, call: Call, app: str, what: str) -> Reply:
    _, entry = _org_entry(world, call, app, what)
    world.remove_from_selection(entry, call.params["repository_id"])
    return Reply(NO_CONTENT)


def repo_org_secrets(world: World, call: Call, app: str = "actions") -> Reply:
    repo = _repo(world, call)
    return _secret_list_body(world, call, world.org_secrets_visible_to(repo, app), _plain_secret)


def _plain_secret(secret: Any) -> dict[str, Any]:
    return {
        "name": secret.name,
        "created_at": rules.iso(secret.created_at),
        "updated_at": rules.iso(secret.updated_at),
    }


# --------------------------------------------------------------------------- discovery


def org_repos(world: World, call: Call) -> Reply:
    """Pages of 100 repositories are ~480 KB of JSON: each page is encoded once and served from
    `org.page_cache` until the org's repositories change."""
    org = world.org(call.params["org"])
    if org.page_cache_version != org.version:
        org.page_cache.clear()
        org.page_cache_version = org.version
    key = (call.urls, call.path, call.id_links, tuple(sorted(call.query.items())))
    cached = org.page_cache.get(key)
    if cached is None:
        chosen, headers, _ = _paged(world, call, org.listing(rules.repo_query(call.query)))
        body = [views.minimal_repo_json(r, call.urls) for r in chosen]
        cached = body, dumps(body), headers
        if len(org.page_cache) >= 128:  # ~60 MB at most
            org.page_cache.clear()
        org.page_cache[key] = cached
    body, encoded, headers = cached
    return Reply(200, body, dict(headers), encoded=encoded)


def get_repo(world: World, call: Call) -> Reply:
    return Reply(200, views.full_repo_json(_repo(world, call), call.urls))


def environments(world: World, call: Call) -> Reply:
    repo = _repo(world, call)
    envs = list(repo.envs.values())
    chosen, headers, total = _paged(world, call, envs)
    body = {
        "total_count": total,
        "environments": [views.environment_json(e, call.urls) for e in chosen],
    }
    return Reply(200, body, headers)


def rate_limit(world: World, call: Call) -> Reply:
    """``GET /rate_limit``; does not count against the primary budget (GitHub docs).

    With rate limiting off (Enterprise Server's default) it answers 404 "Rate limiting is not
    enabled." (GitHub Enterprise Server's answer).
    """
    if call.rates is None:
        raise ApiError(404, RATE_LIMITING_OFF, documentation_url=GHES_RATE_DOCS)
    core = call.rates["core"].as_json()
    search = {"limit": 30, "remaining": 30, "reset": core["reset"], "used": 0}
    resources = {"core": core, "search": search, "graphql": call.rates["graphql"].as_json()}
    return Reply(200, {"resources": resources, "rate": core})


# --------------------------------------------------------------------------- GitHub Apps (JWT)


def check_reach(world: World, call: Call) -> None:
    """An installation token acts within its installation's organisation only.

    Not documented in detail; fakehub answers another organisation's org-level endpoints 403
    ``Resource not accessible by integration`` and its repositories 404 (GitHub does not
    reveal private repositories an installation cannot see). Fixed tokens reach everything.
    """
    principal = call.principal
    if principal is None or principal.kind != "installation":
        return
    params = call.params
    if "org" in params:
        org = world.org(params["org"])  # an organisation that does not exist stays a 404
        if org.name.lower() != principal.org:
            raise ApiError(403, NOT_ACCESSIBLE)
        return
    if "owner" in params:
        owner = params["owner"].lower()
    elif "repository_id" in params:
        owner = world.repo_by_id(params["repository_id"]).org.name.lower()
    else:
        return  # not about an organisation (rate_limit, graphql)
    if owner != principal.org:
        raise rules.not_found()


def check_permission(world: World, call: Call, route: Route) -> None:
    """A token with less power, as GitHub answers it (403 ``Resource not accessible by
    personal access token``) once the organisation or repository is found (404 first):

    - a read-only token: every PUT/POST/PATCH/DELETE (a GraphQL query is a read);
    - a token without org admin: every ``/orgs/{org}/.../secrets`` and
      ``/orgs/{org}/.../variables`` endpoint, public keys and selected repositories
      included; repository and environment endpoints work.
    """
    principal = call.principal
    if principal is None or (not principal.read_only and principal.org_admin):
        return
    writes = call.method in WRITE_METHODS and route.template != "/graphql"
    org_admin_only = route.template.startswith("/orgs/{org}/") and any(
        part in route.template for part in ("/secrets", "/variables"))
    if not (principal.read_only and writes) and not (org_admin_only and not principal.org_admin):
        return
    if "org" in call.params:
        world.org(call.params["org"])
    elif "owner" in call.params or "repository_id" in call.params:
        _repo(world, call)
    raise ApiError(403, NOT_ACCESSIBLE_BY_PAT)


def _calling_app(world: World, call: Call) -> App:
    """The App whose JWT the HTTP layer verified (routes with ``app_jwt``)."""
    assert call.principal is not None and call.principal.app_id is not None
    return world.apps.apps[call.principal.app_id]


def user_orgs(world: World, call: Call) -> Reply:
    """``GET /user/orgs``: the organisations the token's user belongs to (a fixed token's
    user belongs to every one), paginated; an installation token has no user: 403, as
    GitHub answers it."""
    principal = call.principal
    if principal is not None and principal.kind == "installation":
        raise ApiError(403, NOT_ACCESSIBLE)
    orgs = sorted(world.orgs.values(), key=lambda org: org.id)
    chosen, headers, _ = _paged(world, call, orgs)
    return Reply(200, [views.org_summary_json(org, call.urls) for org in chosen], headers)


def org_installation(world: World, call: Call) -> Reply:
    """``GET /orgs/{org}/installation``: 404 when the calling App is not installed there."""
    app = _calling_app(world, call)
    installation = world.apps.of_org(world.org(call.params["org"]), app)
    if installation is None:
        raise rules.not_found()
    return Reply(200, views.installation_json(installation, call.urls))


def app_installations(world: World, call: Call) -> Reply:
    """``GET /app/installations``: the calling App's installations, paginated."""
    chosen, headers, _ = _paged(world, call, world.apps.of_app(_calling_app(world, call)))
    return Reply(200, [views.installation_json(i, call.urls) for i in chosen], headers)


def create_installation_token(world: World, call: Call) -> Reply:
    """``POST /app/installations/{installation_id}/access_tokens``: 201 with a new token."""
    installation = world.apps.installation(call.params["installation_id"],
                                           _calling_app(world, call))
    check_token_request(call.body)
    return Reply(201, views.installation_token_json(world.apps.issue(installation)))


# --------------------------------------------------------------------------- GraphQL (gh's one query)

_GQL_STRING = r'"((?:[^"\\]|\\.)*)"'
_GQL_REPOSITORY = re.compile(
    r"(?:(\w+)\s*:\s*)?repository\s*\(\s*owner\s*:\s*" + _GQL_STRING
    + r"\s*,\s*name\s*:\s*" + _GQL_STRING + r"\s*\)\s*\{\s*databaseId\s*\}"
)
_GQL_ENVELOPE = re.compile(r"^\s*(?:query\s*\w*\s*)?\{(?P<body>.*)\}\s*$", re.DOTALL)


def graphql(world: World, call: Call) -> Reply:
    """Just enough GraphQL for gh: ``repository(owner:, name:) { databaseId }`` selections
    (aliased or not), which ``gh secret set --org --repos`` uses to map names to ids.

    Anything else is answered with a GraphQL error rather than guessed at.
    """
    query = call.body.get("query") if isinstance(call.body, dict) else None
    envelope = _GQL_ENVELOPE.match(query) if isinstance(query, str) else None
    if envelope is None or _GQL_REPOSITORY.sub("", envelope["body"]).strip():
        message = "fakehub answers only repository(owner:, name:) { databaseId } queries"
        return Reply(200, {"errors": [{"message": message}]})
    data: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for found in _GQL_REPOSITORY.finditer(envelope["body"]):
        alias = found[1] or "repository"
        owner, name = json.loads(f'"{found[2]}"'), json.loads(f'"{found[3]}"')
        try:
            data[alias] = {"databaseId": world.repo(owner, name).id}
        except ApiError:
            data[alias] = None
            errors.append(
                {
                    "type": "NOT_FOUND",
                    "path": [alias],
                    "locations": [],
                    "message": f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                }
            )
    return Reply(200, {"data": data, **({"errors": errors} if errors else {})})


# --------------------------------------------------------------------------- the route table


def _secret_routes(prefix: str, level: str, app: str, **flags: bool) -> list[Route]:
    base = f"{prefix}/secrets"
    one = f"{base}/{{secret_name}}"
    args = (level, app)
    return [
        Route("GET", base, list_secrets, args, **flags),
        Route("GET", f"{base}/public-key", public_key, args, **flags),
        Route("GET", one, get_secret, args, **flags),
        Route("PUT", one, put_secret, args, **flags),
        Route("DELETE", one, delete_secret, args, **flags),
    ]


def _selected_routes(app: str, what: str, *, dotcom_only: bool) -> list[Route]:
    base = f"/orgs/{{org}}/{app}/{what}/{{{_NAME_PARAM[what]}}}/repositories"
    args = (app, what)
    return [
        Route("GET", base, list_selected, args, dotcom_only),
        Route("PUT", base, set_selected, args, dotcom_only),
        Route("PUT", f"{base}/{{repository_id}}", add_selected, args, dotcom_only),
        Route("DELETE", f"{base}/{{repository_id}}", remove_selected, args, dotcom_only),
    ]


def build_routes() -> list[Route]:
    """The secrets API: Actions, Dependabot, Codespaces and agents secrets, and discovery."""
    routes: list[Route] = []
    for app in rules.APPS:
        flags = {"dotcom_only": app in rules.DOTCOM_ONLY_APPS}
        routes += _secret_routes(f"/orgs/{{org}}/{app}", "org", app, **flags)
        routes += _selected_routes(app, "secrets", **flags)
        routes += _secret_routes(f"/repos/{{owner}}/{{repo}}/{app}", "repo", app, **flags)
    routes += _secret_routes(
        "/repos/{owner}/{repo}/environments/{environment_name}", "env", "actions",
        owner_repo_env=True,
    )
    routes += _secret_routes(
        "/repositories/{repository_id}/environments/{environment_name}", "env", "actions"
    )
    routes += [
        Route("GET", "/repos/{owner}/{repo}/actions/organization-secrets", repo_org_secrets),
        Route("GET", "/repos/{owner}/{repo}/agents/organization-secrets", repo_org_secrets,
              ("agents",), dotcom_only=True),
        Route("GET", "/orgs/{org}/repos", org_repos),
        Route("GET", "/repos/{owner}/{repo}", get_repo),
        Route("GET", "/repos/{owner}/{repo}/environments", environments),
        Route("GET", "/rate_limit", rate_limit),
        Route("GET", "/user/orgs", user_orgs),
        Route("POST", "/graphql", graphql),
    ]
    return routes


def _variable_routes(prefix: str, level: str, app: str, **flags: bool) -> list[Route]:
    base = f"{prefix}/variables"
    one = f"{base}/{{name}}"
    args = (level, app)
    return [
        Route("GET", base, list_variables, args, **flags),
        Route("POST", base, create_variable, args, **flags),
        Route("GET", one, get_variable, args, **flags),
        Route("PATCH", one, update_variable, args, **flags),
        Route("DELETE", one, delete_variable, args, **flags),
    ]


def build_variable_routes() -> list[Route]:
    """Actions variables (org, repository, environment) and agent variables (org,
    repository; github.com only, as agents secrets are).

    Environment variables are served under both forms, as environment secrets are: the
    current descriptions (github.com and Enterprise Server 3.19) name only
    ``/repos/{owner}/{repo}/environments/{environment_name}/variables``, while octokit and gh
    used ``/repositories/{repository_id}/environments/{environment_name}/variables`` before
    2024; ``legacy_env_routes_only`` answers 404 on the former for variables too.
    """
    routes: list[Route] = []
    for app in rules.VARIABLE_APPS:
        flags = {"dotcom_only": app in rules.DOTCOM_ONLY_APPS}
        routes += _variable_routes(f"/orgs/{{org}}/{app}", "org", app, **flags)
        routes += _selected_routes(app, "variables", **flags)
        routes += _variable_routes(f"/repos/{{owner}}/{{repo}}/{app}", "repo", app, **flags)
        routes.append(Route("GET", f"/repos/{{owner}}/{{repo}}/{app}/organization-variables",
                            repo_org_variables, (app,), **flags))
    routes += _variable_routes(
        "/repos/{owner}/{repo}/environments/{environment_name}", "env", "actions",
        owner_repo_env=True,
    )
    routes += _variable_routes(
        "/repositories/{repository_id}/environments/{environment_name}", "env", "actions"
    )
    return routes


def create_environment(world: World, call: Call) -> Reply:
    """``PUT /repos/{owner}/{repo}/environments/{environment_name}`` (GitHub's "Create or
    update an environment", outside the secrets subset of the OpenAPI description): creates the
    environment if it is missing and answers 200 with it either way."""
    repo = _writable(_repo(world, call))
    name = call.params["environment_name"]
    if not name or len(name) > 255:
        raise ApiError(422, "Validation Failed")
    return Reply(200, views.environment_json(world.add_environment(repo, name), call.urls))


def build_extra_routes() -> list[Route]:
    """Endpoints beyond the secrets subset of the description that syncer may use."""
    return [Route("PUT", "/repos/{owner}/{repo}/environments/{environment_name}",
                  create_environment)]


def build_app_routes() -> list[Route]:
    """The endpoints that take an App's JWT rather than a token (kept apart from
    ``build_routes``, the secrets API proper, so each list can be checked on its own)."""
    return [
        Route("GET", "/orgs/{org}/installation", org_installation, app_jwt=True),
        Route("GET", "/app/installations", app_installations, app_jwt=True),
        Route("POST", "/app/installations/{installation_id}/access_tokens",
              create_installation_token, app_jwt=True),
    ]
