"""URL paths for each scope kind and secret type, relative to the API base URL."""

from __future__ import annotations

import re
from urllib.parse import quote

from ..core.model import Scope


def _q(part: str) -> str:
    return quote(part, safe="")


def secrets_root(scope: Scope, *, legacy_env: bool = False) -> str:
    """The `.../secrets` collection of a scope, or `.../variables` for its variables.

    `legacy_env` picks the older Enterprise Server form of environment routes,
    `/repositories/{repository_id}/environments/...`, which needs the repository id.
    """
    collection = "secrets" if scope.target == "secret" else "variables"
    if scope.kind == "org":
        return f"/orgs/{_q(scope.org)}/{scope.app}/{collection}"
    if scope.kind == "repo":
        return f"/repos/{_q(scope.org)}/{_q(scope.repo or '')}/{scope.app}/{collection}"
    env = _q(scope.env or "")
    if legacy_env:
        if scope.repo_id is None:
            raise ValueError(f"{scope}: the older environment routes need the repository id")
        return f"/repositories/{scope.repo_id}/environments/{env}/{collection}"
    return f"/repos/{_q(scope.org)}/{_q(scope.repo or '')}/environments/{env}/{collection}"


def public_key(scope: Scope, *, legacy_env: bool = False) -> str:
    return f"{secrets_root(scope, legacy_env=legacy_env)}/public-key"


def secret(scope: Scope, name: str, *, legacy_env: bool = False) -> str:
    return f"{secrets_root(scope, legacy_env=legacy_env)}/{_q(name)}"


def selected_repositories(scope: Scope, name: str) -> str:
    return f"{secret(scope, name)}/repositories"


def user_orgs() -> str:
    return "/user/orgs"


def org_repos(org: str) -> str:
    return f"/orgs/{_q(org)}/repos"


def repo(org: str, name: str) -> str:
    return f"/repos/{_q(org)}/{_q(name)}"


def environments(org: str, name: str) -> str:
    return f"/repos/{_q(org)}/{_q(name)}/environments"


def environment(org: str, name: str, env: str) -> str:
    return f"/repos/{_q(org)}/{_q(name)}/environments/{_q(env)}"


# path → template, for logs: the names in a path are the user's (an org, a repository, a
# secret's name), the template is GitHub's (as the OpenAPI description writes it)
_TEMPLATES = [
    (re.compile(r"^/orgs/[^/]+"), "/orgs/{org}"),
    (re.compile(r"^/organizations/\d+"), "/organizations/{org_id}"),
    (re.compile(r"^/repos/[^/]+/[^/]+"), "/repos/{owner}/{repo}"),
    (re.compile(r"^/repositories/\d+"), "/repositories/{repository_id}"),
    (re.compile(r"/environments/[^/]+"), "/environments/{environment_name}"),
    (re.compile(r"/secrets/(?!public-key(?:/|$))[^/]+"), "/secrets/{secret_name}"),
    (re.compile(r"/variables/[^/]+"), "/variables/{name}"),
    (re.compile(r"/repositories/\d+$"), "/repositories/{repository_id}"),
    (re.compile(r"/installations/\d+"), "/installations/{installation_id}"),
]


def template_of(path: str) -> str:
    """'/repos/acme/api/actions/secrets/NPM?x' → '/repos/{owner}/{repo}/actions/secrets/{secret_name}'."""
    template = path.split("?", 1)[0]
    for pattern, replacement in _TEMPLATES:
        template = pattern.sub(replacement, template, count=1)
    return template
