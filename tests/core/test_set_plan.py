"""Which repositories `syncer set` writes to, and what it asks for: pure decisions."""

import pytest

from syncer.commands.one_name import parse_request, plan_writes
from syncer.core.model import Op, OrgSelection, Repo
from syncer.core.selection import select_repos
from syncer.exits import UsageError

REPOS = [Repo("api", 1), Repo("web", 2), Repo("Api-Legacy", 3, archived=True),
         Repo("api-fork", 4, fork=True), Repo("svc-a", 5)]


def test_archived_are_skipped_unless_asked() -> None:
    """Archived repositories are read-only on GitHub: skipped by default."""
    assert [r.name for r in select_repos(REPOS)] == ["api", "api-fork", "svc-a", "web"]
    assert "Api-Legacy" in [r.name for r in select_repos(REPOS, include_archived=True)]


def test_globs_are_case_insensitive_and_repeatable() -> None:
    """--repos patterns match like GitHub names: case-insensitively; several patterns add up."""
    picked = select_repos(REPOS, ["API*", "svc-?"], include_archived=True)
    assert [r.name for r in picked] == ["api", "api-fork", "Api-Legacy", "svc-a"]


def test_plan_repo_env_and_org_level() -> None:
    """One PUT per repository, per environment, or one org secret carrying its selection."""
    repos = select_repos(REPOS, ["api", "web"])
    base = dict(name="tok", org="acme", value_from="env:X")
    repo_actions = plan_writes(parse_request(**base), repos)
    assert [str(a.scope) for a in repo_actions] == ["acme/api", "acme/web"]
    assert all(a.op is Op.PUT and a.name == "TOK" for a in repo_actions)
    env_actions = plan_writes(parse_request(**base, env="prod"), repos)
    assert [str(a.scope) for a in env_actions] == ["acme/api:prod", "acme/web:prod"]
    org = plan_writes(parse_request(**base, org_level=True, visibility="selected",
                                    repos=("api", "web")), repos)
    assert len(org) == 1 and org[0].selection is not None
    assert org[0].selection.repository_ids == (1, 2)


def test_org_level_keeps_the_current_visibility_unless_one_is_asked_for() -> None:
    """A new value for an org secret keeps who can read it; a new org secret is private."""
    base = dict(name="tok", org="acme", value_from="env:X", org_level=True)
    current = OrgSelection("selected", (7, 9))
    kept = plan_writes(parse_request(**base), [], current)[0].selection
    assert kept == current
    assert plan_writes(parse_request(**base), [], None)[0].selection == OrgSelection("private")
    asked = plan_writes(parse_request(**base, visibility="all"), [], current)[0].selection
    assert asked == OrgSelection("all")
    with pytest.raises(UsageError, match="add --visibility selected"):
        parse_request(**base, repos=("web-*",))


@pytest.mark.parametrize("kwargs,why", [
    (dict(name="GITHUB_X", value_from="env:X"), "GITHUB_"),
    (dict(name="1ABC", value_from="env:X"), "digit"),
    (dict(name="A-B", value_from="env:X"), "letters"),
    (dict(name="OK", value_from=None), "--value-from is required"),
    (dict(name="OK", value_from="hunter2"),  # and not generate:N, which set refuses
     r"must be one of env:VAR, file:PATH, cmd:COMMAND or - \(standard input\)$"),
    (dict(name="OK", value_from="env:X", env="e", org_level=True), "cannot be combined"),
    (dict(name="OK", value_from="env:X", org_level=True, visibility="selected"), "needs --repos"),
])
def test_bad_requests_are_refused(kwargs: dict, why: str) -> None:
    """Each bad input has a specific message."""
    with pytest.raises(UsageError, match=why):
        parse_request(org="acme", **kwargs)


def test_values_nobody_keeps_and_stray_visibility_are_refused() -> None:
    """generate:N in set would write a value nobody holds; --visibility without --org-level
    would be silently ignored: both are refused."""
    with pytest.raises(UsageError, match="nobody keeps"):
        parse_request("OK", "acme", "generate:32")
    with pytest.raises(UsageError, match="add --org-level"):
        parse_request("OK", "acme", "env:X", visibility="selected")
