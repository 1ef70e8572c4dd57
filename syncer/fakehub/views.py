"""JSON representations of world objects, shaped after the OpenAPI response schemas.

``Urls`` carries where the request came in (scheme, host, ``/api/v3`` prefix or not), so
every URL in a body points back at this fakehub, as GitHub's point back at GitHub.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .apps import PERMISSIONS, Installation, InstallationToken
from .rules import iso
from .world import Environment, Org, Repo, Secret, Variable


@dataclass(frozen=True, slots=True)
class Urls:
    """``api`` is e.g. ``http://127.0.0.1:8080/api/v3`` (no trailing slash); ``web`` the host."""

    api: str
    web: str


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode().rstrip("=")


def secret_json(secret: Secret, urls: Urls, selected_url: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": secret.name,
        "created_at": iso(secret.created_at),
        "updated_at": iso(secret.updated_at),
    }
    if secret.visibility is not None:
        out["visibility"] = secret.visibility
        if secret.visibility == "selected" and selected_url is not None:
            out["selected_repositories_url"] = selected_url
    return out


def org_secret_json(secret: Secret, org: Org, app: str, urls: Urls) -> dict[str, Any]:
    selected_url = (
        f"{urls.api}/orgs/{quote(org.name)}/{app}/secrets/{quote(secret.name)}/repositories"
    )
    return secret_json(secret, urls, selected_url)


def org_summary_json(org: Org, urls: Urls) -> dict[str, Any]:
    """An organization-simple, as ``GET /user/orgs`` lists them."""
    api_org = f"{urls.api}/orgs/{quote(org.name)}"
    return {
        "login": org.name,
        "id": org.id,
        "node_id": node_id("Organization", org.id),
        "url": api_org,
        "repos_url": f"{api_org}/repos",
        "events_url": f"{api_org}/events",
        "hooks_url": f"{api_org}/hooks",
        "issues_url": f"{api_org}/issues",
        "members_url": f"{api_org}/members{{/member}}",
        "public_members_url": f"{api_org}/public_members{{/member}}",
        "avatar_url": f"{urls.web}/avatars/u/{org.id}",
        "description": None,
    }


def variable_json(variable: Variable) -> dict[str, Any]:
    """The ``Actions Variable`` schema (repository and environment level, and a
    repository's view of org variables)."""
    return {
        "name": variable.name,
        "value": variable.value,
        "created_at": iso(variable.created_at),
        "updated_at": iso(variable.updated_at),
    }


def org_variable_json(variable: Variable, org: Org, app: str, urls: Urls) -> dict[str, Any]:
    """The ``Actions Variable for an Organization`` schema; ``selected_repositories_url``
    only with visibility ``selected``, as for org secrets."""
    out = variable_json(variable)
    out["visibility"] = variable.visibility
    if variable.visibility == "selected":
        out["selected_repositories_url"] = (
            f"{urls.api}/orgs/{quote(org.name)}/{app}/variables/{quote(variable.name)}"
            "/repositories"
        )
    return out


def owner_json(org: Org, urls: Urls) -> dict[str, Any]:
    api_user = f"{urls.api}/users/{quote(org.name)}"
    return {
        "login": org.name,
        "id": org.id,
        "node_id": node_id("Organization", org.id),
        "avatar_url": f"{urls.web}/avatars/u/{org.id}",
        "gravatar_id": "",
        "url": api_user,
        "html_url": f"{urls.web}/{quote(org.name)}",
        "followers_url": f"{api_user}/followers",
        "following_url": f"{api_user}/following{{/other_user}}",
        "gists_url": f"{api_user}/gists{{/gist_id}}",
        "starred_url": f"{api_user}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api_user}/subscriptions",
        "organizations_url": f"{api_user}/orgs",
        "repos_url": f"{api_user}/repos",
        "events_url": f"{api_user}/events{{/privacy}}",
        "received_events_url": f"{api_user}/received_events",
        "type": "Organization",
        "user_view_type": "public",
        "site_admin": False,
    }


def _repo_urls(repo: Repo, urls: Urls) -> dict[str, str]:
    base = f"{urls.api}/repos/{quote(repo.org.name)}/{quote(repo.name)}"
    return {
        "url": base,
        "archive_url": base + "/{archive_format}{/ref}",
        "assignees_url": base + "/assignees{/user}",
        "blobs_url": base + "/git/blobs{/sha}",
        "branches_url": base + "/branches{/branch}",
        "collaborators_url": base + "/collaborators{/collaborator}",
        "comments_url": base + "/comments{/number}",
        "commits_url": base + "/commits{/sha}",
        "compare_url": base + "/compare/{base}...{head}",
        "contents_url": base + "/contents/{+path}",
        "contributors_url": base + "/contributors",
        "deployments_url": base + "/deployments",
        "downloads_url": base + "/downloads",
        "events_url": base + "/events",
        "forks_url": base + "/forks",
        "git_commits_url": base + "/git/commits{/sha}",
        "git_refs_url": base + "/git/refs{/sha}",
        "git_tags_url": base + "/git/tags{/sha}",
        "hooks_url": base + "/hooks",
        "issue_comment_url": base + "/issues/comments{/number}",
        "issue_events_url": base + "/issues/events{/number}",
        "issues_url": base + "/issues{/number}",
        "keys_url": base + "/keys{/key_id}",
        "labels_url": base + "/labels{/name}",
        "languages_url": base + "/languages",
        "merges_url": base + "/merges",
        "milestones_url": base + "/milestones{/number}",
        "notifications_url": base + "/notifications{?since,all,participating}",
        "pulls_url": base + "/pulls{/number}",
        "releases_url": base + "/releases{/id}",
        "stargazers_url": base + "/stargazers",
        "statuses_url": base + "/statuses/{sha}",
        "subscribers_url": base + "/subscribers",
        "subscription_url": base + "/subscription",
        "tags_url": base + "/tags",
        "teams_url": base + "/teams",
        "trees_url": base + "/git/trees{/sha}",
    }


def minimal_repo_json(repo: Repo, urls: Urls) -> dict[str, Any]:
    """The ``Minimal Repository`` schema (listings)."""
    html = f"{urls.web}/{quote(repo.org.name)}/{quote(repo.name)}"
    host = urls.web.split("://", 1)[-1]
    created = iso(repo.created_at)
    out: dict[str, Any] = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": owner_json(repo.org, urls),
        "html_url": html,
        "description": None,
        "fork": repo.fork,
    }
    out.update(_repo_urls(repo, urls))
    out.update(
        {
            "git_url": f"git://{host}/{repo.full_name}.git",
            "ssh_url": f"git@{host}:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "size": 0,
            "default_branch": "main",
            "open_issues_count": 0,
            "is_template": False,
            "topics": list(repo.topics),
            "has_issues": True,
            "has_projects": True,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": repo.archived,
            "disabled": False,
            "visibility": "private" if repo.private else "public",
            "pushed_at": created,
            "created_at": created,
            "updated_at": created,
            "permissions": {
                "admin": True,
                "maintain": True,
                "push": True,
                "triage": True,
                "pull": True,
            },
            "allow_forking": False,
            "web_commit_signoff_required": False,
            "license": None,
            "forks": 0,
            "open_issues": 0,
            "watchers": 0,
        }
    )
    return out


def full_repo_json(repo: Repo, urls: Urls) -> dict[str, Any]:
    """The ``Full Repository`` schema (``GET /repos/{owner}/{repo}``)."""
    out = minimal_repo_json(repo, urls)
    out.update(
        {
            "network_count": 0,
            "subscribers_count": 0,
            "organization": owner_json(repo.org, urls),
            "delete_branch_on_merge": False,
            "security_and_analysis": None,
        }
    )
    return out


def environment_json(env: Environment, urls: Urls) -> dict[str, Any]:
    repo = env.repo
    stamp = iso(env.created_at)
    return {
        "id": env.id,
        "node_id": node_id("Environment", env.id),
        "name": env.name,
        "url": f"{urls.api}/repos/{quote(repo.org.name)}/{quote(repo.name)}/environments/"
        f"{quote(env.name, safe='')}",
        "html_url": f"{urls.web}/{quote(repo.org.name)}/{quote(repo.name)}/deployments/"
        f"activity_log?environments_filter={quote(env.name, safe='')}",
        "created_at": stamp,
        "updated_at": stamp,
        "protection_rules": [],
        "deployment_branch_policy": None,
    }


def installation_json(installation: Installation, urls: Urls) -> dict[str, Any]:
    """The ``Installation`` schema (``GET /orgs/{org}/installation``, ``GET /app/installations``)."""
    org, app = installation.org, installation.app
    stamp = iso(installation.created_at)
    # The description types ``account`` as anyOf [Simple User, Enterprise] here but as allOf
    # the two for ``GET /app/installations``; GitHub answers the organisation as a Simple
    # User. Enterprise's required name, slug and timestamps are added so both readings hold.
    account = owner_json(org, urls)
    account.update(name=org.name, slug=org.name.lower(), created_at=stamp, updated_at=stamp)
    return {
        "id": installation.id,
        "client_id": app.client_id,
        "account": account,
        "repository_selection": "all",
        "access_tokens_url": f"{urls.api}/app/installations/{installation.id}/access_tokens",
        "repositories_url": f"{urls.api}/installation/repositories",
        "html_url": f"{urls.web}/organizations/{quote(org.name)}/settings/installations/"
        f"{installation.id}",
        "app_id": app.id,
        "app_slug": app.slug,
        "target_id": org.id,
        "target_type": "Organization",
        "permissions": dict(PERMISSIONS),
        "events": [],
        "created_at": stamp,
        "updated_at": stamp,
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }


def installation_token_json(token: InstallationToken) -> dict[str, Any]:
    """The 201 answer of ``POST /app/installations/{installation_id}/access_tokens``."""
    return {
        "token": token.value,
        "expires_at": token.expires_at_iso,
        "permissions": dict(PERMISSIONS),
        "repository_selection": "all",
    }
