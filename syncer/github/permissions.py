"""What a token needs for each kind of secret, in the words of GitHub's settings pages.

GitHub answers a request the token has no permission for with 403 "Resource not accessible by
personal access token" (or "... by integration" for a GitHub App), which does not say what is
missing; this says it.
"""

from __future__ import annotations

from ..core.model import App, ScopeKind, Target

# (scope kind, app) → (what it is, fine-grained permission, classic scope, App permission)
_NEEDS: dict[tuple[ScopeKind, App], tuple[str, str, str, str]] = {
    ("org", "actions"): ("organization secrets", 'organization permission "Secrets"',
                         "admin:org", "organization_secrets"),
    ("repo", "actions"): ("repository secrets", 'repository permission "Secrets"', "repo",
                          "secrets"),
    ("env", "actions"): ("environment secrets", 'repository permissions "Secrets" and '
                         '"Environments"', "repo", "secrets and environments"),
    ("org", "dependabot"): ("organization Dependabot secrets",
                            'organization permission "Dependabot secrets"', "admin:org",
                            "organization_dependabot_secrets"),
    ("repo", "dependabot"): ("repository Dependabot secrets",
                             'repository permission "Dependabot secrets"', "repo",
                             "dependabot_secrets"),
    ("org", "codespaces"): ("organization Codespaces secrets",
                            'organization permission "Codespaces secrets"', "admin:org",
                            "organization_codespaces_secrets"),
    ("repo", "codespaces"): ("repository Codespaces secrets",
                             'repository permission "Codespaces secrets"', "codespace",
                             "codespaces_secrets"),
    ("org", "agents"): ("organization agent secrets", 'organization permission "Agent secrets"',
                        "admin:org", "organization agent secrets"),
    ("repo", "agents"): ("repository agent secrets", 'repository permission "Agent secrets"',
                         "repo", "agent secrets"),
}
# (scope kind, app) → the same for variables
_VARIABLE_NEEDS: dict[tuple[ScopeKind, App], tuple[str, str, str, str]] = {
    ("org", "actions"): ("organization variables", 'organization permission "Variables"',
                         "admin:org", "organization_actions_variables"),
    ("repo", "actions"): ("repository variables", 'repository permission "Variables"', "repo",
                          "actions_variables"),
    ("env", "actions"): ("environment variables", 'repository permissions "Variables" and '
                         '"Environments"', "repo", "actions_variables and environments"),
    ("org", "agents"): ("organization agent variables",
                        'organization permission "Agent variables"', "admin:org",
                        "organization agent variables"),
    ("repo", "agents"): ("repository agent variables", 'repository permission "Agent variables"',
                         "repo", "agent variables"),
}


def what_is_needed(kind: ScopeKind, app: App, write: bool, target: Target = "secret") -> str:
    """'to write repository secrets: a fine-grained token needs repository permission
    "Secrets" (read and write), a classic token the repo scope, a GitHub App the secrets
    permission (read and write)'."""
    table = _NEEDS if target == "secret" else _VARIABLE_NEEDS
    what, fine_grained, classic, app_permission = table.get(
        (kind, app), (f"{kind} {app} {target}s", "the matching permission", "repo", f"{target}s"))
    access = "read and write" if write else "read"
    return (f"to {'write' if write else 'read'} {what}: a fine-grained token needs "
            f"{fine_grained} ({access}), a classic token the {classic} scope, a GitHub App "
            f"the {app_permission} permission ({access})")
